#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <set>
#include <sstream>

#include "cli_output.h"
#include "online/online_commands.h"
#include "commands.h"
#include "keyturn/bundle.h"
#include "keyturn/bundle_verifier.h"
#include "keyturn/crypto_util.h"
#include "keyturn/json.h"

namespace keyturn::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kNewHelp =
    "usage: keyturn bundle new --roster ROSTER.json [--policies DIR] --version N\n"
    "                          [--expires-days D (default 90) | --expires T] [--issued T] --out "
    "FILE [-o json]\n"
    "  ROSTER.json: {\"tenant\":..., \"issuers\":[KEY...], "
    "\"principals\":[{\"id\",\"groups\":[...],\n"
    "  \"keys\":[KEY...]}], \"update\":{\"group\",\"threshold\"}, "
    "\"roles\":{PERMISSION:[GROUP...]}}\n"
    "  where KEY is a .pub.json file (relative to the roster) or a raw base64url x.\n"
    "  Every *.lua in DIR except *_test.lua becomes a policy, in name order.\n"
    "  Writes the bundle unsigned; admins then add signatures with bundle sign.\n";
constexpr const char* kSignHelp =
    "usage: keyturn bundle sign --bundle FILE --key KEY [--at T] [--out FILE] [-o json]\n";
constexpr const char* kShowHelp =
    "usage: keyturn bundle show --bundle FILE [--current FILE] [--now T] [-o json]\n"
    "  Shows the bundle with every signature checked and says whether an agent would accept\n"
    "  it: as a first bundle (trust init), or as the update of --current. Exit 1 if not.\n"
    "  The threshold lines count distinct principals of the update group with valid signatures.\n";

constexpr std::uint64_t kDefaultDays = 90;

// Distinct principals of `group` in `keys` whose signature on `b` verifies: what the
// threshold counts. Display only; the verdict comes from acceptInitialBundle/Update.
std::size_t validSignersIn(const TrustBundle& b, const TrustBundle& keys,
                           const std::string& group) {
  std::set<std::string> ids;
  for (const auto& s : b.signatures) {
    const BundlePrincipal* who = keys.principalByKid(s.kid);
    const Ed25519PublicKey* key = keys.principalKey(s.kid);
    const auto& js = b.envelope.signatures[s.entry];
    if (who && key && who->inGroup(group) &&
        key->verify(b.envelope.signingInput(js), js.signature.data(), js.signature.size()))
      ids.insert(who->id);
  }
  return ids.size();
}

// One threshold line: "own" (the bundle's rule) or "current" (the rule of --current).
void thresholdStatus(std::ostream& t, std::ostream& j, const char* which, const TrustBundle& b,
                     const TrustBundle& keys) {
  std::size_t have = validSignersIn(b, keys, keys.updateGroup);
  bool met = have >= keys.threshold;
  t << "threshold (" << which << " rule): " << have << " of " << keys.threshold << " from "
    << keys.updateGroup << (met ? " - met" : " - NOT met") << "\n";
  j << "{\"rule\":\"" << which << "\",\"group\":" << json::quote(keys.updateGroup)
    << ",\"signed\":" << have << ",\"threshold\":" << keys.threshold
    << ",\"met\":" << (met ? "true" : "false") << "}";
}

Result<std::string> readText(const std::string& path, std::size_t max) {
  auto text = readFile(path, max);
  if (!text)
    return Result<std::string>::fail("io", "cannot read " + path + ": " + std::strerror(errno));
  return *text;
}

// A roster key: a .pub.json file ({"x":...}) relative to the roster, or a raw x.
Result<std::string> rosterKey(const std::string& ref, const fs::path& base) {
  fs::path file = base / ref;
  if (ref.size() > 5 && ref.substr(ref.size() - 5) == ".json") {
    auto text = readText(file.string(), 64 * 1024);
    if (!text) return text.error();
    auto o = json::parseObject(text.value());
    if (!o) return Result<std::string>::fail("usage", file.string() + ": " + o.detail());
    auto x = json::getString(*o.value(), "x", file.string());
    if (!x) return Result<std::string>::fail("usage", x.detail());
    return x.value();
  }
  return ref;
}

Result<std::vector<std::string>> stringList(const json::Object& o, const std::string& key,
                                            const std::string& where) {
  auto arr = json::getArray(o, key, where);
  if (!arr) return Result<std::vector<std::string>>::fail("usage", arr.detail());
  std::vector<std::string> out;
  for (std::size_t i = 0; i < arr.value()->size(); ++i) {
    auto s = json::asString(arr.value()->get(static_cast<unsigned>(i)), where + "." + key);
    if (!s) return Result<std::vector<std::string>>::fail("usage", s.detail());
    out.push_back(s.value());
  }
  return out;
}

