// The approval rules the agent's gate (PROTOCOL.md section 5, steps 10 and 14) and the
// coordinator's workflow both apply, so that the coordinator never shows a request as
// approved that an agent would refuse, nor refuses an approval an agent would count.
#pragma once

#include <string>
#include <vector>

#include "keyturn/bundle.h"
#include "keyturn/policy_engine.h"
#include "keyturn/result.h"

namespace keyturn {

// Merges the requirements of several evaluations (one per target device) into the
// list a request must meet: every distinct (group, approvals) pair once, the largest
// count kept when one group appears with several counts. Order: first appearance.
std::vector<Requirement> mergeRequirements(const std::vector<std::vector<Requirement>>& perDevice);

// How far `approvers` (distinct principal ids) meet `requirements` under `bundle`:
// for each requirement, how many of the approvers are in its group.
struct RequirementProgress {
  Requirement requirement;
  int have = 0;
  bool met() const { return have >= requirement.approvals; }
};
std::vector<RequirementProgress> requirementProgress(const TrustBundle& bundle,
                                                     const std::vector<std::string>& approvers,
                                                     const std::vector<Requirement>& requirements);

// Ok when every requirement is met by distinct approvers in its group; otherwise
// reason "insufficient_approvals" naming the first unmet requirement.
Status requirementsMet(const TrustBundle& bundle, const std::vector<std::string>& approvers,
                       const std::vector<Requirement>& requirements);

// Whether `principal` may add an approval to a request by `requester` that already has
// `approvers`: "self_approval" for the requester, "unknown_principal" for someone the
// bundle does not list, "already_approved" for a second approval by the same
// principal, "not_an_approver" when the principal is in none of the groups of an
// unmet requirement (the detail names the groups that are still needed).
Status mayApprove(const TrustBundle& bundle, const std::string& requester, const std::string& principal,
                  const std::vector<std::string>& approvers, const std::vector<Requirement>& requirements);

}  // namespace keyturn
