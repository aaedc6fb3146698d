// SqliteStore: request lifecycle rows, optimistic state changes, delivery and results.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "store_fixture.h"

using namespace keyturn::server;
using test::sampleRequest;
using test::sampleSignature;

namespace {

void submit(Store& store, const std::string& id, const std::string& root = "root-1") {
  auto s = store.insertRequest(sampleRequest(id, root), {"laptop-1", "laptop-2"},
                               sampleSignature(id, "requester", "alice", 1000),
                               AuditEvent{"alice", "request.submitted", id, "{}"});
  INFO((s ? std::string() : s.detail()));
  REQUIRE(s.isOk());
}

void approveAndComplete(Store& store, const std::string& id) {
  REQUIRE(store.addApproval(sampleSignature(id, "approver", "bob", 1100), state::kNeedsApproval,
                            std::string(state::kApproved), std::nullopt)
              .isOk());
  REQUIRE(store.completeRequest(sampleSignature(id, "completer", "alice", 1200),
                                {{"laptop-1", "token-1"}, {"laptop-2", "token-2"}},
                                AuditEvent{"alice", "request.completed", id, "{}"})
              .isOk());
}

}  // namespace

TEST_CASE("request lifecycle rows round-trip") {
  test::TempDir dir;
  auto store = test::openStore(dir);
  submit(*store, "r-1");

  auto got = store->getRequest("r-1");
  REQUIRE(got.isOk());
  const auto want = sampleRequest("r-1");
  CHECK(got->tenant == want.tenant);
  CHECK(got->paramsJson == want.paramsJson);
  CHECK(got->justification == want.justification);
  CHECK(got->expires == want.expires);
  CHECK(got->targetRoot == want.targetRoot);
  CHECK(got->payloadB64 == want.payloadB64);
  CHECK(got->requirementsJson == want.requirementsJson);
  CHECK(got->state == "needs_approval");

  auto targets = store->targets("r-1");
  REQUIRE(targets.isOk());
  REQUIRE(targets->size() == 2);
  CHECK(targets.value()[1].deviceId == "laptop-2");
  CHECK(targets.value()[1].idx == 1);
  CHECK_FALSE(targets.value()[1].token.has_value());

  approveAndComplete(*store, "r-1");
  CHECK(store->getRequest("r-1")->state == "completed");
  auto sigs = store->signatures("r-1");
  REQUIRE(sigs.isOk());
  REQUIRE(sigs->size() == 3);
  CHECK(sigs.value()[0].role == "requester");
  CHECK(sigs.value()[1].role == "approver");
  CHECK(sigs.value()[1].notes == "checked with the user");
  CHECK(sigs.value()[2].role == "completer");
  CHECK(store->targets("r-1")->at(0).token == std::optional<std::string>("token-1"));

  auto mine = store->listRequests(RequestFilter{std::string("alice"), std::nullopt,
                                                std::nullopt, 100, 0, std::nullopt,
                                                std::nullopt});
  REQUIRE(mine.isOk());
  CHECK(mine->size() == 1);
  auto pending = store->listRequests(RequestFilter{std::nullopt, std::string("needs_approval"),
                                                   std::nullopt, 100, 0, std::nullopt,
                                                   std::nullopt});
  REQUIRE(pending.isOk());
  CHECK(pending->empty());
}

TEST_CASE("a rejection is stored with its notes and ends the request") {
  test::TempDir dir;
  auto store = test::openStore(dir);
  submit(*store, "r-1");
  REQUIRE(store->addRejection({"r-1", "bob", "not approved by the user", 1100},
                              state::kNeedsApproval, std::nullopt)
              .isOk());
  CHECK(store->getRequest("r-1")->state == "rejected");
  auto rej = store->rejections("r-1");
  REQUIRE(rej.isOk());
  REQUIRE(rej->size() == 1);
  CHECK(rej->front().notes == "not approved by the user");
}