Result<BundleDraft> readRoster(const std::string& path) {
  using R = Result<BundleDraft>;
  auto text = readText(path, kMaxBundleBytes);
  if (!text) return text.error();
  auto root = json::parseObject(text.value());
  if (!root) return R::fail("usage", path + ": " + root.detail());
  const auto& o = *root.value();
  fs::path base = fs::path(path).parent_path();
  BundleDraft d;
  auto tenant = json::getString(o, "tenant", "roster");
  if (!tenant) return R::fail("usage", tenant.detail());
  d.tenant = tenant.value();
  auto issuers = stringList(o, "issuers", "roster");
  if (!issuers) return issuers.error();
  for (const auto& ref : issuers.value()) {
    auto x = rosterKey(ref, base);
    if (!x) return x.error();
    d.issuersX.push_back(x.value());
  }
  auto principals = json::getArray(o, "principals", "roster");
  if (!principals) return R::fail("usage", principals.detail());
  for (std::size_t i = 0; i < principals.value()->size(); ++i) {
    std::string where = "roster.principals[" + std::to_string(i) + "]";
    auto po = json::asObject(principals.value()->get(static_cast<unsigned>(i)), where);
    if (!po) return R::fail("usage", po.detail());
    BundleDraft::Principal p;
    auto id = json::getString(*po.value(), "id", where);
    if (!id) return R::fail("usage", id.detail());
    p.id = id.value();
    auto groups = stringList(*po.value(), "groups", where);
    if (!groups) return groups.error();
    p.groups = groups.value();
    auto keys = stringList(*po.value(), "keys", where);
    if (!keys) return keys.error();
    for (const auto& ref : keys.value()) {
      auto x = rosterKey(ref, base);
      if (!x) return x.error();
      p.keysX.push_back(x.value());
    }
    d.principals.push_back(std::move(p));
  }
  auto update = json::getObject(o, "update", "roster");
  if (!update) return R::fail("usage", update.detail());
  auto group = json::getString(*update.value(), "group", "roster.update");
  if (!group) return R::fail("usage", group.detail());
  auto threshold = json::getInteger(*update.value(), "threshold", "roster.update");
  if (!threshold) return R::fail("usage", threshold.detail());
  d.updateGroup = group.value();
  d.threshold = threshold.value();
  if (o.has("roles")) {
    auto roles = json::getObject(o, "roles", "roster");
    if (!roles) return R::fail("usage", roles.detail());
    for (const auto& [perm, _] : *roles.value()) {
      auto groups = stringList(*roles.value(), perm, "roster.roles");
      if (!groups) return groups.error();
      d.roles[perm] = groups.value();
    }
  }
  return d;
}

Result<std::vector<PolicySource>> readPolicies(const std::string& dir) {
  using R = Result<std::vector<PolicySource>>;
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    if (e.is_regular_file() && e.path().extension() == ".lua" &&
        name.find("_test.lua") == std::string::npos)
      files.push_back(e.path());
  }
  if (ec) return R::fail("io", "cannot list " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  std::vector<PolicySource> out;
  for (const auto& f : files) {
    auto text = readText(f.string(), 1024 * 1024);
    if (!text) return text.error();
    out.push_back({f.filename().string(), text.value()});
  }
  return out;
}

int bundleNew(int argc, char** argv) {
  auto p = parseCommand(
      argc, argv,
      {{"roster", "policies", "version", "expires-days", "expires", "issued", "out"}, {}, {}},
      kNewHelp);
  if (!p) return p.reason() == "help" ? 0 : 2;
  auto roster = p->args.require("roster");
  if (!roster) return p->out.fail(roster.error());
  auto out = p->args.require("out");
  if (!out) return p->out.fail(out.error());
  auto version = p->args.integer("version");
  auto expires = p->args.integer("expires");
  auto days = p->args.integer("expires-days");
  auto issued = p->args.integer("issued");
  for (const auto* r : {&version, &expires, &days, &issued})
    if (!*r) return p->out.fail(r->error());
  if (!version.value()) return p->out.fail(Error{"usage", "--version is required"});
  if (expires.value() && days.value())
    return p->out.fail(Error{"usage", "give --expires or --expires-days, not both"});

  auto draft = readRoster(roster.value());
  if (!draft) return p->out.fail(draft.error());
  if (auto dir = p->args.get("policies")) {
    auto policies = readPolicies(*dir);
    if (!policies) return p->out.fail(policies.error());
    draft->policies = policies.value();
  }
  draft->version = *version.value();
  draft->issued = issued.value().value_or(nowSeconds());
  draft->expires = expires.value() ? *expires.value()
                                   : draft->issued + days.value().value_or(kDefaultDays) * 86400;
  std::string file = newJws(bundlePayloadJson(draft.value())).serialize();
  // The same checks an agent makes before any signature: a bad draft is caught now.
  auto check = TrustBundle::parse(file);
  if (!check) return p->out.fail(Error{"usage", "the draft would be refused: " + check.detail()});
  if (std::string err = writeFileAtomic(out.value(), file, 0644); !err.empty())
    return p->out.fail(Error{"io", err});
  const auto& b = check.value();
  return p->out.done(
      "bundle " + out.value() + ": tenant " + b.tenant + ", version " + std::to_string(b.version) +
          ", " + std::to_string(b.principals.size()) + " principals, " +
          std::to_string(b.policies.size()) + " policies, expires " + isoTime(b.expires) +
          "\nneeds " + std::to_string(b.threshold) + " signatures from " + b.updateGroup +
          " (keyturn bundle sign)",
      "{\"bundle\":" + json::quote(out.value()) + ",\"version\":" + std::to_string(b.version) +
          ",\"sha256\":\"" + toHex(b.fileSha256) + "\"}");
}

