// Test fixtures: a small tenant with admins, an issuer, signed bundles and tokens that
// tests then bend one field at a time.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "keyturn/bundle.h"
#include "keyturn/bundle_verifier.h"
#include "keyturn/ed25519.h"
#include "keyturn/jws.h"
#include "keyturn/merkle.h"
#include "keyturn/policy_engine.h"
#include "keyturn/token.h"

namespace keyturn::test {

constexpr std::int64_t kNow = 1764300000;

struct Admin {
  std::string id;
  std::vector<std::string> groups;
  std::vector<Ed25519PrivateKey> keys;
};

// Lua policies used by most gate tests: a wipe needs one device-approver, two
// hr-wipe-approvers on personal devices; "test.deny" is denied; "test.boom" errors.
std::vector<PolicySource> defaultTestPolicies();

// The same key every run, derived from `name` (test vectors and fuzz seeds rely on it).
Ed25519PrivateKey fixedKey(const std::string& name);

class Tenant {
 public:
  Tenant();
  Ed25519PrivateKey issuer;
  std::map<std::string, Admin> admins;  // alice, bob, carol, dave, erin

  // A draft of version `version` listing every admin, the issuer and `policies`.
  BundleDraft draft(std::uint64_t version, std::vector<PolicySource> policies = defaultTestPolicies()) const;
  // Signs the draft with the first key of each named admin.
  std::string sign(const BundleDraft& d, const std::vector<std::string>& signers) const;
  // Signs arbitrary payload JSON (for malformed-bundle cases).
  std::string signPayload(const std::string& payload, const std::vector<std::string>& signers) const;
  // The accepted v1 bundle (signed by alice and bob).
  AcceptedBundle v1() const;
  const Ed25519PrivateKey& key(const std::string& admin, std::size_t i = 0) const;
};

// Builds a token step by step, so a test can leave out or bend any part.
struct TokenSpec {
  std::string tenant = "contoso";
  std::string id = "r-0001";
  std::string action = "device.wipe";
  std::string paramsJson = "{\"mode\":\"full\"}";
  std::vector<std::string> targets = {"dev-1", "dev-2", "dev-3"};
  std::string requester = "alice";
  std::string justification = "User lost laptop on the train again";
  std::uint64_t created = kNow - 3600;
  std::uint64_t expires = kNow - 3600 + 30 * 86400;
  std::uint64_t bundle = 1;
  std::vector<std::string> approvers = {"bob"};  // "alice#1" signs with alice's second key
  std::string requesterSigner;                     // default: the requester
  std::string completerSigner;                     // default: the requester
  std::uint64_t requesterAt = 0;                   // 0: created + 10
  std::uint64_t approverAt = 0;                    // 0: created + 20 (+1 per approver)
  std::uint64_t completerAt = 0;                   // 0: after the last approval
  bool completed = true;
  bool issued = true;
  std::string device = "dev-2";
  std::uint64_t nbf = kNow - 60;
  std::uint64_t exp = kNow + 86400;
};

std::string makeToken(const Tenant& t, const TokenSpec& s);
// Re-encodes a token with its payload replaced (signatures then no longer verify
// unless re-signed; used for schema cases that must fail before step 5).
std::string withPayload(const std::string& token, const std::string& payloadJson);
// Appends one more signature with an arbitrary header.
std::string addSignature(const std::string& token, const Ed25519PrivateKey& key, const std::string& header);

DeviceFacts device(const std::string& id, const std::string& ownership = "corporate");

}  // namespace keyturn::test