TEST_CASE("an optimistic state change from a stale state is refused") {
  test::TempDir dir;
  auto store = test::openStore(dir);
  submit(*store, "r-1");
  auto expired = store->expireDue(1000 + 31 * 86400);
  REQUIRE(expired.isOk());
  CHECK(expired.value() == std::vector<std::string>{"r-1"});

  // The approval was decided while the request looked pending; it must not land.
  auto late = store->addApproval(sampleSignature("r-1", "approver", "bob", 1100),
                                 state::kNeedsApproval, std::string(state::kApproved),
                                 std::nullopt);
  REQUIRE_FALSE(late.isOk());
  CHECK(late.reason() == "state_changed");
  CHECK(store->signatures("r-1")->size() == 1);

  auto cancel = store->setState("r-1", state::kNeedsApproval, state::kCancelled, 1200, std::nullopt);
  REQUIRE_FALSE(cancel.isOk());
  CHECK(cancel.reason() == "state_changed");
  CHECK(store->getRequest("r-1")->state == "expired");
  CHECK(store->setState("nope", state::kNeedsApproval, state::kCancelled, 1200, std::nullopt)
            .reason() == "not_found");
}

TEST_CASE("a principal approves once and one request per target set is pending") {
  test::TempDir dir;
  auto store = test::openStore(dir);
  submit(*store, "r-1");
  REQUIRE(store->addApproval(sampleSignature("r-1", "approver", "bob", 1100),
                             state::kNeedsApproval, std::nullopt, std::nullopt)
              .isOk());
  auto again = store->addApproval(sampleSignature("r-1", "approver", "bob", 1101),
                                  state::kNeedsApproval, std::nullopt, std::nullopt);
  CHECK(again.reason() == "conflict");

  auto twin = store->insertRequest(sampleRequest("r-2"), {"laptop-1", "laptop-2"},
                                   sampleSignature("r-2", "requester", "alice", 1000),
                                   std::nullopt);
  CHECK(twin.reason() == "conflict");
  submit(*store, "r-3", "another-root");
}

TEST_CASE("completion needs a token for every target and an approved request") {
  test::TempDir dir;
  auto store = test::openStore(dir);
  submit(*store, "r-1");
  auto early = store->completeRequest(sampleSignature("r-1", "completer", "alice", 1200),
                                      {{"laptop-1", "t1"}, {"laptop-2", "t2"}}, std::nullopt);
  CHECK(early.reason() == "state_changed");
  REQUIRE(store->setState("r-1", state::kNeedsApproval, state::kApproved, 1100, std::nullopt).isOk());
  auto partial = store->completeRequest(sampleSignature("r-1", "completer", "alice", 1200),
                                        {{"laptop-1", "t1"}, {"laptop-9", "t9"}}, std::nullopt);
  CHECK(partial.reason() == "conflict");
  CHECK(store->getRequest("r-1")->state == "approved");
  CHECK(store->targets("r-1")->at(0).token == std::nullopt);  // rolled back
}

TEST_CASE("queued tokens are delivered to exactly their device, and again only after a lease") {
  test::TempDir dir;
  auto store = test::openStore(dir);
  submit(*store, "r-1");
  CHECK(store->queuedTokens("laptop-1", 0)->empty());  // nothing before completion
  approveAndComplete(*store, "r-1");
  auto queued = store->queuedTokens("laptop-1", 0);
  REQUIRE(queued.isOk());
  REQUIRE(queued->size() == 1);
  CHECK(queued->front().token == std::optional<std::string>("token-1"));
  CHECK(store->queuedTokens("laptop-3", 0)->empty());
  REQUIRE(store->markDelivered("r-1", "laptop-1", 1300, std::nullopt).isOk());
  // Delivered at 1300: not sent again while the lease runs...
  CHECK(store->queuedTokens("laptop-1", 1299)->empty());
  // ...but sent again once it is over, since no result came back (a lost reply).
  REQUIRE(store->queuedTokens("laptop-1", 1300)->size() == 1);
  CHECK(store->targets("r-1")->at(0).state == "delivered");
  // Delivering again starts a new lease.
  REQUIRE(store->markDelivered("r-1", "laptop-1", 1400, std::nullopt).isOk());
  CHECK(store->queuedTokens("laptop-1", 1350)->empty());
  // Once the device reported a result, the token is never sent again.
  REQUIRE(store->recordResult("r-1", "laptop-1", "succeeded", "{}", 1410, std::nullopt).isOk());
  CHECK(store->queuedTokens("laptop-1", 5000)->empty());
  CHECK(store->markDelivered("r-1", "laptop-3", 1300, std::nullopt).reason() == "not_found");
}

