#include <algorithm>
#include <filesystem>
#include <iostream>

#include "cli_output.h"
#include "commands.h"
#include "keyturn/crypto_util.h"
#include "keyturn/json.h"
#include "keyturn/merkle.h"
#include "request_file.h"

namespace keyturn::cli {
namespace {

constexpr const char* kHelp =
    "usage: keyturn issue --request FILE --key ISSUER.key (--device ID | --all)\n"
    "                     [--nbf T] [--valid-for SECONDS (default 86400, at most 30 days)]\n"
    "                     (--out FILE | --out-dir DIR) [-o json]\n"
    "  Adds the issuer signature for one device (its index and Merkle audit path) and writes\n"
    "  the token, exactly the JWS of PROTOCOL.md; --out-dir writes DIR/<device>.token.json.\n"
    "  Exit 1 (not_a_target) for a device the request does not list.\n";

}  // namespace

int issueCommand(int argc, char** argv) {
  auto p = parseCommand(
      argc, argv, {{"request", "key", "device", "nbf", "valid-for", "out", "out-dir"}, {}, {"all"}},
      kHelp, 2);
  if (!p) return p.reason() == "help" ? 0 : 2;
  auto path = p->args.require("request");
  if (!path) return p->out.fail(path.error());
  auto keyPath = p->args.require("key");
  if (!keyPath) return p->out.fail(keyPath.error());
  auto nbf = p->args.integer("nbf");
  auto validFor = p->args.integer("valid-for");
  for (const auto* r : {&nbf, &validFor})
    if (!*r) return p->out.fail(r->error());
  bool all = p->args.flag("all");
  auto device = p->args.get("device");
  if (all == device.has_value())
    return p->out.fail(Error{"usage", "give exactly one of --device and --all"});
  bool toDir = p->args.get("out-dir").has_value();
  if (toDir == p->args.get("out").has_value())
    return p->out.fail(Error{"usage", "give exactly one of --out and --out-dir"});
  if (all && !toDir)
    return p->out.fail(Error{"usage", "--all writes one token per device: give --out-dir"});
  std::uint64_t window = validFor.value().value_or(86400);
  if (window == 0 || window > kMaxIssueWindow)
    return p->out.fail(Error{"usage", "--valid-for must be 1 to 2592000 seconds (30 days)"});

  auto file = readRequestFile(path.value());
  if (!file) return p->out.fail(file.error());
  if (Status s = checkTargets(file.value()); !s) return p->out.fail(s.error());
  auto key = Ed25519PrivateKey::load(keyPath.value());
  if (!key) return p->out.fail(key.error());  // insecure_permissions is a refusal (exit 1)
  for (const auto& s : file->token.signatures)
    if (s.role == SignerRole::kIssuer)
      return p->out.fail(
          Error{"already_issued", "the request file already carries an issuer signature"});

  const auto& targets = file->targets;  // sorted when written
  MerkleTree tree(targets);
  std::uint64_t from = nbf.value().value_or(nowSeconds());
  std::vector<std::size_t> indexes;
  if (all) {
    for (std::size_t i = 0; i < targets.size(); ++i) indexes.push_back(i);
  } else {
    auto it = std::lower_bound(targets.begin(), targets.end(), *device);
    if (it == targets.end() || *it != *device)
      return p->out.fail(
          Error{"not_a_target", "device \"" + *device + "\" is not among the request's targets"});
    indexes.push_back(static_cast<std::size_t>(it - targets.begin()));
  }
  std::string dir = p->args.get("out-dir").value_or("");
  // A device id becomes a file name: nothing that could leave the folder.
  for (std::size_t index : indexes) {
    const std::string& dev = targets[index];
    if (toDir && (dev.find_first_not_of(
                      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._@-") !=
                      std::string::npos ||
                  dev[0] == '.'))
      return p->out.fail(Error{
          "usage",
          "device id \"" + dev + "\" cannot be a file name; issue it with --device and --out"});
  }
  if (toDir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return p->out.fail(Error{"io", "cannot create " + dir + ": " + ec.message()});
  }
  std::string written;
  for (std::size_t index : indexes) {
    const std::string& dev = targets[index];
    JwsEnvelope env = file->token.envelope;
    appendSignature(env, key.value(),
                    issuerHeader(key->publicKey().kid(), from, dev, index, tree.auditPath(index),
                                 from, from + window));
    std::string out =
        toDir ? (std::filesystem::path(dir) / (dev + ".token.json")).string() : *p->args.get("out");
    if (std::string err = writeFileAtomic(out, env.serialize(), 0644); !err.empty())
      return p->out.fail(Error{"io", err});
    written += (written.empty() ? "" : ",") + json::quote(out);
  }
  return p->out.done(
      "issued " + std::to_string(indexes.size()) + " token(s) for request " +
          file->token.payload.id + ", valid " + isoTime(from) + " to " + isoTime(from + window),
      "{\"request\":" + json::quote(file->token.payload.id) + ",\"tokens\":[" + written +
          "],\"nbf\":" + std::to_string(from) + ",\"exp\":" + std::to_string(from + window) + "}");
}

}  // namespace keyturn::cli
