#include "keyturn/bundle.h"

#include <algorithm>
#include <unordered_set>

#include "keyturn/json.h"
#include "keyturn/token.h"

namespace keyturn {
namespace {

constexpr std::size_t kMaxIssuers = 8;
constexpr std::size_t kMaxPrincipals = 10'000;
constexpr std::size_t kMaxKeysPerPrincipal = 4;
constexpr std::size_t kMaxPolicies = 64;

bool validName(const std::string& s, std::size_t maxLen) {
  if (s.empty() || s.size() > maxLen) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-' || c == '@' || c == ':';
  });
}

Status fail(std::string detail) { return Status::fail("malformed", std::move(detail)); }

// Reads {"kid":..,"x":..}: the kid must be the thumbprint of x.
Result<Ed25519PublicKey> readKey(const Poco::Dynamic::Var& v, const std::string& where) {
  auto o = json::asObject(v, where);
  if (!o) return o.error();
  if (Status s = json::onlyMembers(*o.value(), {"kid", "x"}, where); !s) return s.error();
  auto kid = json::getString(*o.value(), "kid", where);
  if (!kid) return kid.error();
  auto x = json::getString(*o.value(), "x", where);
  if (!x) return x.error();
  auto key = Ed25519PublicKey::fromX(x.value());
  if (!key) return Result<Ed25519PublicKey>::fail("malformed", where + ": " + key.detail());
  if (key->kid() != kid.value())
    return Result<Ed25519PublicKey>::fail("malformed", where + ".kid is not the RFC 7638 thumbprint of its x");
  return key;
}

Result<std::vector<std::string>> readStringArray(const Poco::Dynamic::Var& v, const std::string& where,
                                                 std::size_t maxLen) {
  using R = Result<std::vector<std::string>>;
  if (v.type() != typeid(json::Array::Ptr)) return R::fail("malformed", where + " must be an array");
  const auto& arr = *v.extract<json::Array::Ptr>();
  std::vector<std::string> out;
  out.reserve(arr.size());
  for (std::size_t i = 0; i < arr.size(); ++i) {
    std::string at = where + "[" + std::to_string(i) + "]";
    auto s = json::asString(arr.get(static_cast<unsigned>(i)), at);
    if (!s) return s.error();
    if (!validName(s.value(), maxLen)) return R::fail("malformed", at + " is not a valid name");
    out.push_back(std::move(s).value());
  }
  return out;
}

}  // namespace

bool BundlePrincipal::inGroup(const std::string& g) const {
  return std::find(groups.begin(), groups.end(), g) != groups.end();
}

const BundlePrincipal* TrustBundle::principalByKid(const std::string& kid) const {
  auto it = principalByKid_.find(kid);
  return it == principalByKid_.end() ? nullptr : &principals[it->second];
}

const BundlePrincipal* TrustBundle::principalById(const std::string& id) const {
  auto it = principalById_.find(id);
  return it == principalById_.end() ? nullptr : &principals[it->second];
}

const Ed25519PublicKey* TrustBundle::principalKey(const std::string& kid) const {
  const BundlePrincipal* p = principalByKid(kid);
  if (!p) return nullptr;
  for (const auto& k : p->keys)
    if (k.kid() == kid) return &k;
  return nullptr;
}

const Ed25519PublicKey* TrustBundle::issuerKey(const std::string& kid) const {
  auto it = issuerByKid_.find(kid);
  return it == issuerByKid_.end() ? nullptr : &issuers[it->second];
}

std::size_t TrustBundle::groupSize(const std::string& group) const {
  return static_cast<std::size_t>(
      std::count_if(principals.begin(), principals.end(), [&](const BundlePrincipal& p) { return p.inGroup(group); }));
}

bool TrustBundle::hasRole(const std::string& principalId, const std::string& permission) const {
  const BundlePrincipal* p = principalById(principalId);
  auto it = roles.find(permission);
  if (!p || it == roles.end()) return false;
  for (const auto& g : it->second)
    if (p->inGroup(g)) return true;
  return false;
}