TEST_CASE("execution results are idempotent on device and request") {
  test::TempDir dir;
  auto store = test::openStore(dir);
  submit(*store, "r-1");
  CHECK(store->recordResult("r-1", "laptop-1", "succeeded", "{}", 1250, std::nullopt).reason() ==
        "state_changed");  // no token was issued yet
  approveAndComplete(*store, "r-1");

  const std::string result = R"({"exit":0})";
  auto first = store->recordResult("r-1", "laptop-1", "succeeded", result, 1400,
                                   AuditEvent{"device:laptop-1", "execution.result", "r-1", result});
  REQUIRE(first.isOk());
  CHECK(first.value() == true);
  auto retry = store->recordResult("r-1", "laptop-1", "succeeded", result, 1401,
                                   AuditEvent{"device:laptop-1", "execution.result", "r-1", result});
  REQUIRE(retry.isOk());
  CHECK(retry.value() == false);
  CHECK(store->listAudit(1, 100)->size() == 3);  // submitted, completed, one result

  auto differing = store->recordResult("r-1", "laptop-1", "failed", "{}", 1402, std::nullopt);
  CHECK(differing.reason() == "conflict");
  CHECK(store->recordResult("r-1", "laptop-1", "expired", "{}", 1402, std::nullopt).reason() ==
        "invalid_argument");
  CHECK(store->targets("r-1")->at(0).state == "succeeded");
}

TEST_CASE("devices, single-use enrollment codes, challenges and sessions") {
  test::TempDir dir;
  auto store = test::openStore(dir);
  REQUIRE(store->insertEnrollmentCode({"hash-1", "carol", 100, 200, std::nullopt, std::nullopt},
                                      std::nullopt)
              .isOk());
  CHECK(store->consumeEnrollmentCode("hash-1", "laptop-1", 250).reason() == "not_found");
  auto used = store->consumeEnrollmentCode("hash-1", "laptop-1", 150);
  REQUIRE(used.isOk());
  CHECK(used->createdBy == "carol");
  CHECK(store->consumeEnrollmentCode("hash-1", "laptop-2", 151).reason() == "not_found");

  REQUIRE(store->insertDevice({"laptop-1", "fp", R"({"os":"linux"})", 150, {}, {}, {}, {}, {}}, std::nullopt)
              .isOk());
  REQUIRE(store->touchDevice("laptop-1", 160).isOk());
  CHECK(store->getDevice("laptop-1")->lastContact == std::optional<std::int64_t>(160));
  REQUIRE(store->removeDevice("laptop-1", 170, std::nullopt).isOk());
  CHECK(store->listDevices(false)->empty());
  CHECK(store->listDevices(true)->size() == 1);
  CHECK(store->removeDevice("laptop-1", 171, std::nullopt).reason() == "not_found");

  REQUIRE(store->insertChallenge({"ch-1", "alice", 500}).isOk());
  CHECK(store->consumeChallenge("ch-1", 400)->principal == "alice");
  CHECK(store->consumeChallenge("ch-1", 401).reason() == "not_found");
  REQUIRE(store->insertSession({"tok-1", "alice", 400, 1300}).isOk());
  CHECK(store->getSession("tok-1", 1000)->principal == "alice");
  CHECK(store->getSession("tok-1", 1300).reason() == "not_found");
  CHECK(store->purgeExpired(2000).value() == 1);

  CHECK(store->latestBundle().reason() == "not_found");
  REQUIRE(store->insertBundle({1, "ab", "bundles/1.json", 10}, std::nullopt).isOk());
  REQUIRE(store->insertBundle({2, "cd", "bundles/2.json", 20}, std::nullopt).isOk());
  CHECK(store->latestBundle()->version == 2);
  CHECK(store->bundlesFrom(2)->size() == 1);
}

