// Ed25519 keys (RFC 8032) through OpenSSL 3 EVP, in the forms PROTOCOL.md uses:
// the raw 32-byte public key as base64url `x`, and the RFC 7638 JWK thumbprint as `kid`.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "keyturn/result.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace keyturn {

using RawPublicKey = std::array<std::uint8_t, 32>;
using Signature = std::array<std::uint8_t, 64>;

class Ed25519PublicKey {
 public:
  // Accepts exactly 32 bytes; refuses the identity and the small-order points (in any
  // of their encodings, the sign bit ignored) with reason "malformed".
  static Result<Ed25519PublicKey> fromRaw(const std::uint8_t* raw, std::size_t size);
  // Decodes strict base64url first.
  static Result<Ed25519PublicKey> fromX(std::string_view x);

  const RawPublicKey& raw() const { return raw_; }
  std::string x() const;
  // RFC 7638 thumbprint of {"crv":"Ed25519","kty":"OKP","x":...}, base64url.
  const std::string& kid() const { return kid_; }
  // The public JWK: {"crv":"Ed25519","kid":...,"kty":"OKP","x":...}.
  std::string jwk() const;

  // One-shot EdDSA verification of `signature` over `message`.
  bool verify(std::string_view message, const std::uint8_t* signature, std::size_t size) const;

 private:
  Ed25519PublicKey() = default;
  RawPublicKey raw_{};
  std::string kid_;
  std::shared_ptr<EVP_PKEY> key_;
};

class Ed25519PrivateKey {
 public:
  static Ed25519PrivateKey generate();
  // A key from its 32-byte RFC 8032 seed. For test vectors and fuzzing fixtures, which
  // need the same key every run; never for real keys.
  static Ed25519PrivateKey fromSeed(const std::array<std::uint8_t, 32>& seed);
  // Loads a PKCS#8 PEM file. Refuses a file that group or others may read (reason
  // "insecure_permissions"), a non-Ed25519 key, or an unreadable file ("io").
  static Result<Ed25519PrivateKey> load(const std::string& path);
  static Result<Ed25519PrivateKey> fromPem(std::string_view pem);
  // Writes PKCS#8 PEM with mode 0600, atomically. Refuses to replace an existing file
  // unless `overwrite`.
  Status save(const std::string& path, bool overwrite = false) const;
  std::string pem() const;

  Signature sign(std::string_view message) const;
  const Ed25519PublicKey& publicKey() const { return public_; }

 private:
  Ed25519PrivateKey(std::shared_ptr<EVP_PKEY> key, Ed25519PublicKey pub)
      : key_(std::move(key)), public_(std::move(pub)) {}
  std::shared_ptr<EVP_PKEY> key_;
  Ed25519PublicKey public_;
};

// The thumbprint of a raw key, without building a key object.
std::string jwkThumbprint(std::string_view x);

}  // namespace keyturn
