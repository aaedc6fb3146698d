// Checks the coordinator makes on what admins send it, with the same code and reason
// codes the agent's gate uses, so nothing reaches its database that an agent would
// later refuse: a submitted request (signed by its requester), an approval, and a
// completion. Each function verifies one new signature against the current bundle.
// `memory`, when given, is asked before a signature is verified in full and remembers
// those that verify (keyturn/verified_signatures.h): the coordinator passes one so its
// re-check at completion does not redo the verifications of submission and approval.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "keyturn/bundle.h"
#include "keyturn/policy_engine.h"
#include "keyturn/result.h"
#include "keyturn/token.h"
#include "keyturn/verified_signatures.h"

namespace keyturn {

// A new request: `jws` must carry exactly one signature, the requester's, made with a
// key of principal payload.requester, verifying over the received bytes; the tenant
// and the bundle version must be the current ones; `created` within 300 s of `now`
// and `expires` still ahead; `targets` (any order) must hash to targets.root with
// targets.count entries. Reasons: malformed, unsupported_alg, requester_mismatch,
// unknown_key, bad_signature, wrong_tenant, bundle_stale, request_expired,
// not_yet_valid, targets_mismatch.
Result<Token> checkSubmission(const TrustBundle& bundle, std::string_view jws,
                              const std::vector<std::string>& targets, std::int64_t now,
                              VerifiedSignatures* memory = nullptr);

// One more signature for a stored request: `protectedB64` and `signatureB64` as the
// signer sent them. `role` is kApprover or kCompleter. The header must be that role's
// exact schema, the kid a key of `principal` (the authenticated caller), the signature
// valid over the request's payload, and kt.at within [created - 300 s, expires] and
// within 300 s of `now`. For a completer, `principal` must be the requester and kt.at
// at or after `latestApproval`. Reasons: malformed, unsupported_alg, unknown_key,
// requester_mismatch, bad_signature, request_expired.
Result<JwsSignature> checkAddedSignature(const TrustBundle& bundle, const Token& request, SignerRole role,
                                         const std::string& principal, const std::string& protectedB64,
                                         const std::string& signatureB64, std::uint64_t latestApproval,
                                         std::int64_t now, VerifiedSignatures* memory = nullptr);

// Everything a stored request carries, checked again before anything is issued for it
// (the coordinator's completion), so that a signature or an approval that reached the
// database some other way than through the checks above is refused by the coordinator
// and not only by the agent. `request` holds the stored signatures in stored order —
// the requester's first, then the approvers' — and `principals[i]` is the principal
// the coordinator recorded for signature i. Checks, in order, naming the signature in
// the detail ("approver signature 1 (principal \"bob\", kid K)"): exactly one
// requester signature, first; each kid a principal key of `bundle` (unknown_key)
// belonging to the recorded principal (requester_mismatch); each signature verifying
// over the payload (bad_signature); the requester signature by payload.requester
// (requester_mismatch); no approval by the requester (self_approval) nor two by one
// principal (already_approved); every kt.at inside the request's window
// (request_expired); every approver in a group of `requirements` (not_an_approver);
// and the approvers meeting `requirements` (insufficient_approvals).
Status recheckStoredRequest(const TrustBundle& bundle, const Token& request,
                            const std::vector<std::string>& principals,
                            const std::vector<Requirement>& requirements,
                            VerifiedSignatures* memory = nullptr);

}  // namespace keyturn