TEST_CASE("a store on a read-only path returns a clear error instead of throwing") {
  test::TempDir dir;
  // A path below a regular file can never be created, even by root.
  { std::ofstream(dir.file("plain-file")) << "x"; }
  auto store = SqliteStore::open(dir.file("plain-file") + "/keyturn.sqlite");
  REQUIRE_FALSE(store.isOk());
  CHECK(store.reason() == "storage");
  CHECK_THAT(store.detail(), Catch::Contains("plain-file/keyturn.sqlite"));

  auto proc = SqliteStore::open("/proc/keyturn.sqlite");  // a read-only file system
  REQUIRE_FALSE(proc.isOk());
  CHECK(proc.reason() == "storage");
}

TEST_CASE("reads answer from committed data while another write transaction is open") {
  // What a commit in progress looks like to the store's reader connection: a writer
  // has changed a request but not committed. Reads neither wait for it nor see it.
  test::TempDir dir;
  auto store = test::openStore(dir);
  submit(*store, "r-1");
  sqlite3* writer = nullptr;
  REQUIRE(sqlite3_open(dir.file("keyturn.sqlite").c_str(), &writer) == SQLITE_OK);
  REQUIRE(sqlite3_exec(writer,
                       "BEGIN IMMEDIATE; UPDATE requests SET state = 'cancelled' WHERE id = 'r-1'",
                       nullptr, nullptr, nullptr) == SQLITE_OK);

  auto during = store->getRequest("r-1");
  REQUIRE(during.isOk());
  CHECK(during->state == state::kNeedsApproval);
  auto targets = store->targets("r-1");
  REQUIRE(targets.isOk());
  CHECK(targets->size() == 2);

  REQUIRE(sqlite3_exec(writer, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(writer);
  auto after = store->getRequest("r-1");
  REQUIRE(after.isOk());
  CHECK(after->state == state::kCancelled);  // committed: the next read sees it
}

TEST_CASE("a request loads with its signatures, rejections and targets in one read") {
  test::TempDir dir;
  auto store = test::openStore(dir);
  submit(*store, "r-1");
  approveAndComplete(*store, "r-1");

  auto loaded = store->loadRequest("r-1");
  REQUIRE(loaded.isOk());
  CHECK(loaded->request.id == "r-1");
  CHECK(loaded->request.state == state::kCompleted);
  REQUIRE(loaded->signatures.size() == 3);
  CHECK(loaded->signatures[0].role == "requester");
  CHECK(loaded->signatures[1].principal == "bob");
  CHECK(loaded->signatures[2].role == "completer");
  CHECK(loaded->rejections.empty());
  REQUIRE(loaded->targets.size() == 2);
  CHECK(loaded->targets[0].deviceId == "laptop-1");
  CHECK(loaded->targets[1].token == std::optional<std::string>("token-2"));

  auto missing = store->loadRequest("r-404");
  REQUIRE_FALSE(missing.isOk());
  CHECK(missing.reason() == "not_found");
}

TEST_CASE("the signatures of a page of requests come in one read, per request, in order") {
  test::TempDir dir;
  auto store = test::openStore(dir);
  submit(*store, "r-1", "root-1");
  submit(*store, "r-2", "root-2");
  approveAndComplete(*store, "r-2");

  auto got = store->signaturesOf({"r-1", "r-2", "r-404", "x\"],[\"r-1"});
  REQUIRE(got.isOk());
  CHECK(got->size() == 4);  // every id asked for is there, even without signatures
  REQUIRE(got->at("r-1").size() == 1);
  CHECK(got->at("r-1")[0].role == "requester");
  REQUIRE(got->at("r-2").size() == 3);
  CHECK(got->at("r-2")[0].role == "requester");
  CHECK(got->at("r-2")[1].role == "approver");
  CHECK(got->at("r-2")[2].role == "completer");
  CHECK(got->at("r-404").empty());
  CHECK(got->at("x\"],[\"r-1").empty());  // an id is one JSON string, never more ids
  CHECK(store->signaturesOf({})->empty());
}
