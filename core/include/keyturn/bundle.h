// The trust bundle of PROTOCOL.md section 3: roster, groups, issuer keys, roles and
// Lua policies in one signed JWS. This header covers reading one bundle (structure and
// schema, no signatures, no Lua) and writing a draft; acceptance lives in
// bundle_verifier.h.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "keyturn/crypto_util.h"
#include "keyturn/ed25519.h"
#include "keyturn/jws.h"
#include "keyturn/policy_engine.h"
#include "keyturn/result.h"

namespace keyturn {

constexpr std::size_t kMaxBundleBytes = 8u * 1024u * 1024u;

struct BundlePrincipal {
  std::string id;
  std::vector<std::string> groups;  // as listed
  std::vector<Ed25519PublicKey> keys;
  bool inGroup(const std::string& g) const;
};

struct BundleSignature {
  std::string kid;
  std::uint64_t at = 0;
  std::size_t entry = 0;  // index into envelope.signatures
};

struct TrustBundle {
  std::string tenant;
  std::uint64_t version = 0;
  std::uint64_t issued = 0;
  std::uint64_t expires = 0;
  std::vector<Ed25519PublicKey> issuers;
  std::vector<BundlePrincipal> principals;
  std::string updateGroup;
  std::uint64_t threshold = 0;
  std::map<std::string, std::vector<std::string>> roles;
  std::vector<PolicySource> policies;

  JwsEnvelope envelope;
  std::vector<BundleSignature> signatures;
  std::string fileBytes;  // exactly as received
  Digest fileSha256{};

  // Lookups by kid / id; nullptr when absent.
  const BundlePrincipal* principalByKid(const std::string& kid) const;
  const BundlePrincipal* principalById(const std::string& id) const;
  const Ed25519PublicKey* principalKey(const std::string& kid) const;
  const Ed25519PublicKey* issuerKey(const std::string& kid) const;
  std::size_t groupSize(const std::string& group) const;
  // True if some group the principal is in holds `permission` under `roles`.
  bool hasRole(const std::string& principalId, const std::string& permission) const;

  // Structure and schema only (size, envelope, members, types, key encodings,
  // thumbprints, duplicate keys and ids, thresholds, bytecode). Reasons: "malformed",
  // "unsupported_alg". No signature is checked and no Lua runs.
  static Result<TrustBundle> parse(std::string_view fileBytes);

 private:
  std::unordered_map<std::string, std::size_t> principalByKid_;
  std::unordered_map<std::string, std::size_t> principalById_;
  std::unordered_map<std::string, std::size_t> issuerByKid_;
  void buildIndexes();
  friend class BundleParser;
};

// A bundle to be drafted and then signed by admins.
struct BundleDraft {
  struct Principal {
    std::string id;
    std::vector<std::string> groups;
    std::vector<std::string> keysX;  // base64url raw public keys
  };
  std::string tenant;
  std::uint64_t version = 1;
  std::uint64_t issued = 0;
  std::uint64_t expires = 0;
  std::vector<std::string> issuersX;
  std::vector<Principal> principals;
  std::string updateGroup;
  std::uint64_t threshold = 1;
  std::map<std::string, std::vector<std::string>> roles;
  std::vector<PolicySource> policies;
};

// The payload JSON of a draft (kids computed from the keys). The result still goes
// through TrustBundle::parse when signed, so a bad draft is caught before anyone signs.
std::string bundlePayloadJson(const BundleDraft& draft);
// The protected header of a bundle signature.
std::string bundleSignatureHeader(const std::string& kid, std::uint64_t at);

}  // namespace keyturn
