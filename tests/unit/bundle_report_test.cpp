// The proposal report (keyturn/bundle_report.h): roster lines, policy diff and example
// re-runs, as text and as JSON, from two bundles' bytes.
#include <algorithm>
#include <catch2/catch.hpp>

#include "fixtures.h"
#include "keyturn/bundle_report.h"
#include "keyturn/json.h"

using namespace keyturn;
using namespace keyturn::test;

TEST_CASE("a bundle change report lists roster changes, changed policies and changed examples") {
  Tenant t;
  BundleDraft next = t.draft(2);
  next.principals.erase(std::remove_if(next.principals.begin(), next.principals.end(),
                                       [](const auto& p) { return p.id == "erin"; }),
                        next.principals.end());
  next.threshold = 3;
  next.policies.push_back({"apps.lua",
                           "return { name = 'apps', actions = { 'app.install' },\n"
                           "  evaluate = function(req, device) return { approvals = 1, group = 'device-approvers' } end }\n"});
  std::string cur = t.sign(t.draft(1), {"alice", "bob"});
  std::string prop = t.sign(next, {"alice"});
  auto ex = policykit::parseExample(
      R"({"name":"install htop","request":{"action":"app.install","requester":"alice"},"device":{"id":"d1"}})",
      "app.json");
  REQUIRE(ex);
  auto r = policykit::bundleChangeReport(cur, "v1", prop, "v2", {ex.value()}, "examples/");
  REQUIRE(r);
  CHECK(r.value().fromVersion == 1);
  CHECK(r.value().toVersion == 2);
  const auto& roster = r.value().roster;
  CHECK(std::find(roster.begin(), roster.end(), "principal removed: erin") != roster.end());
  CHECK(std::find_if(roster.begin(), roster.end(),
                     [](const std::string& l) { return l.rfind("update rule: 2 of", 0) == 0; }) != roster.end());
  REQUIRE(r.value().policies.changed.size() == 1);

  std::string text = policykit::reportText(r.value());
  CHECK_THAT(text, Catch::Contains("bundle v1 -> v2"));
  CHECK_THAT(text, Catch::Contains("added apps (apps.lua)"));
  CHECK_THAT(text, Catch::Contains("examples: 1 evaluated from examples/, 1 change"));
  CHECK_THAT(text, Catch::Contains("before: no approvals needed"));

  auto parsed = json::parseObject(policykit::reportJson(r.value()));
  REQUIRE(parsed);
  CHECK(parsed.value()->getValue<std::string>("text") == text);
  CHECK(parsed.value()->getArray("examples_changed")->size() == 1);
}

TEST_CASE("a bundle change report names the side that does not parse") {
  Tenant t;
  std::string cur = t.sign(t.draft(1), {"alice", "bob"});
  auto r = policykit::bundleChangeReport(cur, "v1", "{not json", "proposal.json", {}, "");
  REQUIRE_FALSE(r);
  CHECK(r.reason() == "malformed");
  CHECK_THAT(r.detail(), Catch::StartsWith("proposal.json: "));
}