void TrustBundle::buildIndexes() {
  principalByKid_.clear();
  principalById_.clear();
  issuerByKid_.clear();
  for (std::size_t i = 0; i < principals.size(); ++i) {
    principalById_.emplace(principals[i].id, i);
    for (const auto& k : principals[i].keys) principalByKid_.emplace(k.kid(), i);
  }
  for (std::size_t i = 0; i < issuers.size(); ++i) issuerByKid_.emplace(issuers[i].kid(), i);
}

// Reads a bundle file into a TrustBundle; a friend so that it can build the indexes.
class BundleParser {
 public:
  static Result<TrustBundle> parse(std::string_view fileBytes);

 private:
  static Status readPayload(TrustBundle& b, const json::Object& o);
  static Status readSignatures(TrustBundle& b);
};

Status BundleParser::readPayload(TrustBundle& b, const json::Object& o) {
  const char* w = "bundle";
  if (Status s = json::onlyMembers(o, {"kt", "tenant", "version", "issued", "expires", "issuers", "principals",
                                       "update", "roles", "policies"},
                                   w);
      !s)
    return s;
  auto kt = json::getString(o, "kt", w);
  if (!kt) return kt.status();
  if (kt.value() != "bundle/1") return fail("bundle.kt must be \"bundle/1\"");
  auto tenant = json::getString(o, "tenant", w);
  if (!tenant) return tenant.status();
  if (!validName(tenant.value(), 64)) return fail("bundle.tenant must match [A-Za-z0-9._@:-]{1,64}");
  b.tenant = tenant.value();
  for (auto [name, field] : {std::pair{"version", &b.version}, {"issued", &b.issued}, {"expires", &b.expires}}) {
    auto n = json::getInteger(o, name, w);
    if (!n) return n.status();
    *field = n.value();
  }
  if (b.version < 1) return fail("bundle.version must be at least 1");
  if (b.issued > b.expires) return fail("bundle.issued is after bundle.expires");

  // Issuers, then principals; every raw key may appear once in the whole bundle.
  std::unordered_set<std::string> seenKeys;
  auto issuers = json::getArray(o, "issuers", w);
  if (!issuers) return issuers.status();
  if (issuers.value()->size() < 1 || issuers.value()->size() > kMaxIssuers)
    return fail("bundle.issuers must hold 1 to 8 keys");
  for (std::size_t i = 0; i < issuers.value()->size(); ++i) {
    std::string at = "bundle.issuers[" + std::to_string(i) + "]";
    auto key = readKey(issuers.value()->get(static_cast<unsigned>(i)), at);
    if (!key) return key.status();
    if (!seenKeys.insert(key->x()).second) return fail(at + ": this key appears twice in the bundle");
    b.issuers.push_back(std::move(key).value());
  }

  auto principals = json::getArray(o, "principals", w);
  if (!principals) return principals.status();
  const auto& parr = *principals.value();
  if (parr.size() < 1 || parr.size() > kMaxPrincipals) return fail("bundle.principals must hold 1 to 10,000 admins");
  b.principals.reserve(parr.size());
  std::unordered_set<std::string> seenIds;
  for (std::size_t i = 0; i < parr.size(); ++i) {
    std::string at = "bundle.principals[" + std::to_string(i) + "]";
    auto po = json::asObject(parr.get(static_cast<unsigned>(i)), at);
    if (!po) return po.status();
    if (Status s = json::onlyMembers(*po.value(), {"id", "groups", "keys"}, at); !s) return s;
    BundlePrincipal p;
    auto id = json::getString(*po.value(), "id", at);
    if (!id) return id.status();
    if (!validPrincipalId(id.value())) return fail(at + ".id must match [A-Za-z0-9._@-]{1,64}");
    p.id = id.value();
    if (!seenIds.insert(p.id).second) return fail(at + ": two principals have the id \"" + p.id + "\"");
    if (!po.value()->has("groups")) return fail(at + ".groups is missing");
    auto groups = readStringArray(po.value()->get("groups"), at + ".groups", 64);
    if (!groups) return groups.status();
    p.groups = std::move(groups).value();
    auto keys = json::getArray(*po.value(), "keys", at);
    if (!keys) return keys.status();
    if (keys.value()->size() < 1 || keys.value()->size() > kMaxKeysPerPrincipal)
      return fail(at + ".keys must hold 1 to 4 keys");
    for (std::size_t k = 0; k < keys.value()->size(); ++k) {
      std::string kat = at + ".keys[" + std::to_string(k) + "]";
      auto key = readKey(keys.value()->get(static_cast<unsigned>(k)), kat);
      if (!key) return key.status();
      if (!seenKeys.insert(key->x()).second) return fail(kat + ": this key appears twice in the bundle");
      p.keys.push_back(std::move(key).value());
    }
    b.principals.push_back(std::move(p));
  }

  auto update = json::getObject(o, "update", w);
  if (!update) return update.status();
  if (Status s = json::onlyMembers(*update.value(), {"group", "threshold"}, "bundle.update"); !s) return s;
  auto group = json::getString(*update.value(), "group", "bundle.update");
  if (!group) return group.status();
  auto threshold = json::getInteger(*update.value(), "threshold", "bundle.update");
  if (!threshold) return threshold.status();
  b.updateGroup = group.value();
  b.threshold = threshold.value();

  if (o.has("roles")) {
    auto roles = json::getObject(o, "roles", w);
    if (!roles) return roles.status();
    for (const auto& [perm, groups] : *roles.value()) {
      if (!validName(perm, 64)) return fail("bundle.roles: \"" + perm + "\" is not a valid permission name");
      auto list = readStringArray(groups, "bundle.roles." + perm, 64);
      if (!list) return list.status();
      b.roles[perm] = std::move(list).value();
    }
  }

  auto policies = json::getArray(o, "policies", w);
  if (!policies) return policies.status();
  if (policies.value()->size() > kMaxPolicies) return fail("bundle.policies holds more than 64 files");
  std::unordered_set<std::string> seenPolicies;
  for (std::size_t i = 0; i < policies.value()->size(); ++i) {
    std::string at = "bundle.policies[" + std::to_string(i) + "]";
    auto po = json::asObject(policies.value()->get(static_cast<unsigned>(i)), at);
    if (!po) return po.status();
    if (Status s = json::onlyMembers(*po.value(), {"name", "source"}, at); !s) return s;
    auto name = json::getString(*po.value(), "name", at);
    if (!name) return name.status();
    auto source = json::getString(*po.value(), "source", at);
    if (!source) return source.status();
    if (!validName(name.value(), 128)) return fail(at + ".name must match [A-Za-z0-9._@:-]{1,128}");
    if (!seenPolicies.insert(name.value()).second) return fail(at + ": two policies are named \"" + name.value() + "\"");
    if (source.value().rfind("\x1bLua", 0) == 0) return fail(at + " (" + name.value() + ") is Lua bytecode; only source text is accepted");
    b.policies.push_back(PolicySource{name.value(), source.value()});
  }
  return Status::ok();
}

