#include "keyturn/login.h"

#include <openssl/rand.h>

#include <stdexcept>
#include <vector>

#include "keyturn/base64url.h"
#include "keyturn/json.h"
#include "keyturn/jws.h"
#include "keyturn/token_gate.h"

namespace keyturn {

std::string randomToken(std::size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) throw std::runtime_error("RAND_bytes failed");
  return base64url::encode(buf.data(), buf.size());
}

std::string signLogin(const Ed25519PrivateKey& key, const std::string& tenant, const std::string& principal,
                      const std::string& challenge, const std::string& audience, std::uint64_t at) {
  std::string payload = "{\"kt\":\"login/1\",\"tenant\":" + json::quote(tenant) + ",\"principal\":" +
                        json::quote(principal) + ",\"challenge\":" + json::quote(challenge) +
                        ",\"audience\":" + json::quote(audience) + "}";
  JwsEnvelope jws = newJws(payload);
  appendSignature(jws, key,
                  "{\"alg\":\"EdDSA\",\"kid\":" + json::quote(key.publicKey().kid()) +
                      ",\"kt.role\":\"login\",\"kt.at\":" + std::to_string(at) + "}");
  return jws.serialize();
}

Result<LoginProof> checkLogin(const TrustBundle& bundle, std::string_view text, const std::string& audience,
                              std::int64_t now) {
  using R = Result<LoginProof>;
  if (text.size() > 16 * 1024) return R::fail("malformed", "the login object exceeds 16 KiB");
  auto env = parseJws(text, 1);
  if (!env) return env.error();
  if (env->signatures.size() != 1) return R::fail("malformed", "a login object carries exactly one signature");
  const auto& h = *env->signatures[0].header;
  const char* w = "login header";
  if (Status s = json::onlyMembers(h, {"alg", "kid", "kt.role", "kt.at", "crit", "b64", "jwk", "jku", "x5u", "x5c"}, w); !s)
    return s.error();
  auto alg = json::getString(h, "alg", w);
  auto kid = json::getString(h, "kid", w);
  auto role = json::getString(h, "kt.role", w);
  auto at = json::getInteger(h, "kt.at", w);
  if (!alg) return alg.error();
  if (!kid) return kid.error();
  if (!role) return role.error();
  if (!at) return at.error();
  if (role.value() != "login") return R::fail("malformed", "login header kt.role must be \"login\"");
  auto payload = json::parseObject(env->payload);
  if (!payload) return R::fail("malformed", "login payload: " + payload.detail());
  const auto& p = *payload.value();
  if (Status s = json::onlyMembers(p, {"kt", "tenant", "principal", "challenge", "audience"}, "login"); !s)
    return s.error();
  auto kt = json::getString(p, "kt", "login");
  auto tenant = json::getString(p, "tenant", "login");
  auto principal = json::getString(p, "principal", "login");
  auto challenge = json::getString(p, "challenge", "login");
  auto aud = json::getString(p, "audience", "login");
  for (const auto* r : {&kt, &tenant, &principal, &challenge, &aud})
    if (!*r) return r->error();
  if (kt.value() != "login/1") return R::fail("malformed", "login.kt must be \"login/1\"");
  if (Status s = checkHeaderAlgorithm(h, w); !s) return s.error();

  const BundlePrincipal* who = bundle.principalById(principal.value());
  const Ed25519PublicKey* key = bundle.principalKey(kid.value());
  if (!who || !key || bundle.principalByKid(kid.value()) != who)
    return R::fail("unknown_key", "kid " + kid.value() + " is not a key of principal \"" + principal.value() + "\"");
  const auto& js = env->signatures[0];
  if (!key->verify(env->signingInput(js), js.signature.data(), js.signature.size()))
    return R::fail("bad_signature", "the login signature does not verify");
  if (tenant.value() != bundle.tenant) return R::fail("wrong_tenant", "the login is for tenant \"" + tenant.value() + "\"");
  if (aud.value() != audience)
    return R::fail("wrong_audience", "the login is for \"" + aud.value() + "\", this coordinator is \"" + audience + "\"");
  auto signedAt = static_cast<std::int64_t>(at.value());
  if (signedAt > now + kClockSkew) return R::fail("not_yet_valid", "the login is signed in the future");
  if (signedAt < now - kClockSkew) return R::fail("expired", "the login was signed more than 300 s ago");
  return LoginProof{principal.value(), challenge.value()};
}

}  // namespace keyturn
