// Every refusal of the workflow, each with its reason and, where the request
// exists, its audit entry.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "keyturn/bundle.h"
#include "service/expiry_sweeper.h"
#include "workflow_fixture.h"

using namespace keyturn;
using namespace keyturn::server;
using namespace keyturn::server::test;

namespace {

// A corporate wipe of dev-1 and dev-2 by alice (needs one device-approver).
struct Pending : WorkflowFixture {
  std::string id = "r-1";
  Pending(const std::string& ownership = "corporate") {
    enroll("dev-1", ownership);
    enroll("dev-2", ownership);
    keyturn::test::TokenSpec spec;
    spec.id = id;
    spec.targets = {"dev-1", "dev-2"};
    auto r = submit(spec);
    INFO(why(r));
    REQUIRE(r);
  }
  std::string refusedReason() {
    auto entries = audit("request.refused", id);
    if (entries.empty()) return "";
    return json::parseObject(entries.back().detailJson).value()->getValue<std::string>("reason");
  }
};

}  // namespace

TEST_CASE("self-approval is refused even by a member of the approver group", "[workflow]") {
  Pending f;
  f.tenant.admins.at("alice");  // alice is in maa-admins and device-admins
  Status s = f.approve("alice", f.id, "I approve myself");
  CHECK(s.reason() == "self_approval");
  CHECK(f.stateOf(f.id) == "needs_approval");
  CHECK(f.refusedReason() == "self_approval");
}

TEST_CASE("an approver outside the required group is refused", "[workflow]") {
  Pending f;
  CHECK(f.approve("dave", f.id, "looks fine").reason() == "not_an_approver");
  CHECK(f.approve("erin", f.id, "looks fine").reason() == "not_an_approver");
  CHECK(f.stateOf(f.id) == "needs_approval");
  CHECK(f.refusedReason() == "not_an_approver");
}

TEST_CASE("approvals and rejections without notes are refused", "[workflow]") {
  Pending f;
  CHECK(f.approve("bob", f.id, "").reason() == "notes_required");
  CHECK(f.approve("bob", f.id, "  \n").reason() == "notes_required");
  CHECK(f.workflow->reject(*f.bundle, "bob", f.id, "").reason() == "notes_required");
  CHECK(f.stateOf(f.id) == "needs_approval");
  CHECK(f.refusedReason() == "notes_required");
}

TEST_CASE("a request without a business justification is refused", "[workflow]") {
  WorkflowFixture f;
  f.enroll("dev-1");
  keyturn::test::TokenSpec spec;
  spec.targets = {"dev-1"};
  spec.justification = "   ";
  CHECK(f.submit(spec).reason() == "justification_required");
  // An empty one is not even a valid request payload.
  CHECK(
      f.workflow->proposeBundle(*f.bundle, "alice", f.tenant.sign(f.tenant.draft(2), {"alice"}), "")
          .reason() == "justification_required");
}

TEST_CASE("completion before approval is refused", "[workflow]") {
  Pending f;
  CHECK(f.complete("alice", f.id).reason() == "not_approved");
  CHECK(f.stateOf(f.id) == "needs_approval");
  CHECK(f.refusedReason() == "not_approved");
}

TEST_CASE("completion by someone other than the requester is refused", "[workflow]") {
  Pending f;
  REQUIRE(f.approve("bob", f.id, "ok"));
  CHECK(f.complete("bob", f.id).reason() == "not_requester");
  // A completer signature by someone else, sent under alice's session, is
  // refused too.
  const auto& bob = f.tenant.key("bob");
  Signed s = signOver(bob, completerHeader(bob.publicKey().kid(), kNow), f.payloadOf(f.id));
  CHECK(f.workflow->complete(*f.bundle, "alice", f.id, s.protectedB64, s.signatureB64).reason() ==
        "requester_mismatch");
  CHECK(f.stateOf(f.id) == "approved");
}

TEST_CASE("a principal approves once", "[workflow]") {
  Pending f("personal");  // personal devices need two hr-wipe-approvers
  REQUIRE(f.approve("carol", f.id, "first"));
  CHECK(f.stateOf(f.id) == "needs_approval");
  CHECK(f.approve("carol", f.id, "again").reason() == "already_approved");
  REQUIRE(f.approve("dave", f.id, "second"));
  CHECK(f.stateOf(f.id) == "approved");
}

TEST_CASE("approval and completion after expiry are refused and the request expires",
          "[workflow]") {
  Pending f;
  f.now += 30 * 86400 + 1;
  CHECK(f.approve("bob", f.id, "late").reason() == "request_expired");
  CHECK(f.stateOf(f.id) == "expired");
  CHECK(f.audit("request.expired", f.id).size() == 1);
  auto targets = f.store->targets(f.id);
  REQUIRE(targets);
  CHECK(targets->front().state == "expired");
}

