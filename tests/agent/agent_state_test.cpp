// The agent's durable state: journal, inbox and outbox survive a reopen, and each
// change that must be atomic is.
#include <catch2/catch.hpp>

#include "agent_state.h"
#include "temp_folder.h"

using namespace keyturn;
using namespace keyturn::agent;
using keyturn::test::TempFolder;

namespace {

Execution started(const std::string& id, bool idempotent = true) {
  Execution e;
  e.requestId = id;
  e.action = idempotent ? "device.wipe" : "script.run";
  e.paramsJson = "{}";
  e.windowEnd = 2000;
  e.idempotent = idempotent;
  e.startedAt = 1000;
  return e;
}

std::unique_ptr<AgentState> openState(const TempFolder& dir) {
  auto s = AgentState::open(dir / "agent.db");
  REQUIRE(s);
  return std::move(s).value();
}

}  // namespace

TEST_CASE("a request journaled as started is still started after the state is reopened", "[agent][state]") {
  TempFolder dir;
  {
    auto state = openState(dir);
    REQUIRE(state->addToInbox("token-bytes", 1000));
    auto inbox = state->inbox();
    REQUIRE(inbox->size() == 1);
    REQUIRE(state->recordStarted(started("r-1"), inbox.value()[0].key));
  }
  auto state = openState(dir);
  CHECK(state->inbox()->empty());  // the token left the inbox in the same transaction
  auto open = state->unfinished();
  REQUIRE(open);
  REQUIRE(open->size() == 1);
  CHECK(open.value()[0].requestId == "r-1");
  CHECK(open.value()[0].tries == 1);
  CHECK(open.value()[0].state == "started");
}

TEST_CASE("a request id is journaled once: a second start is refused as known", "[agent][state]") {
  TempFolder dir;
  auto state = openState(dir);
  REQUIRE(state->recordStarted(started("r-1"), ""));
  Status again = state->recordStarted(started("r-1"), "");
  REQUIRE_FALSE(again);
  CHECK(again.reason() == "known");
}

TEST_CASE("the same token received twice is kept once in the inbox", "[agent][state]") {
  TempFolder dir;
  auto state = openState(dir);
  REQUIRE(state->addToInbox("a", 1));
  REQUIRE(state->addToInbox("b", 2));
  REQUIRE(state->addToInbox("a", 3));
  auto inbox = state->inbox();
  REQUIRE(inbox->size() == 2);
  CHECK(inbox.value()[0].token == "a");
  CHECK(inbox.value()[1].token == "b");
}

TEST_CASE("a finished execution queues its result until the coordinator acknowledges it", "[agent][state]") {
  TempFolder dir;
  {
    auto state = openState(dir);
    REQUIRE(state->recordStarted(started("r-1"), ""));
    REQUIRE(state->recordFinished(OutboxResult{"r-1", "succeeded", 0, "done", 1100}));
    auto counts = state->counts();
    CHECK(counts->running == 0);
    CHECK(counts->executed == 1);
    CHECK(counts->outbox == 1);
  }
  auto state = openState(dir);  // survives a restart unacknowledged
  auto pending = state->pendingResults(100);
  REQUIRE(pending->size() == 1);
  CHECK(pending.value()[0].state == "succeeded");
  CHECK(pending.value()[0].exitCode == 0);
  REQUIRE(state->acknowledge({"r-1"}, 1200));
  CHECK(state->pendingResults(100)->empty());
  CHECK(state->counts()->outbox == 0);
}

TEST_CASE("a refusal keeps the first result, but a real execution replaces a refusal", "[agent][state]") {
  TempFolder dir;
  auto state = openState(dir);
  REQUIRE(state->recordResult(OutboxResult{"r-1", "failed", std::nullopt, "refused: wrong_device", 10}, ""));
  REQUIRE(state->recordResult(OutboxResult{"r-1", "failed", std::nullopt, "refused: other", 11}, ""));
  CHECK(state->pendingResults(10).value()[0].output == "refused: wrong_device");
  REQUIRE(state->recordStarted(started("r-1"), ""));
  REQUIRE(state->recordFinished(OutboxResult{"r-1", "succeeded", std::nullopt, "wiped", 12}));
  auto pending = state->pendingResults(10);
  REQUIRE(pending->size() == 1);
  CHECK(pending.value()[0].state == "succeeded");
}

TEST_CASE("a result the coordinator refuses for good is kept aside and not sent again", "[agent][state]") {
  TempFolder dir;
  auto state = openState(dir);
  REQUIRE(state->recordResult(OutboxResult{"r-1", "failed", std::nullopt, "x", 10}, ""));
  REQUIRE(state->recordResult(OutboxResult{"r-2", "failed", std::nullopt, "y", 11}, ""));
  REQUIRE(state->markUndeliverable("r-1", "409 conflict"));
  auto pending = state->pendingResults(10);
  REQUIRE(pending->size() == 1);
  CHECK(pending.value()[0].requestId == "r-2");
  CHECK(state->counts()->undeliverable == 1);
}

TEST_CASE("retries of an interrupted execution are counted durably", "[agent][state]") {
  TempFolder dir;
  auto state = openState(dir);
  REQUIRE(state->recordStarted(started("r-1"), ""));
  REQUIRE(state->recordRetry("r-1"));
  REQUIRE(state->recordRetry("r-1"));
  auto e = state->execution("r-1");
  REQUIRE(e);
  REQUIRE(e.value());
  CHECK(e.value()->tries == 3);
  CHECK(state->execution("r-unknown").value() == std::nullopt);
}

TEST_CASE("last contact is kept in the state's meta table", "[agent][state]") {
  TempFolder dir;
  auto state = openState(dir);
  CHECK_FALSE(state->meta("last_contact"));
  REQUIRE(state->setMeta("last_contact", "1000"));
  REQUIRE(state->setMeta("last_contact", "1060"));
  CHECK(state->meta("last_contact") == "1060");
}
