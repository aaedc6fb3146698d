#include "keyturn/token.h"

#include <algorithm>

#include "keyturn/base64url.h"
#include "keyturn/json.h"
#include "keyturn/merkle.h"

namespace keyturn {
namespace {

Status fail(std::string detail) { return Status::fail("malformed", std::move(detail)); }

bool isIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

Result<Digest> readHash(const Poco::Dynamic::Var& v, const std::string& where) {
  auto s = json::asString(v, where);
  if (!s) return s.error();
  auto bytes = base64url::decode(s.value());
  if (!bytes || bytes->size() != 32)
    return Result<Digest>::fail("malformed", where + " must be base64url of 32 bytes");
  Digest d;
  std::copy(bytes->begin(), bytes->end(), d.begin());
  return d;
}

// The members each role's protected header holds (section 4), plus the ones section 2
// leaves to the algorithm check.
Status readHeader(const json::Object& h, const std::string& at, TokenSignature& sig) {
  auto role = json::getString(h, "kt.role", at);
  if (!role) return role.status();
  const std::string& r = role.value();
  if (r == "requester") sig.role = SignerRole::kRequester;
  else if (r == "approver") sig.role = SignerRole::kApprover;
  else if (r == "completer") sig.role = SignerRole::kCompleter;
  else if (r == "issuer") sig.role = SignerRole::kIssuer;
  else return fail(at + ": kt.role \"" + r + "\" is not requester, approver, completer or issuer");

  Status members = Status::ok();
  switch (sig.role) {
    case SignerRole::kRequester:
    case SignerRole::kCompleter:
      members = json::onlyMembers(h, {"alg", "kid", "kt.role", "kt.at", "crit", "b64", "jwk", "jku", "x5u", "x5c"}, at);
      break;
    case SignerRole::kApprover:
      members = json::onlyMembers(
          h, {"alg", "kid", "kt.role", "kt.at", "kt.decision", "crit", "b64", "jwk", "jku", "x5u", "x5c"}, at);
      break;
    case SignerRole::kIssuer:
      members = json::onlyMembers(h, {"alg", "kid", "kt.role", "kt.at", "kt.device", "kt.index", "kt.proof", "kt.nbf",
                                      "kt.exp", "crit", "b64", "jwk", "jku", "x5u", "x5c"},
                                  at);
      break;
  }
  if (!members) return members;
  auto alg = json::getString(h, "alg", at);
  if (!alg) return alg.status();
  auto kid = json::getString(h, "kid", at);
  if (!kid) return kid.status();
  sig.kid = kid.value();
  auto ts = json::getInteger(h, "kt.at", at);
  if (!ts) return ts.status();
  sig.at = ts.value();

  if (sig.role == SignerRole::kApprover) {
    auto decision = json::getString(h, "kt.decision", at);
    if (!decision) return decision.status();
    if (decision.value() != "approve") return fail(at + ": kt.decision must be \"approve\"");
  }
  if (sig.role == SignerRole::kIssuer) {
    auto device = json::getString(h, "kt.device", at);
    if (!device) return device.status();
    if (device.value().empty()) return fail(at + ": kt.device is empty");
    sig.device = device.value();
    auto index = json::getInteger(h, "kt.index", at);
    if (!index) return index.status();
    sig.index = index.value();
    auto proof = json::getArray(h, "kt.proof", at);
    if (!proof) return proof.status();
    if (proof.value()->size() > 64) return fail(at + ": kt.proof is longer than any tree of 2^53 leaves needs");
    for (std::size_t i = 0; i < proof.value()->size(); ++i) {
      auto d = readHash(proof.value()->get(static_cast<unsigned>(i)), at + ".kt.proof[" + std::to_string(i) + "]");
      if (!d) return d.status();
      sig.proof.push_back(d.value());
    }
    auto nbf = json::getInteger(h, "kt.nbf", at);
    if (!nbf) return nbf.status();
    auto exp = json::getInteger(h, "kt.exp", at);
    if (!exp) return exp.status();
    sig.nbf = nbf.value();
    sig.exp = exp.value();
    if (!(sig.nbf < sig.exp) || sig.exp > sig.nbf + kMaxIssueWindow)
      return fail(at + ": the issuer window must satisfy kt.nbf < kt.exp <= kt.nbf + 30 days");
  }
  return Status::ok();
}

}  // namespace

const char* roleName(SignerRole role) {
  switch (role) {
    case SignerRole::kRequester: return "requester";
    case SignerRole::kApprover: return "approver";
    case SignerRole::kCompleter: return "completer";
    case SignerRole::kIssuer: return "issuer";
  }
  return "?";
}

bool validRequestId(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), isIdChar);
}

