#include "keyturn/jws.h"

#include <cstring>

#include "keyturn/base64url.h"
#include "keyturn/json.h"

namespace keyturn {

namespace {
Result<JwsEnvelope> malformed(std::string detail) {
  return Result<JwsEnvelope>::fail("malformed", std::move(detail));
}
}  // namespace

Result<JwsEnvelope> parseJws(std::string_view text, std::size_t maxSignatures) {
  auto root = json::parseObject(text);
  if (!root) return root.error();
  const auto& o = *root.value();
  if (Status s = json::onlyMembers(o, {"payload", "signatures"}, "envelope"); !s) return s.error();
  auto payload = json::getString(o, "payload", "envelope");
  if (!payload) return payload.error();
  auto sigs = json::getArray(o, "signatures", "envelope");
  if (!sigs) return sigs.error();

  JwsEnvelope jws;
  jws.payloadB64 = payload.value();
  auto decoded = base64url::decodeToString(jws.payloadB64);
  if (!decoded) return malformed("envelope.payload is not canonical base64url");
  jws.payload = std::move(*decoded);

  const auto& arr = *sigs.value();
  if (arr.size() > maxSignatures)
    return malformed("more than " + std::to_string(maxSignatures) + " signature entries");
  jws.signatures.reserve(arr.size());
  for (std::size_t i = 0; i < arr.size(); ++i) {
    std::string where = "signatures[" + std::to_string(i) + "]";
    auto entry = json::asObject(arr.get(static_cast<unsigned>(i)), where);
    if (!entry) return entry.error();
    const auto& e = *entry.value();
    if (Status s = json::onlyMembers(e, {"protected", "signature"}, where); !s) return s.error();
    auto prot = json::getString(e, "protected", where);
    if (!prot) return prot.error();
    auto sig = json::getString(e, "signature", where);
    if (!sig) return sig.error();
    JwsSignature js;
    js.protectedB64 = prot.value();
    js.signatureB64 = sig.value();
    auto sigBytes = base64url::decode(js.signatureB64);
    if (!sigBytes) return malformed(where + ".signature is not canonical base64url");
    if (sigBytes->size() != 64)
      return malformed(where + ".signature decodes to " + std::to_string(sigBytes->size()) + " bytes, not 64");
    std::memcpy(js.signature.data(), sigBytes->data(), 64);
    auto headerText = base64url::decodeToString(js.protectedB64);
    if (!headerText) return malformed(where + ".protected is not canonical base64url");
    auto header = json::parseObject(*headerText);
    if (!header) return malformed(where + ".protected: " + header.detail());
    js.header = header.value();
    jws.signatures.push_back(std::move(js));
  }
  return jws;
}

Status checkHeaderAlgorithm(const Poco::JSON::Object& header, std::string_view where) {
  for (const char* banned : {"crit", "b64", "jwk", "jku", "x5u", "x5c"}) {
    if (header.has(banned))
      return Status::fail("unsupported_alg", std::string(where) + " carries \"" + banned + "\", which Keyturn refuses");
  }
  if (header.has("alg")) {
    Poco::Dynamic::Var alg = header.get("alg");
    if (alg.isString() && alg.extract<std::string>() != "EdDSA")
      return Status::fail("unsupported_alg",
                          std::string(where) + " alg is \"" + alg.extract<std::string>() + "\"; only EdDSA is accepted");
  }
  return Status::ok();
}

JwsEnvelope newJws(std::string_view payload) {
  JwsEnvelope jws;
  jws.payload = std::string(payload);
  jws.payloadB64 = base64url::encode(payload);
  return jws;
}

void appendSignature(JwsEnvelope& jws, const Ed25519PrivateKey& key, const std::string& headerJson) {
  JwsSignature s;
  s.protectedB64 = base64url::encode(headerJson);
  s.signature = key.sign(jws.signingInput(s));
  s.signatureB64 = base64url::encode(s.signature.data(), s.signature.size());
  auto header = json::parseObject(headerJson);
  if (header) s.header = header.value();
  jws.signatures.push_back(std::move(s));
}

JwsSignature signatureFor(const JwsEnvelope& jws, const Ed25519PrivateKey& key,
                          const std::string& headerJson) {
  JwsSignature s;
  s.protectedB64 = base64url::encode(headerJson);
  s.signature = key.sign(jws.signingInput(s));
  s.signatureB64 = base64url::encode(s.signature.data(), s.signature.size());
  return s;
}

std::string JwsEnvelope::serialize() const {
  std::string out = "{\"payload\":\"" + payloadB64 + "\",\"signatures\":[";
  for (std::size_t i = 0; i < signatures.size(); ++i) {
    if (i) out += ',';
    out += "{\"protected\":\"" + signatures[i].protectedB64 + "\",\"signature\":\"" +
           signatures[i].signatureB64 + "\"}";
  }
  out += "]}";
  return out;
}

}  // namespace keyturn