Status BundleParser::readSignatures(TrustBundle& b) {
  // Schema first (malformed), algorithms after (unsupported_alg), as section 3 orders them.
  for (std::size_t i = 0; i < b.envelope.signatures.size(); ++i) {
    const auto& h = *b.envelope.signatures[i].header;
    std::string at = "signatures[" + std::to_string(i) + "] protected header";
    if (Status s = json::onlyMembers(h, {"alg", "kid", "kt.role", "kt.at", "crit", "b64", "jwk", "jku", "x5u", "x5c"}, at); !s)
      return s;
    auto alg = json::getString(h, "alg", at);
    if (!alg) return alg.status();
    auto kid = json::getString(h, "kid", at);
    if (!kid) return kid.status();
    auto role = json::getString(h, "kt.role", at);
    if (!role) return role.status();
    if (role.value() != "bundle") return fail(at + ": kt.role must be \"bundle\"");
    auto ts = json::getInteger(h, "kt.at", at);
    if (!ts) return ts.status();
    b.signatures.push_back(BundleSignature{kid.value(), ts.value(), i});
  }
  for (std::size_t i = 0; i < b.envelope.signatures.size(); ++i) {
    std::string at = "signatures[" + std::to_string(i) + "] protected header";
    if (Status s = checkHeaderAlgorithm(*b.envelope.signatures[i].header, at); !s) return s;
  }
  return Status::ok();
}

