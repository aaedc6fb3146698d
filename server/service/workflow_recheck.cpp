// Workflow: what completion re-verifies before it issues or publishes anything.
// The checks at submission and approval keep bad signatures out of the database
// through the front door; this catches what reached it another way (someone with
// the data folder, a restored backup, a bug) so that the coordinator refuses
// instead of issuing tokens that only the agents would refuse. The checks are
// core's (request_checks.h, the bundle verifier), the same the agents make.
#include <algorithm>

#include "keyturn/bundle.h"
#include "keyturn/json.h"
#include "keyturn/request_checks.h"
#include "keyturn/token.h"
#include "service/workflow.h"
#include "service/workflow_internal.h"

namespace keyturn::server {
namespace {

// The stored row must say what the signed payload says: the workflow reads the
// row (requester, action, targets), the agents read the payload.
Status rowMatchesPayload(const RequestRecord& r, const RequestPayload& p) {
  auto differs = [&](const char* field, const std::string& row, const std::string& signedValue) {
    return Status::fail("stored_mismatch", std::string("the stored request's ") + field + " \"" + row +
                                         "\" is not the signed \"" + signedValue + "\"");
  };
  if (p.id != r.id) return differs("id", r.id, p.id);
  if (p.tenant != r.tenant) return differs("tenant", r.tenant, p.tenant);
  if (p.action != r.action) return differs("action", r.action, p.action);
  if (p.requester != r.requester) return differs("requester", r.requester, p.requester);
  if (toHex(p.targetRoot) != r.targetRoot) return differs("target root", r.targetRoot, toHex(p.targetRoot));
  if (static_cast<std::int64_t>(p.targetCount) != r.targetCount)
    return differs("target count", std::to_string(r.targetCount), std::to_string(p.targetCount));
  if (static_cast<std::int64_t>(p.bundle) != r.bundleVersion)
    return differs("bundle version", std::to_string(r.bundleVersion), std::to_string(p.bundle));
  return Status::ok();
}

Status recheckBundleProposal(const TrustBundle& current, const RequestRecord& r,
                             const std::vector<SignatureRecord>& stored) {
  auto candidate = TrustBundle::parse(
      workflow::envelopeJson(r.payloadB64, stored, {"requester", "approver"}));
  if (!candidate) return Status::fail(candidate.reason(), "the stored proposal: " + candidate.detail());
  std::vector<const SignatureRecord*> sigs;
  for (const auto& s : stored)
    if (s.role == "requester" || s.role == "approver") sigs.push_back(&s);
  if (sigs.empty() || sigs.front()->role != "requester" || sigs.front()->principal != r.requester)
    return Status::fail("requester_mismatch", "the stored proposal does not start with its requester's signature");
  std::vector<std::string> seen;
  std::size_t approver = 0;
  for (std::size_t i = 0; i < sigs.size(); ++i) {
    const SignatureRecord& s = *sigs[i];
    std::string name = s.role + " signature" +
                       (s.role == "approver" ? " " + std::to_string(++approver) : "") +
                       " (principal \"" + s.principal + "\", kid " + candidate->signatures[i].kid + ")";
    if (Status ok = workflow::checkBundleSignature(current, candidate.value(), i, s.principal); !ok)
      return Status::fail(ok.reason(), name + ": " + ok.detail());
    if (s.role != "approver") continue;
    if (s.principal == r.requester)
      return Status::fail("self_approval", name + ": the requester cannot approve their own proposal");
    if (std::find(seen.begin(), seen.end(), s.principal) != seen.end())
      return Status::fail("already_approved", name + ": \"" + s.principal + "\" signed twice");
    const BundlePrincipal* p = current.principalById(s.principal);
    if (p == nullptr || !p->inGroup(current.updateGroup))
      return Status::fail("not_an_approver", name + ": \"" + s.principal + "\" is not in the update group \"" +
                                                 current.updateGroup + "\"");
    seen.push_back(s.principal);
  }
  // The thresholds (current and new) are acceptBundleUpdate's, run by completeBundle
  // before anything is published.
  return Status::ok();
}

}  // namespace

Status Workflow::recheckStored(const AcceptedBundle& bundle, const Loaded& l) const {
  const RequestRecord& r = l.request;
  if (l.isBundle()) return recheckBundleProposal(bundle.bundle, r, l.signatures);
  std::vector<SignatureRecord> held;
  for (const auto& s : l.signatures)
    if (s.role == "requester" || s.role == "approver") held.push_back(s);
  auto token = parseToken(workflow::envelopeJson(r.payloadB64, held));
  if (!token) return Status::fail(token.reason(), "the stored request: " + token.detail());
  if (Status s = rowMatchesPayload(r, token->payload); !s) return s;
  auto requirements = workflow::parseRequirements(r.requirementsJson);
  if (!requirements) return requirements.status();
  std::vector<std::string> principals;
  for (const auto& s : held) principals.push_back(s.principal);
  return recheckStoredRequest(bundle.bundle, token.value(), principals, requirements.value(),
                              &verified_);
}

}  // namespace keyturn::server
