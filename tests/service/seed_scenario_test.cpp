// The seed scenario of issue 3 through the workflow: a policy change proposed
// by alice, approved by bob with notes, completed by alice and published; then
// a protected wipe requested with a justification, approved by bob with notes,
// completed by alice, and a token issued for exactly the targeted devices, each
// accepted by the agent's own gate for its device and refused for any other.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>

#include "keyturn/bundle.h"
#include "keyturn/crypto_util.h"
#include "keyturn/token_gate.h"
#include "workflow_fixture.h"

using namespace keyturn;
using namespace keyturn::server;
using namespace keyturn::server::test;

namespace {

// The default test policies plus an app.install policy: one device-approver.
std::vector<PolicySource> policiesV2() {
  auto p = keyturn::test::defaultTestPolicies();
  p.push_back({"apps.lua",
               "return { name = 'apps', actions = { 'app.install' },\n"
               "  evaluate = function(req, device) return { approvals = 1, "
               "group = 'device-approvers' } end }\n"});
  return p;
}

// A proposal of `d` signed by `who` only.
std::string proposal(const WorkflowFixture& f, const BundleDraft& d, const std::string& who) {
  return f.tenant.sign(d, {who});
}

}  // namespace

TEST_CASE(
    "seed scenario: a policy change is proposed, approved with notes and "
    "published",
    "[workflow][bundle]") {
  WorkflowFixture f;
  auto id = f.workflow->proposeBundle(*f.bundle, "alice",
                                      proposal(f, f.tenant.draft(2, policiesV2()), "alice"),
                                      "Protect app installs");
  INFO(why(id));
  REQUIRE(id);
  CHECK(f.stateOf(id.value()) == "needs_approval");

  // The diff names the added policy.
  auto shown = f.workflow->show(*f.bundle, "bob", id.value());
  REQUIRE(shown);
  auto view = json::parseObject(shown.value());
  REQUIRE(view);
  auto policies = view.value()->getObject("diff")->getArray("policies");
  REQUIRE(policies->size() == 1);
  CHECK(policies->getObject(0)->getValue<std::string>("file") == "apps.lua");
  CHECK(policies->getObject(0)->getValue<std::string>("change") == "added");
  CHECK(view.value()->getValue<bool>("can_approve"));

  // Completion before bob signed is refused.
  CHECK(f.workflow->complete(*f.bundle, "alice", id.value(), "", "").reason() == "not_approved");

  const auto& bob = f.tenant.key("bob");
  Signed s =
      signOver(bob, bundleSignatureHeader(bob.publicKey().kid(), kNow), f.payloadOf(id.value()));
  REQUIRE(f.workflow->approve(*f.bundle, "bob", id.value(), s.protectedB64, s.signatureB64,
                              "Reviewed the policy with the security team"));
  CHECK(f.stateOf(id.value()) == "approved");

  CHECK(f.workflow->complete(*f.bundle, "bob", id.value(), "", "").reason() == "not_requester");
  Status done = f.workflow->complete(*f.bundle, "alice", id.value(), "", "");
  INFO(why(done));
  REQUIRE(done);
  CHECK(f.stateOf(id.value()) == "completed");
  CHECK(f.published == 1);
  CHECK(f.bundle->bundle.version == 2);
  auto latest = f.store->latestBundle();
  REQUIRE(latest);
  CHECK(latest->version == 2);
  CHECK(std::filesystem::exists(latest->file));
  // The published file is what an agent accepts after v1.
  auto bytes = readFile(latest->file, kMaxBundleBytes);
  REQUIRE(bytes);
  CHECK(acceptBundleUpdate(f.tenant.v1().bundle, *bytes, AcceptOptions{kNow, true, {}}));
  CHECK(f.audit("bundle.published", "2").size() == 1);
}

TEST_CASE(
    "a proposal carries the report keyturn bundle propose prints, with the coordinator's "
    "example requests re-run under both bundles",
    "[workflow][bundle]") {
  WorkflowFixture f;
  std::filesystem::create_directories(f.dir / "policy-examples");
  REQUIRE(writeFileAtomic((f.dir / "policy-examples" / "app.json").string(),
                          R"({"name": "install htop", "request": {"action": "app.install", "requester": "alice"},)"
                          R"( "device": {"id": "dev-1", "ownership": "corporate"}})",
                          0600)
              .empty());
  REQUIRE(writeFileAtomic((f.dir / "policy-examples" / "lock.json").string(),
                          R"({"name": "lock a laptop", "request": {"action": "device.lock", "requester": "alice"},)"
                          R"( "device": {"id": "dev-1", "ownership": "corporate"}})",
                          0600)
              .empty());
  BundleDraft d = f.tenant.draft(2, policiesV2());
  d.principals.erase(std::remove_if(d.principals.begin(), d.principals.end(),
                                    [](const auto& p) { return p.id == "erin"; }),
                     d.principals.end());
  auto id = f.workflow->proposeBundle(*f.bundle, "alice", proposal(f, d, "alice"), "Protect app installs");
  REQUIRE(id);
  auto view = json::parseObject(f.workflow->show(*f.bundle, "bob", id.value()).value()).value();
  auto report = view->getObject("report");
  REQUIRE(report);
  CHECK(report->getValue<int>("from") == 1);
  CHECK(report->getValue<int>("to") == 2);
  CHECK(report->getValue<int>("examples") == 2);
  auto changed = report->getArray("examples_changed");
  REQUIRE(changed->size() == 1);  // only the install changes; the lock is decided as before
  CHECK(changed->getObject(0)->getValue<std::string>("name") == "install htop");
  CHECK(changed->getObject(0)->getValue<std::string>("before") == "no approvals needed");
  CHECK_THAT(changed->getObject(0)->getValue<std::string>("after"), Catch::Contains("device-approvers"));
  auto roster = report->getArray("roster");
  REQUIRE(roster->size() == 1);
  CHECK(roster->getElement<std::string>(0) == "principal removed: erin");
  // The text is what the CLI prints, line for line.
  std::string text = report->getValue<std::string>("text");
  CHECK_THAT(text, Catch::Contains("bundle v1 -> v2"));
  CHECK_THAT(text, Catch::Contains("added apps"));
  CHECK_THAT(text, Catch::Contains("examples: 2 evaluated from "));
}