Result<TrustBundle> BundleParser::parse(std::string_view fileBytes) {
  if (fileBytes.size() > kMaxBundleBytes) return Result<TrustBundle>::fail("malformed", "the bundle file exceeds 8 MiB");
  auto env = parseJws(fileBytes, 1024);
  if (!env) return env.error();
  TrustBundle b;
  b.envelope = std::move(env).value();
  auto payload = json::parseObject(b.envelope.payload);
  if (!payload) return Result<TrustBundle>::fail("malformed", "bundle payload: " + payload.detail());
  if (Status s = readPayload(b, *payload.value()); !s) return s.error();
  if (b.threshold < 1 || b.threshold > b.groupSize(b.updateGroup))
    return Result<TrustBundle>::fail("malformed", "bundle.update.threshold must be between 1 and the number of principals in \"" +
                                                       b.updateGroup + "\" (" + std::to_string(b.groupSize(b.updateGroup)) + ")");
  if (Status s = readSignatures(b); !s) return s.error();
  b.fileBytes = std::string(fileBytes);
  b.fileSha256 = sha256(fileBytes);
  b.buildIndexes();
  return b;
}

Result<TrustBundle> TrustBundle::parse(std::string_view fileBytes) { return BundleParser::parse(fileBytes); }

std::string bundlePayloadJson(const BundleDraft& d) {
  auto key = [](const std::string& x) {
    return "{\"kid\":" + json::quote(jwkThumbprint(x)) + ",\"x\":" + json::quote(x) + "}";
  };
  std::string out = "{\"kt\":\"bundle/1\",\"tenant\":" + json::quote(d.tenant) +
                    ",\"version\":" + std::to_string(d.version) + ",\"issued\":" + std::to_string(d.issued) +
                    ",\"expires\":" + std::to_string(d.expires) + ",\"issuers\":[";
  for (std::size_t i = 0; i < d.issuersX.size(); ++i) out += (i ? "," : "") + key(d.issuersX[i]);
  out += "],\"principals\":[";
  for (std::size_t i = 0; i < d.principals.size(); ++i) {
    const auto& p = d.principals[i];
    out += (i ? ",{" : "{");
    out += "\"id\":" + json::quote(p.id) + ",\"groups\":[";
    for (std::size_t g = 0; g < p.groups.size(); ++g) out += (g ? "," : "") + json::quote(p.groups[g]);
    out += "],\"keys\":[";
    for (std::size_t k = 0; k < p.keysX.size(); ++k) out += (k ? "," : "") + key(p.keysX[k]);
    out += "]}";
  }
  out += "],\"update\":{\"group\":" + json::quote(d.updateGroup) + ",\"threshold\":" + std::to_string(d.threshold) + "}";
  if (!d.roles.empty()) {
    out += ",\"roles\":{";
    bool first = true;
    for (const auto& [perm, groups] : d.roles) {
      out += (first ? "" : ",") + json::quote(perm) + ":[";
      first = false;
      for (std::size_t g = 0; g < groups.size(); ++g) out += (g ? "," : "") + json::quote(groups[g]);
      out += "]";
    }
    out += "}";
  }
  out += ",\"policies\":[";
  for (std::size_t i = 0; i < d.policies.size(); ++i)
    out += (i ? "," : "") + std::string("{\"name\":") + json::quote(d.policies[i].name) +
           ",\"source\":" + json::quote(d.policies[i].source) + "}";
  out += "]}";
  return out;
}

std::string bundleSignatureHeader(const std::string& kid, std::uint64_t at) {
  return "{\"alg\":\"EdDSA\",\"kid\":" + json::quote(kid) + ",\"kt.role\":\"bundle\",\"kt.at\":" + std::to_string(at) + "}";
}

}  // namespace keyturn