bool validPrincipalId(std::string_view id) {
  return !id.empty() && id.size() <= 64 &&
         std::all_of(id.begin(), id.end(), [](char c) { return isIdChar(c) || c == '@'; });
}

bool validActionName(std::string_view a) {
  // [a-z0-9_-]+(\.[a-z0-9_-]+)+, at most 64 characters.
  if (a.empty() || a.size() > 64) return false;
  std::size_t segments = 0, len = 0;
  for (char c : a) {
    if (c == '.') {
      if (len == 0) return false;
      ++segments;
      len = 0;
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-') {
      ++len;
    } else {
      return false;
    }
  }
  return len > 0 && segments >= 1;
}

Result<RequestPayload> parseRequestPayload(std::string_view payloadJson) {
  using R = Result<RequestPayload>;
  auto root = json::parseObject(payloadJson);
  if (!root) return R::fail("malformed", "payload: " + root.detail());
  const auto& o = *root.value();
  const char* w = "payload";
  if (Status s = json::onlyMembers(o, {"kt", "tenant", "id", "action", "params", "targets", "requester",
                                       "justification", "created", "expires", "bundle"},
                                   w);
      !s)
    return s.error();
  RequestPayload p;
  auto kt = json::getString(o, "kt", w);
  if (!kt) return kt.error();
  if (kt.value() != "request/1") return R::fail("malformed", "payload.kt must be \"request/1\"");
  auto tenant = json::getString(o, "tenant", w);
  if (!tenant) return tenant.error();
  p.tenant = tenant.value();
  auto id = json::getString(o, "id", w);
  if (!id) return id.error();
  if (!validRequestId(id.value())) return R::fail("malformed", "payload.id must match [A-Za-z0-9._-]{1,64}");
  p.id = id.value();
  auto action = json::getString(o, "action", w);
  if (!action) return action.error();
  if (!validActionName(action.value()))
    return R::fail("malformed", "payload.action must match [a-z0-9_-]+(\\.[a-z0-9_-]+)+, at most 64 characters");
  p.action = action.value();
  auto params = json::getObject(o, "params", w);
  if (!params) return params.error();
  p.params = params.value();
  p.paramsJson = json::stringify(p.params);
  auto targets = json::getObject(o, "targets", w);
  if (!targets) return targets.error();
  if (Status s = json::onlyMembers(*targets.value(), {"count", "root"}, "payload.targets"); !s) return s.error();
  auto count = json::getInteger(*targets.value(), "count", "payload.targets");
  if (!count) return count.error();
  if (count.value() < 1 || count.value() > kMaxTargets)
    return R::fail("malformed", "payload.targets.count must be between 1 and 1,000,000");
  p.targetCount = count.value();
  if (!targets.value()->has("root")) return R::fail("malformed", "payload.targets.root is missing");
  auto rootHash = readHash(targets.value()->get("root"), "payload.targets.root");
  if (!rootHash) return rootHash.error();
  p.targetRoot = rootHash.value();
  auto requester = json::getString(o, "requester", w);
  if (!requester) return requester.error();
  if (!validPrincipalId(requester.value()))
    return R::fail("malformed", "payload.requester must match [A-Za-z0-9._@-]{1,64}");
  p.requester = requester.value();
  auto just = json::getString(o, "justification", w);
  if (!just) return just.error();
  std::size_t jlen = json::codePoints(just.value());
  if (jlen < 1 || jlen > 1024) return R::fail("malformed", "payload.justification must be 1 to 1,024 characters");
  p.justification = just.value();
  for (auto [name, field] : {std::pair{"created", &p.created}, {"expires", &p.expires}, {"bundle", &p.bundle}}) {
    auto n = json::getInteger(o, name, w);
    if (!n) return n.error();
    *field = n.value();
  }
  if (!(p.created < p.expires) || p.expires > p.created + kMaxRequestLifetime)
    return R::fail("malformed", "payload must satisfy created < expires <= created + 90 days");
  return p;
}

