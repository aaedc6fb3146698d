#include <filesystem>
#include <iostream>
#include <string>

#include "cli_output.h"
#include "commands.h"
#include "keyturn/crypto_util.h"
#include "keyturn/ed25519.h"
#include "keyturn/json.h"
#include "keyturn/token.h"

namespace keyturn::cli {
namespace {

constexpr const char* kNewHelp =
    "usage: keyturn key new --id ID [--out FILE] [-o json]\n"
    "  Makes an Ed25519 key. The private key goes to FILE (default ID.key), PKCS#8 PEM,\n"
    "  mode 0600, never overwritten; the public key to ID.pub.json beside it\n"
    "  ({\"id\",\"kid\",\"x\"}), which is what a roster lists.\n";
constexpr const char* kShowHelp = "usage: keyturn key show --key FILE [-o json]\n";

int keyNew(int argc, char** argv) {
  auto p = parseCommand(argc, argv, {{"id", "out"}, {}, {}}, kNewHelp);
  if (!p) return p.reason() == "help" ? 0 : 2;
  auto id = p->args.require("id");
  if (!id) return p->out.fail(id.error());
  if (!validPrincipalId(id.value()))
    return p->out.fail(
        Error{"usage", "--id must match [A-Za-z0-9._@-]{1,64}, got \"" + id.value() + "\""});
  std::filesystem::path keyPath = p->args.get("out").value_or(id.value() + ".key");
  std::filesystem::path pubPath = keyPath.parent_path() / (id.value() + ".pub.json");
  if (std::filesystem::exists(pubPath))
    return p->out.fail(
        Error{"exists", pubPath.string() + " already exists; refusing to replace it"});
  auto key = Ed25519PrivateKey::generate();
  if (Status s = key.save(keyPath.string()); !s) return p->out.fail(s.error());
  const auto& pub = key.publicKey();
  std::string pubJson = "{\"id\":" + json::quote(id.value()) +
                        ",\"kid\":" + json::quote(pub.kid()) + ",\"x\":" + json::quote(pub.x()) +
                        "}\n";
  if (std::string err = writeFileAtomic(pubPath.string(), pubJson, 0644); !err.empty())
    return p->out.fail(Error{"io", err});
  return p->out.done("private key " + keyPath.string() + " (0600)\npublic key  " +
                         pubPath.string() + "\nkid " + pub.kid() + "\njwk " + pub.jwk(),
                     "{\"id\":" + json::quote(id.value()) + ",\"kid\":" + json::quote(pub.kid()) +
                         ",\"jwk\":" + pub.jwk() +
                         ",\"private_key\":" + json::quote(keyPath.string()) +
                         ",\"public_key\":" + json::quote(pubPath.string()) + "}");
}

int keyShow(int argc, char** argv) {
  auto p = parseCommand(argc, argv, {{"key"}, {}, {}}, kShowHelp);
  if (!p) return p.reason() == "help" ? 0 : 2;
  auto path = p->args.require("key");
  if (!path) return p->out.fail(path.error());
  auto key = Ed25519PrivateKey::load(path.value());
  if (!key) return p->out.fail(key.error());
  const auto& pub = key->publicKey();
  return p->out.done("kid " + pub.kid() + "\njwk " + pub.jwk(),
                     "{\"kid\":" + json::quote(pub.kid()) + ",\"jwk\":" + pub.jwk() + "}");
}

}  // namespace

int keyCommand(int argc, char** argv) {
  std::string sub = argc > 2 ? argv[2] : "";
  if (sub == "new") return keyNew(argc, argv);
  if (sub == "show") return keyShow(argc, argv);
  std::cerr << "keyturn: key needs new or show\n" << kNewHelp << kShowHelp;
  return 2;
}

}  // namespace keyturn::cli
