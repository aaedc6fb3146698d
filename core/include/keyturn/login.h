// Challenge–response login for admins: no passwords, no shared secrets. The coordinator
// hands out a random challenge; the admin's tool signs a login object with the admin's
// Ed25519 key, in the same JWS form as every other signed object, so the web console
// can make it with WebCrypto. The coordinator checks the proof here, then consumes the
// challenge in its store (single use) and opens a session of at most 15 minutes.
//
// Login payload: {"kt":"login/1","tenant":T,"principal":ID,"challenge":C,"audience":A}
// Protected header: {"alg":"EdDSA","kid":K,"kt.role":"login","kt.at":T}
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "keyturn/bundle.h"
#include "keyturn/ed25519.h"
#include "keyturn/result.h"

namespace keyturn {

constexpr std::int64_t kMaxSessionSeconds = 15 * 60;

// `bytes` random bytes from OpenSSL's CSPRNG, base64url: challenges and session tokens.
std::string randomToken(std::size_t bytes = 32);

// The signed login object an admin's tool sends back (JWS General Serialization).
std::string signLogin(const Ed25519PrivateKey& key, const std::string& tenant, const std::string& principal,
                      const std::string& challenge, const std::string& audience, std::uint64_t at);

struct LoginProof {
  std::string principal;
  std::string challenge;  // for the caller to look up and consume
};

// Checks a login object: strict JSON and header schema ("malformed"), EdDSA only
// ("unsupported_alg"), exactly one signature by a key of `principal` in the current
// bundle ("unknown_key"), valid ("bad_signature"), for this tenant ("wrong_tenant") and
// this coordinator ("wrong_audience"), signed within 300 s of `now`
// ("not_yet_valid"/"expired").
Result<LoginProof> checkLogin(const TrustBundle& bundle, std::string_view jws, const std::string& audience,
                              std::int64_t now);

}  // namespace keyturn