int bundleSign(int argc, char** argv) {
  auto p = parseCommand(argc, argv, {{"bundle", "key", "at", "out"}, {}, {}}, kSignHelp);
  if (!p) return p.reason() == "help" ? 0 : 2;
  auto path = p->args.require("bundle");
  if (!path) return p->out.fail(path.error());
  auto keyPath = p->args.require("key");
  if (!keyPath) return p->out.fail(keyPath.error());
  auto at = p->args.integer("at");
  if (!at) return p->out.fail(at.error());
  auto text = readText(path.value(), kMaxBundleBytes);
  if (!text) return p->out.fail(text.error());
  auto key = Ed25519PrivateKey::load(keyPath.value());
  if (!key) return p->out.fail(key.error());  // insecure_permissions is a refusal (exit 1)
  auto bundle = TrustBundle::parse(text.value());
  if (!bundle) return p->out.fail(bundle.error());
  const std::string kid = key->publicKey().kid();
  for (const auto& s : bundle->signatures)
    if (s.kid == kid)
      return p->out.fail(
          Error{"already_signed", "this key (" + kid + ") has already signed the bundle"});
  JwsEnvelope env = bundle->envelope;
  appendSignature(env, key.value(), bundleSignatureHeader(kid, at.value().value_or(nowSeconds())));
  std::string signedFile = env.serialize();
  std::string target = p->args.get("out").value_or(path.value());
  if (std::string err = writeFileAtomic(target, signedFile, 0644); !err.empty())
    return p->out.fail(Error{"io", err});
  const BundlePrincipal* who = bundle->principalByKid(kid);
  std::string signer = who ? who->id : "a key this bundle does not list";
  return p->out.done("signed " + target + " as " + signer + " (kid " + kid + "), " +
                         std::to_string(env.signatures.size()) + " signature(s) now",
                     "{\"bundle\":" + json::quote(target) + ",\"kid\":" + json::quote(kid) +
                         ",\"signer\":" + json::quote(signer) +
                         ",\"signatures\":" + std::to_string(env.signatures.size()) +
                         ",\"sha256\":\"" + toHex(sha256(signedFile)) + "\"}");
}