TEST_CASE("completion after expiry is refused", "[workflow]") {
  Pending f;
  REQUIRE(f.approve("bob", f.id, "ok"));
  f.now += 30 * 86400;
  CHECK(f.complete("alice", f.id).reason() == "request_expired");
  CHECK(f.stateOf(f.id) == "expired");
}

TEST_CASE("the sweep expires due requests", "[workflow]") {
  Pending f;
  auto none = f.workflow->expireDue();
  REQUIRE(none);
  CHECK(none.value() == 0);
  f.now += 31 * 86400;
  auto swept = f.workflow->expireDue();
  REQUIRE(swept);
  CHECK(swept.value() == 1);
  CHECK(f.stateOf(f.id) == "expired");
}

TEST_CASE("a target list that does not match its signed root is refused", "[workflow]") {
  WorkflowFixture f;
  for (const char* d : {"dev-1", "dev-2", "dev-3"}) f.enroll(d);
  keyturn::test::TokenSpec spec;
  spec.targets = {"dev-1", "dev-2"};
  std::string jws = f.requestJws(spec);
  CHECK(f.workflow->submit(*f.bundle, "alice", jws, {"dev-1", "dev-3"}).reason() ==
        "targets_mismatch");
  CHECK(f.workflow->submit(*f.bundle, "alice", jws, {"dev-1"}).reason() == "targets_mismatch");
  CHECK(f.stateOf(spec.id) == "missing");
  CHECK(f.audit("request.refused", spec.id).size() == 2);  // refused submissions are audited
}

TEST_CASE("targets must be enrolled devices", "[workflow]") {
  WorkflowFixture f;
  f.enroll("dev-1");
  f.enroll("dev-2");
  REQUIRE(f.store->removeDevice("dev-2", f.now, std::nullopt));
  keyturn::test::TokenSpec spec;
  spec.targets = {"dev-1", "dev-9"};
  CHECK(f.submit(spec).reason() == "unknown_device");
  spec.targets = {"dev-1", "dev-2"};
  CHECK(f.submit(spec).reason() == "unknown_device");
}

TEST_CASE("a request submitted under someone else's session is refused", "[workflow]") {
  WorkflowFixture f;
  f.enroll("dev-1");
  keyturn::test::TokenSpec spec;
  spec.targets = {"dev-1"};
  CHECK(f.workflow->submit(*f.bundle, "bob", f.requestJws(spec), {"dev-1"}).reason() ==
        "requester_mismatch");
}

TEST_CASE("cancel is the requester's alone, and only while pending", "[workflow]") {
  Pending f;
  CHECK(f.workflow->cancel("bob", f.id).reason() == "not_requester");
  CHECK(f.stateOf(f.id) == "needs_approval");
  REQUIRE(f.workflow->cancel("alice", f.id));
  CHECK(f.stateOf(f.id) == "cancelled");
  CHECK(f.workflow->cancel("alice", f.id).reason() == "wrong_state");
  CHECK(f.approve("bob", f.id, "too late").reason() == "wrong_state");
  CHECK(f.audit("request.cancelled", f.id).size() == 1);
}

TEST_CASE("a policy deny refuses the request with the policy's reason", "[workflow]") {
  WorkflowFixture f;
  f.enroll("dev-1");
  keyturn::test::TokenSpec spec;
  spec.action = "test.deny";
  spec.paramsJson = "{}";
  spec.targets = {"dev-1"};
  auto r = f.submit(spec);
  REQUIRE_FALSE(r);
  CHECK(r.reason() == "policy_denied");
  CHECK(r.detail().find("tests deny this") != std::string::npos);
  auto refused = f.audit("request.refused", spec.id);
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].detailJson.find("policy_denied") != std::string::npos);
}

TEST_CASE("one pending request per action and target set", "[workflow]") {
  Pending f;
  keyturn::test::TokenSpec spec;
  spec.id = "r-2";
  spec.targets = {"dev-2", "dev-1"};
  CHECK(f.submit(spec).reason() == "duplicate_request");
  REQUIRE(f.workflow->cancel("alice", f.id));
  CHECK(f.submit(spec));
}

TEST_CASE("a rejection with notes ends the request and the requester sees the notes",
          "[workflow]") {
  Pending f;
  CHECK(f.workflow->reject(*f.bundle, "alice", f.id, "no").reason() == "self_approval");
  CHECK(f.workflow->reject(*f.bundle, "erin", f.id, "no").reason() == "not_an_approver");
  REQUIRE(f.workflow->reject(*f.bundle, "bob", f.id, "Not without a ticket"));
  CHECK(f.stateOf(f.id) == "rejected");
  auto view = json::parseObject(f.workflow->show(*f.bundle, "alice", f.id).value()).value();
  CHECK(view->getArray("rejections")->getObject(0)->getValue<std::string>("notes") ==
        "Not without a ticket");
  CHECK(f.complete("alice", f.id).reason() == "wrong_state");
}

