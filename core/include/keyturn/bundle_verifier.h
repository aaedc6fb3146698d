// Acceptance of trust bundles, PROTOCOL.md section 3: `trust init` (trust on first use)
// and `trust update` (version N+1, signed by the old and the new thresholds). Each
// function runs the checks in the spec's order and fails with the first failing
// check's reason code.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "keyturn/bundle.h"
#include "keyturn/policy_engine.h"
#include "keyturn/result.h"

namespace keyturn {

struct AcceptedBundle {
  TrustBundle bundle;
  std::unique_ptr<PolicyEngine> engine;  // the bundle's policies, loaded in the sandbox
};

struct AcceptOptions {
  std::int64_t now = 0;
  bool checkExpiry = true;   // false when re-verifying a stored bundle at load
  PolicyLimits limits{};
};

// First bundle: digest_mismatch (when expectSha256Hex is given), malformed,
// unsupported_alg, unknown_key, bad_signature, threshold_not_met, bundle_expired,
// policy_error. (`already_initialized` is the store's to say.)
Result<AcceptedBundle> acceptInitialBundle(std::string_view fileBytes,
                                           const std::optional<std::string>& expectSha256Hex,
                                           const AcceptOptions& options);

// Next bundle after `current`: malformed, unsupported_alg, wrong_tenant, rollback,
// version_gap, unknown_key, bad_signature, threshold_not_met, bundle_expired,
// policy_error.
Result<AcceptedBundle> acceptBundleUpdate(const TrustBundle& current, std::string_view fileBytes,
                                          const AcceptOptions& options);

}  // namespace keyturn
