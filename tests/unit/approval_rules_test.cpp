// The approval rules shared by the agent's gate and the coordinator's workflow.
#include <catch2/catch.hpp>

#include "fixtures.h"
#include "keyturn/approval_rules.h"

using namespace keyturn;
using namespace keyturn::test;

namespace {
const TrustBundle& bundle() {
  static Tenant t;
  static AcceptedBundle b = t.v1();
  return b.bundle;
}
const std::vector<Requirement> kPersonalWipe = {{"hr-wipe-approvers", 2, "device-wipe"}};
}  // namespace

TEST_CASE("requirements of several devices merge to each group once, at its largest count", "[rules]") {
  auto merged = mergeRequirements({{{"device-approvers", 1, "a"}},
                                   {{"hr-wipe-approvers", 2, "a"}, {"device-approvers", 1, "a"}},
                                   {{"device-approvers", 2, "bulk"}}});
  REQUIRE(merged.size() == 2);
  CHECK(merged[0].group == "device-approvers");
  CHECK(merged[0].approvals == 2);
  CHECK(merged[0].policy == "bulk");
  CHECK(merged[1].group == "hr-wipe-approvers");
  CHECK(mergeRequirements({}).empty());
}

TEST_CASE("self-approval is refused even by a member of the approver group", "[rules]") {
  Status s = mayApprove(bundle(), "carol", "carol", {}, kPersonalWipe);
  CHECK(s.reason() == "self_approval");
}

TEST_CASE("an approver outside every needed group is told which groups are needed", "[rules]") {
  Status s = mayApprove(bundle(), "alice", "bob", {}, kPersonalWipe);
  CHECK(s.reason() == "not_an_approver");
  CHECK(s.detail().find("hr-wipe-approvers") != std::string::npos);
}

TEST_CASE("a principal approves once", "[rules]") {
  CHECK(mayApprove(bundle(), "alice", "carol", {}, kPersonalWipe));
  CHECK(mayApprove(bundle(), "alice", "carol", {"carol"}, kPersonalWipe).reason() == "already_approved");
}

TEST_CASE("an approval beyond what the requirements need is refused", "[rules]") {
  CHECK(mayApprove(bundle(), "alice", "dave", {"carol", "bob"}, {{"device-approvers", 1, "p"}}).reason() ==
        "not_an_approver");
}

TEST_CASE("someone the bundle does not list cannot approve", "[rules]") {
  CHECK(mayApprove(bundle(), "alice", "mallory", {}, kPersonalWipe).reason() == "unknown_principal");
}

TEST_CASE("requirements are met only by distinct approvers in the group", "[rules]") {
  CHECK(requirementsMet(bundle(), {"carol"}, kPersonalWipe).reason() == "insufficient_approvals");
  CHECK(requirementsMet(bundle(), {"carol", "bob"}, kPersonalWipe).reason() == "insufficient_approvals");
  CHECK(requirementsMet(bundle(), {"carol", "dave"}, kPersonalWipe));
  CHECK(requirementsMet(bundle(), {}, {}));
  auto progress = requirementProgress(bundle(), {"carol", "bob"}, kPersonalWipe);
  REQUIRE(progress.size() == 1);
  CHECK(progress[0].have == 1);
  CHECK_FALSE(progress[0].met());
}