TEST_CASE("an approver signature that does not verify is refused", "[workflow]") {
  Pending f;
  const auto& bob = f.tenant.key("bob");
  Signed s = signOver(bob, approverHeader(bob.publicKey().kid(), kNow),
                      "e30");  // another payload
  CHECK(
      f.workflow->approve(*f.bundle, "bob", f.id, s.protectedB64, s.signatureB64, "ok").reason() ==
      "bad_signature");
  CHECK(f.refusedReason() == "bad_signature");
  CHECK(f.stateOf(f.id) == "needs_approval");
}

TEST_CASE("listings: mine, received and all with counts", "[workflow]") {
  Pending f;
  auto parse = [](const Result<std::string>& r) {
    REQUIRE(r);
    return json::parseObject(r.value()).value();
  };
  auto mine = parse(f.workflow->list(*f.bundle, "alice", RequestView::kMine, "", ""));
  CHECK(mine->getArray("requests")->size() == 1);
  auto bobReceived = parse(f.workflow->list(*f.bundle, "bob", RequestView::kReceived, "", ""));
  CHECK(bobReceived->getArray("requests")->size() == 1);
  CHECK(bobReceived->getObject("counts")->getValue<int>("received") == 1);
  auto daveReceived = parse(f.workflow->list(*f.bundle, "dave", RequestView::kReceived, "", ""));
  CHECK(daveReceived->getArray("requests")->size() == 0);
  CHECK(f.workflow->list(*f.bundle, "bob", RequestView::kAll, "", "").reason() == "forbidden");
  auto filtered = parse(f.workflow->list(*f.bundle, "alice", RequestView::kMine, "approved", ""));
  CHECK(filtered->getArray("requests")->size() == 0);
  // Someone who has nothing to do with it cannot see it.
  CHECK(f.workflow->show(*f.bundle, "erin", f.id).reason() == "not_found");
}

TEST_CASE("bundle proposals: self-approval, outsiders and stale versions are refused",
          "[workflow][bundle]") {
  WorkflowFixture f;
  CHECK(f.workflow
            ->proposeBundle(*f.bundle, "alice", f.tenant.sign(f.tenant.draft(3), {"alice"}), "skip")
            .reason() == "version_gap");
  CHECK(
      f.workflow
          ->proposeBundle(*f.bundle, "alice", f.tenant.sign(f.tenant.draft(2), {"bob"}), "not mine")
          .reason() == "requester_mismatch");
  auto id = f.workflow->proposeBundle(*f.bundle, "alice",
                                      f.tenant.sign(f.tenant.draft(2), {"alice"}), "renew");
  REQUIRE(id);
  auto sign = [&](const std::string& who) {
    const auto& k = f.tenant.key(who);
    return signOver(k, bundleSignatureHeader(k.publicKey().kid(), kNow), f.payloadOf(id.value()));
  };
  Signed a = sign("alice");
  CHECK(f.workflow->approve(*f.bundle, "alice", id.value(), a.protectedB64, a.signatureB64, "me")
            .reason() == "self_approval");
  Signed d = sign("dave");
  CHECK(f.workflow->approve(*f.bundle, "dave", id.value(), d.protectedB64, d.signatureB64, "me too")
            .reason() == "not_an_approver");
  Signed b = sign("bob");
  CHECK(f.workflow->approve(*f.bundle, "bob", id.value(), b.protectedB64, b.signatureB64, "")
            .reason() == "notes_required");
  // A second proposal for the same version while one is pending.
  CHECK(f.workflow
            ->proposeBundle(*f.bundle, "carol", f.tenant.sign(f.tenant.draft(2), {"carol"}), "mine")
            .reason() == "duplicate_request");
  CHECK(f.published == 0);
}

TEST_CASE(
    "the expiry sweeper expires due requests in the background and stops "
    "cleanly",
    "[workflow]") {
  Pending f;
  std::atomic<std::int64_t> clock{f.now};
  // The fixture's clock is a plain member; give the sweeper's thread a
  // race-free one.
  WorkflowOptions options;
  options.bundleDir = (f.dir / "bundles").string();
  Workflow wf(
      *f.store, f.tenant.issuer, options, [&clock] { return clock.load(); }, nullptr);
  {
    ExpirySweeper sweeper(wf, std::chrono::milliseconds(10), nullptr);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(f.stateOf(f.id) == "needs_approval");
    clock = f.now + 31 * 86400;
    for (int i = 0; i < 200 && f.stateOf(f.id) != "expired"; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(f.stateOf(f.id) == "expired");
  }  // the destructor stops and joins the thread
  CHECK(f.audit("request.expired", f.id).size() == 1);
}
