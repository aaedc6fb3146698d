// JWS JSON General Serialization (RFC 7515 section 7.2.1) with EdDSA, exactly as
// PROTOCOL.md section 2 restricts it. Signatures are always checked over the received
// bytes: the signing input is the received `protected` string, ".", and the received
// `payload` string; nothing is re-serialised before verification.
#pragma once

#include <Poco/JSON/Object.h>

#include <string>
#include <string_view>
#include <vector>

#include "keyturn/ed25519.h"
#include "keyturn/result.h"

namespace keyturn {

struct JwsSignature {
  std::string protectedB64;           // as received
  std::string signatureB64;           // as received
  Poco::JSON::Object::Ptr header;     // the decoded protected header (strict JSON)
  Signature signature{};              // the decoded 64 bytes
};

struct JwsEnvelope {
  std::string payloadB64;             // as received
  std::string payload;                // decoded bytes
  std::vector<JwsSignature> signatures;

  // The bytes a signature covers: protected "." payload, as received.
  std::string signingInput(const JwsSignature& s) const { return s.protectedB64 + "." + payloadB64; }
  // Serialises as {"payload":...,"signatures":[{"protected":...,"signature":...},...]}.
  std::string serialize() const;
};

// Parses the envelope: exactly the members `payload` and `signatures`, each entry
// exactly `protected` and `signature`, strict base64url everywhere, every signature 64
// bytes, every protected header a strict JSON object, at most `maxSignatures` entries.
// Fails with reason "malformed". Does not look inside headers beyond parsing them.
Result<JwsEnvelope> parseJws(std::string_view text, std::size_t maxSignatures);

// The section 2 header rule: `alg` present and a string is left to the schema; here an
// `alg` other than "EdDSA", or any of crit, b64, jwk, jku, x5u, x5c, fails with reason
// "unsupported_alg".
Status checkHeaderAlgorithm(const Poco::JSON::Object& header, std::string_view where);

// Starts an envelope over `payload` (bytes, usually compact JSON).
JwsEnvelope newJws(std::string_view payload);

// Appends a signature with the given protected header (serialised compactly, members in
// the order given by `headerJson`, which must be a JSON object text).
void appendSignature(JwsEnvelope& jws, const Ed25519PrivateKey& key, const std::string& headerJson);

// The signature appendSignature would append, without parsing `headerJson` back:
// `header` stays null, so this is for an envelope that is only serialised (the issuer's
// tokens, 10,000 for one request), never inspected.
JwsSignature signatureFor(const JwsEnvelope& jws, const Ed25519PrivateKey& key,
                          const std::string& headerJson);

}  // namespace keyturn