int bundleShow(int argc, char** argv) {
  auto p = parseCommand(argc, argv, {{"bundle", "current", "now"}, {}, {}}, kShowHelp);
  if (!p) return p.reason() == "help" ? 0 : 2;
  auto path = p->args.require("bundle");
  if (!path) return p->out.fail(path.error());
  auto now = p->args.now();
  if (!now) return p->out.fail(now.error());
  auto text = readText(path.value(), kMaxBundleBytes + 1);
  if (!text) return p->out.fail(text.error());
  auto parsed = TrustBundle::parse(text.value());
  if (!parsed) return p->out.fail(parsed.error());
  const TrustBundle& b = parsed.value();
  std::optional<TrustBundle> current;
  if (auto cur = p->args.get("current")) {
    auto curText = readText(*cur, kMaxBundleBytes);
    if (!curText) return p->out.fail(curText.error());
    auto c = TrustBundle::parse(curText.value());
    if (!c) return p->out.fail(Error{"usage", *cur + ": " + c.detail()});
    current = c.value();
  }

  std::ostringstream t, j;
  t << "bundle " << path.value() << "  sha256 " << toHex(b.fileSha256) << "\n"
    << "tenant " << b.tenant << ", version " << b.version << ", issued " << isoTime(b.issued)
    << ", expires " << isoTime(b.expires) << "\n";
  j << "{\"tenant\":" << json::quote(b.tenant) << ",\"version\":" << b.version
    << ",\"issued\":" << b.issued << ",\"expires\":" << b.expires << ",\"sha256\":\""
    << toHex(b.fileSha256) << "\",\"issuers\":[";
  t << "issuers:";
  for (std::size_t i = 0; i < b.issuers.size(); ++i) {
    t << " " << b.issuers[i].kid();
    j << (i ? "," : "") << json::quote(b.issuers[i].kid());
  }
  t << "\nprincipals:\n";
  j << "],\"principals\":[";
  for (std::size_t i = 0; i < b.principals.size(); ++i) {
    const auto& pr = b.principals[i];
    t << "  " << pr.id << " [";
    j << (i ? "," : "") << "{\"id\":" << json::quote(pr.id) << ",\"groups\":[";
    for (std::size_t g = 0; g < pr.groups.size(); ++g) {
      t << (g ? ", " : "") << pr.groups[g];
      j << (g ? "," : "") << json::quote(pr.groups[g]);
    }
    t << "] keys";
    j << "],\"kids\":[";
    for (std::size_t k = 0; k < pr.keys.size(); ++k) {
      t << " " << pr.keys[k].kid();
      j << (k ? "," : "") << json::quote(pr.keys[k].kid());
    }
    t << "\n";
    j << "]}";
  }
  t << "update: " << b.threshold << " of " << b.updateGroup << "\n";
  j << "],\"update\":{\"group\":" << json::quote(b.updateGroup) << ",\"threshold\":" << b.threshold
    << "},\"roles\":{";
  bool first = true;
  for (const auto& [perm, groups] : b.roles) {
    t << "role " << perm << ":";
    j << (first ? "" : ",") << json::quote(perm) << ":[";
    first = false;
    for (std::size_t g = 0; g < groups.size(); ++g) {
      t << " " << groups[g];
      j << (g ? "," : "") << json::quote(groups[g]);
    }
    t << "\n";
    j << "]";
  }
  j << "},\"policies\":[";
  t << "policies:";
  for (std::size_t i = 0; i < b.policies.size(); ++i) {
    t << " " << b.policies[i].name;
    j << (i ? "," : "") << json::quote(b.policies[i].name);
  }
  t << "\nsignatures:\n";
  j << "],\"signatures\":[";
  for (std::size_t i = 0; i < b.signatures.size(); ++i) {
    const auto& s = b.signatures[i];
    const auto& js = b.envelope.signatures[s.entry];
    const Ed25519PublicKey* key = b.principalKey(s.kid);
    const BundlePrincipal* who = b.principalByKid(s.kid);
    if (!key && current) {
      key = current->principalKey(s.kid);
      who = current->principalByKid(s.kid);
    }
    bool valid =
        key && key->verify(b.envelope.signingInput(js), js.signature.data(), js.signature.size());
    std::string status = !key ? "unknown key" : valid ? "valid" : "BAD SIGNATURE";
    t << "  " << (who ? who->id : "?") << " kid " << s.kid << " at " << isoTime(s.at) << ": "
      << status << "\n";
    j << (i ? "," : "") << "{\"principal\":" << json::quote(who ? who->id : "")
      << ",\"kid\":" << json::quote(s.kid) << ",\"at\":" << s.at
      << ",\"status\":" << json::quote(status) << "}";
  }
  j << "],\"thresholds\":[";
  thresholdStatus(t, j, "own", b, b);
  if (current) {
    t << "current bundle: version " << current->version << ", update: " << current->threshold
      << " of " << current->updateGroup << "\n";
    j << ",";
    thresholdStatus(t, j, "current", b, *current);
  }
  AcceptOptions options{now.value(), true, {}};
  auto verdict = current ? acceptBundleUpdate(*current, text.value(), options)
                         : acceptInitialBundle(text.value(), std::nullopt, options);
  std::string as = current ? "as the update of version " + std::to_string(current->version)
                           : "as a first bundle";
  if (verdict)
    t << "an agent would ACCEPT it " << as << "\n";
  else
    t << "an agent would REFUSE it " << as << ": " << verdict.reason() << ": " << verdict.detail()
      << "\n";
  j << "],\"decision\":" << (verdict ? "\"accept\"" : "\"reject\"");
  if (!verdict)
    j << ",\"reason\":" << json::quote(verdict.reason())
      << ",\"detail\":" << json::quote(verdict.detail());
  j << "}";
  p->out.done(t.str(), j.str());
  return verdict ? 0 : 1;
}

}  // namespace

int bundleCommand(int argc, char** argv) {
  std::string sub = argc > 2 ? argv[2] : "";
  if (sub == "new") return bundleNew(argc, argv);
  if (sub == "sign") return bundleSign(argc, argv);
  if (sub == "show") return bundleShow(argc, argv);
  if (sub == "propose") return bundlePropose(argc, argv);
  std::cerr << "keyturn: bundle needs new, sign, show or propose\n" << kNewHelp << kSignHelp << kShowHelp;
  return 2;
}

}  // namespace keyturn::cli
