#include "keyturn/approval_rules.h"

#include <algorithm>

namespace keyturn {

std::vector<Requirement> mergeRequirements(const std::vector<std::vector<Requirement>>& perDevice) {
  std::vector<Requirement> out;
  for (const auto& list : perDevice) {
    for (const auto& r : list) {
      auto it = std::find_if(out.begin(), out.end(), [&](const Requirement& o) { return o.group == r.group; });
      if (it == out.end()) out.push_back(r);
      else if (r.approvals > it->approvals) *it = r;
    }
  }
  return out;
}

std::vector<RequirementProgress> requirementProgress(const TrustBundle& bundle,
                                                     const std::vector<std::string>& approvers,
                                                     const std::vector<Requirement>& requirements) {
  std::vector<RequirementProgress> out;
  for (const auto& r : requirements) {
    RequirementProgress p{r, 0};
    for (const auto& id : approvers) {
      const BundlePrincipal* a = bundle.principalById(id);
      if (a && a->inGroup(r.group)) ++p.have;
    }
    out.push_back(p);
  }
  return out;
}

Status requirementsMet(const TrustBundle& bundle, const std::vector<std::string>& approvers,
                       const std::vector<Requirement>& requirements) {
  for (const auto& p : requirementProgress(bundle, approvers, requirements)) {
    if (!p.met())
      return Status::fail("insufficient_approvals",
                          "policy \"" + p.requirement.policy + "\" requires " + std::to_string(p.requirement.approvals) +
                              " approval(s) from \"" + p.requirement.group + "\"; " + std::to_string(p.have) + " given");
  }
  return Status::ok();
}

Status mayApprove(const TrustBundle& bundle, const std::string& requester, const std::string& principal,
                  const std::vector<std::string>& approvers, const std::vector<Requirement>& requirements) {
  if (principal == requester) return Status::fail("self_approval", "the requester cannot approve their own request");
  const BundlePrincipal* p = bundle.principalById(principal);
  if (!p) return Status::fail("unknown_principal", "\"" + principal + "\" is not a principal of the trust bundle");
  if (std::find(approvers.begin(), approvers.end(), principal) != approvers.end())
    return Status::fail("already_approved", "\"" + principal + "\" has already approved this request");
  std::string needed;
  for (const auto& progress : requirementProgress(bundle, approvers, requirements)) {
    if (progress.met()) continue;
    if (p->inGroup(progress.requirement.group)) return Status::ok();
    needed += (needed.empty() ? "" : ", ") + progress.requirement.group;
  }
  if (needed.empty()) return Status::fail("not_an_approver", "every requirement of this request is already met");
  return Status::fail("not_an_approver", "\"" + principal + "\" is in none of the groups still needed: " + needed);
}

}  // namespace keyturn