TEST_CASE(
    "seed scenario: a protected wipe is issued for exactly its targets "
    "and the gate accepts each",
    "[workflow]") {
  WorkflowFixture f;
  for (const char* d : {"laptop-1", "laptop-2", "laptop-3", "desktop-9"}) f.enroll(d);
  keyturn::test::TokenSpec spec;
  spec.id = "r-wipe";
  spec.targets = {"laptop-2", "laptop-1", "laptop-3"};
  spec.justification = "Laptops stolen from the office";
  auto id = f.submit(spec);
  INFO(why(id));
  REQUIRE(id);
  CHECK(f.stateOf("r-wipe") == "needs_approval");

  REQUIRE(f.approve("bob", "r-wipe", "Confirmed with the user's manager"));
  CHECK(f.stateOf("r-wipe") == "approved");
  f.now += 5;
  Status done = f.complete("alice", "r-wipe");
  INFO(why(done));
  REQUIRE(done);
  CHECK(f.stateOf("r-wipe") == "completed");

  auto targets = f.store->targets("r-wipe");
  REQUIRE(targets);
  REQUIRE(targets->size() == 3);
  TokenGate gate(f.bundle->bundle, *f.bundle->engine, nullptr);
  for (const auto& t : targets.value()) {
    REQUIRE(t.token);
    CHECK(t.state == "queued");
    auto accepted = gate.check(*t.token, keyturn::test::device(t.deviceId), f.now);
    INFO(t.deviceId << ": " << why(accepted));
    CHECK(accepted);
    // The same token on a device it was not issued for is refused.
    auto other = gate.check(*t.token, keyturn::test::device("desktop-9"), f.now);
    REQUIRE_FALSE(other);
    CHECK(other.reason() == "wrong_device");
  }
  auto queued = f.store->queuedTokens("laptop-1", 0);
  REQUIRE(queued);
  CHECK(queued->size() == 1);
  auto none = f.store->queuedTokens("desktop-9", 0);
  REQUIRE(none);
  CHECK(none->empty());

  // The view shows bob's notes and the timeline.
  auto shown = f.workflow->show(*f.bundle, "alice", "r-wipe");
  REQUIRE(shown);
  auto view = json::parseObject(shown.value()).value();
  CHECK(view->getArray("approvals")->getObject(0)->getValue<std::string>("notes") ==
        "Confirmed with the user's manager");
  CHECK(view->getArray("timeline")->size() == 3);
  CHECK(f.audit("request.completed", "r-wipe").size() == 1);
}

TEST_CASE("a request that needs no approval is approved at once and can be completed",
          "[workflow]") {
  WorkflowFixture f;
  f.enroll("dev-1");
  keyturn::test::TokenSpec spec;
  spec.id = "r-lock";
  spec.action = "device.lock";
  spec.paramsJson = "{}";
  spec.targets = {"dev-1"};
  REQUIRE(f.submit(spec));
  CHECK(f.stateOf("r-lock") == "approved");
  REQUIRE(f.complete("alice", "r-lock"));
  CHECK(f.stateOf("r-lock") == "completed");
}

TEST_CASE(
    "a published bundle that removes a principal makes them unknown to "
    "the next bundle",
    "[workflow][bundle]") {
  WorkflowFixture f;
  BundleDraft d = f.tenant.draft(2);
  d.principals.erase(std::remove_if(d.principals.begin(), d.principals.end(),
                                    [](const auto& p) { return p.id == "erin"; }),
                     d.principals.end());
  auto id = f.workflow->proposeBundle(*f.bundle, "alice", proposal(f, d, "alice"), "Erin left");
  REQUIRE(id);
  auto shown = json::parseObject(f.workflow->show(*f.bundle, "carol", id.value()).value()).value();
  auto principals = shown->getObject("diff")->getArray("principals");
  REQUIRE(principals->size() == 1);
  CHECK(principals->getObject(0)->getValue<std::string>("id") == "erin");
  CHECK(principals->getObject(0)->getValue<std::string>("change") == "removed");
  const auto& carol = f.tenant.key("carol");
  Signed s = signOver(carol, bundleSignatureHeader(carol.publicKey().kid(), kNow),
                      f.payloadOf(id.value()));
  REQUIRE(f.workflow->approve(*f.bundle, "carol", id.value(), s.protectedB64, s.signatureB64,
                              "ok, HR confirmed"));
  REQUIRE(f.workflow->complete(*f.bundle, "alice", id.value(), "", ""));
  CHECK(f.bundle->bundle.principalById("erin") == nullptr);
}