Result<Token> parseToken(std::string_view bytes) {
  using R = Result<Token>;
  if (bytes.size() > kMaxTokenBytes) return R::fail("malformed", "the token exceeds 64 KiB");
  auto env = parseJws(bytes, kMaxTokenSignatures);
  if (!env) return env.error();
  Token t;
  t.envelope = std::move(env).value();
  auto payload = parseRequestPayload(t.envelope.payload);
  if (!payload) return payload.error();
  t.payload = std::move(payload).value();
  t.signatures.reserve(t.envelope.signatures.size());
  for (std::size_t i = 0; i < t.envelope.signatures.size(); ++i) {
    TokenSignature sig;
    sig.entry = i;
    std::string at = "signatures[" + std::to_string(i) + "] protected header";
    if (Status s = readHeader(*t.envelope.signatures[i].header, at, sig); !s) return s.error();
    t.signatures.push_back(std::move(sig));
  }
  // Step 2 after every schema of step 1 passed.
  for (std::size_t i = 0; i < t.envelope.signatures.size(); ++i) {
    std::string at = "signatures[" + std::to_string(i) + "] protected header";
    if (Status s = checkHeaderAlgorithm(*t.envelope.signatures[i].header, at); !s) return s.error();
  }
  return t;
}

Result<std::string> requestPayloadJson(const RequestDraft& d) {
  auto targets = canonicalTargets(d.targets);
  if (!targets) return targets.error();
  auto params = json::parseObject(d.paramsJson);
  if (!params) return Result<std::string>::fail("malformed", "params: " + params.detail());
  MerkleTree tree(targets.value());
  std::string out = "{\"kt\":\"request/1\",\"tenant\":" + json::quote(d.tenant) + ",\"id\":" + json::quote(d.id) +
                    ",\"action\":" + json::quote(d.action) + ",\"params\":" + json::stringify(params.value()) +
                    ",\"targets\":{\"count\":" + std::to_string(targets->size()) + ",\"root\":\"" +
                    base64url::encode(tree.root().data(), 32) + "\"},\"requester\":" + json::quote(d.requester) +
                    ",\"justification\":" + json::quote(d.justification) + ",\"created\":" +
                    std::to_string(d.created) + ",\"expires\":" + std::to_string(d.expires) +
                    ",\"bundle\":" + std::to_string(d.bundle) + "}";
  auto check = parseRequestPayload(out);
  if (!check) return check.error();
  return out;
}

namespace {
std::string baseHeader(const std::string& kid, const char* role, std::uint64_t at) {
  return "{\"alg\":\"EdDSA\",\"kid\":" + json::quote(kid) + ",\"kt.role\":\"" + role + "\",\"kt.at\":" +
         std::to_string(at);
}
}  // namespace

std::string requesterHeader(const std::string& kid, std::uint64_t at) { return baseHeader(kid, "requester", at) + "}"; }

std::string approverHeader(const std::string& kid, std::uint64_t at) {
  return baseHeader(kid, "approver", at) + ",\"kt.decision\":\"approve\"}";
}

std::string completerHeader(const std::string& kid, std::uint64_t at) { return baseHeader(kid, "completer", at) + "}"; }

std::string issuerHeader(const std::string& kid, std::uint64_t at, const std::string& device, std::uint64_t index,
                         const std::vector<Digest>& proof, std::uint64_t nbf, std::uint64_t exp) {
  std::string out = baseHeader(kid, "issuer", at) + ",\"kt.device\":" + json::quote(device) +
                    ",\"kt.index\":" + std::to_string(index) + ",\"kt.proof\":[";
  for (std::size_t i = 0; i < proof.size(); ++i) out += (i ? ",\"" : "\"") + base64url::encode(proof[i].data(), 32) + "\"";
  out += "],\"kt.nbf\":" + std::to_string(nbf) + ",\"kt.exp\":" + std::to_string(exp) + "}";
  return out;
}

}  // namespace keyturn
