// Pieces the workflow's source files share; not part of the service's
// interface.
#pragma once

#include <string>
#include <vector>

#include "keyturn/policy_engine.h"
#include "keyturn/result.h"
#include "service/workflow.h"
#include "store/records.h"

namespace keyturn::server {

// A request with every row that belongs to it.
struct Workflow::Loaded : StoredRequest {
  bool isBundle() const { return request.action == kBundleUpdateAction; }
};

namespace workflow {

// Distinct approver principals, in the order they approved.
std::vector<std::string> approvers(const std::vector<SignatureRecord>& signatures);
// The latest approver kt.at (0 when none).
std::int64_t latestApproval(const std::vector<SignatureRecord>& signatures);

// [{"group":G,"approvals":N,"policy":P}], and back (malformed text gives
// "storage": only the workflow writes it, so it cannot be a client's fault).
std::string requirementsJson(const std::vector<Requirement>& requirements);
Result<std::vector<Requirement>> parseRequirements(const std::string& text);

// {"payload":P,"signatures":[{"protected":..,"signature":..},...]} over the
// stored signatures of the given role names (all when empty), in stored order.
std::string envelopeJson(const std::string& payloadB64,
                         const std::vector<SignatureRecord>& signatures,
                         const std::vector<std::string>& roles = {});

// Signature `entry` of `candidate` (a proposed bundle): its kid is a key of
// principal `who` in the current or the proposed bundle, and it verifies over the
// proposal's bytes. Reasons: unknown_key, requester_mismatch, bad_signature.
Status checkBundleSignature(const TrustBundle& current, const TrustBundle& candidate,
                            std::size_t entry, const std::string& who);

// True when `text` holds something other than white space.
bool hasText(const std::string& text);
// Notes: required, valid UTF-8, at most kMaxNotes code points.
Status checkNotes(const std::string& notes);

// A compact JSON object text built from (key, already-encoded JSON value)
// pairs.
std::string object(const std::vector<std::pair<std::string, std::string>>& members);

// A readable diff of two bundles (policies, principals, groups, roles, keys,
// issuers, update group and threshold) as a JSON object text.
std::string bundleDiffJson(const TrustBundle& current, const TrustBundle& proposed);

}  // namespace workflow
}  // namespace keyturn::server
