// The notification outbox in the store: events written with the change they announce
// (or not at all), once per id; deliveries once per idempotency key; outcomes recorded
// only on pending deliveries; status counts.
#include <catch2/catch.hpp>

#include "store_fixture.h"

using namespace keyturn::server;
using namespace keyturn::server::test;

namespace {

NotificationEvent event(const std::string& id, std::int64_t at = 1000) {
  return NotificationEvent{id, "request.submitted", "r-1", "[\"bob\"]", "{\"request\":\"r-1\"}", at};
}

NotificationDelivery delivery(const std::string& key, const std::string& eventId,
                              std::int64_t next = 1000) {
  NotificationDelivery d;
  d.idempotencyKey = key;
  d.eventId = eventId;
  d.recipient = "bob";
  d.channel = "mail";
  d.nextAttempt = next;
  d.updated = 1000;
  return d;
}

}  // namespace

TEST_CASE("events ride on the change's transaction: written with it or not at all", "[outbox]") {
  TempDir dir;
  auto store = openStore(dir);
  RequestRecord r = sampleRequest("r-1");
  OptionalAudit effects{AuditEvent{"alice", "request.submitted", "r-1", "{}"},
                        {event("r-1:request.submitted")}};
  REQUIRE(store->insertRequest(r, {"dev-1"}, sampleSignature("r-1", "requester", "alice", 1000),
                               effects));
  auto pending = store->eventsToFanOut(10);
  REQUIRE(pending);
  REQUIRE(pending->size() == 1);
  CHECK(pending->front().id == "r-1:request.submitted");
  CHECK(pending->front().recipientsJson == "[\"bob\"]");

  // A change that fails (duplicate pending request) leaves no event behind.
  RequestRecord dup = sampleRequest("r-2");  // same target root
  OptionalAudit dupEffects{AuditEvent{"alice", "request.submitted", "r-2", "{}"},
                           {event("r-2:request.submitted")}};
  auto s = store->insertRequest(dup, {"dev-1"}, sampleSignature("r-2", "requester", "alice", 1000),
                                dupEffects);
  CHECK(s.reason() == "conflict");
  CHECK(store->eventsToFanOut(10)->size() == 1);
}

TEST_CASE("an event id is written once and a delivery key once", "[outbox]") {
  TempDir dir;
  auto store = openStore(dir);
  auto n = store->insertNotifications({event("e-1"), event("e-2")});
  REQUIRE(n);
  CHECK(n.value() == 2);
  auto again = store->insertNotifications({event("e-1"), event("e-3")});
  REQUIRE(again);
  CHECK(again.value() == 1);
  CHECK(store->eventsToFanOut(10)->size() == 3);

  REQUIRE(store->fanOut({{"e-1", {delivery("k-1", "e-1"), delivery("k-2", "e-1")}}}));
  // Fanning out an event twice adds nothing.
  REQUIRE(store->fanOut({{"e-1", {delivery("k-3", "e-1")}}}));
  // A delivery that names another event is refused, and nothing of the batch is written.
  CHECK(store->fanOut({{"e-3", {delivery("k-5", "e-3")}}, {"e-2", {delivery("k-4", "e-1")}}})
            .reason() == "invalid_argument");
  // The same key from another event's fan-out is skipped, not duplicated.
  REQUIRE(store->fanOut({{"e-2", {delivery("k-1", "e-2")}}}));
  auto due = store->dueDeliveries(1000, 10);
  REQUIRE(due);
  REQUIRE(due->size() == 2);
  CHECK(due->at(0).event.id == "e-1");
  CHECK(store->eventsToFanOut(10)->size() == 1);  // e-3
}

TEST_CASE("outcomes are recorded on pending deliveries only and retries wait their time",
          "[outbox]") {
  TempDir dir;
  auto store = openStore(dir);
  REQUIRE(store->insertNotifications({event("e-1")}));
  REQUIRE(store->fanOut({{"e-1", {delivery("k-1", "e-1"), delivery("k-2", "e-1")}}}));

  auto retry = delivery("k-1", "e-1", 1060);
  retry.attempts = 1;
  retry.lastError = "HTTP 503 from https://hooks.example:443";
  retry.updated = 1001;
  REQUIRE(store->recordDeliveryAttempt(
      retry, AuditEvent{"coordinator", "notification.failed", "e-1", "{\"final\":false}"}));
  auto due = store->dueDeliveries(1001, 10);
  REQUIRE(due->size() == 1);  // k-1 waits until 1060
  CHECK(due->front().delivery.idempotencyKey == "k-2");
  CHECK(store->dueDeliveries(1060, 10)->size() == 2);

  auto sent = delivery("k-2", "e-1");
  sent.state = delivery_state::kSent;
  sent.attempts = 1;
  sent.sentAt = 1002;
  sent.updated = 1002;
  REQUIRE(store->recordDeliveryAttempt(sent, std::nullopt));
  // Sent is final: a second outcome for it is refused, so nothing is sent twice.
  CHECK(store->recordDeliveryAttempt(sent, std::nullopt).reason() == "state_changed");
  CHECK(store->dueDeliveries(5000, 10)->size() == 1);

  auto status = store->outboxStatus(10);
  REQUIRE(status);
  CHECK(status->pending == 1);
  CHECK(status->retrying == 1);
  CHECK(status->sent == 1);
  CHECK(status->failed == 0);
  CHECK(status->oldestPending == 1000);
  REQUIRE(status->recentFailures.size() == 1);
  CHECK(status->recentFailures.front().lastError == "HTTP 503 from https://hooks.example:443");

  auto gaveUp = retry;
  gaveUp.state = delivery_state::kFailed;
  gaveUp.attempts = 2;
  gaveUp.updated = 1070;
  REQUIRE(store->recordDeliveryAttempt(gaveUp, std::nullopt));
  status = store->outboxStatus(10);
  CHECK(status->pending == 0);
  CHECK(status->failed == 1);
  CHECK_FALSE(status->oldestPending.has_value());
  // The first failure was audited with the attempt.
  auto audit = store->listAudit(1, 10);
  REQUIRE(audit);
  REQUIRE(audit->size() == 1);
  CHECK(audit->front().event == "notification.failed");

  auto bad = sent;
  bad.state = "lost";
  CHECK(store->recordDeliveryAttempt(bad, std::nullopt).reason() == "invalid_argument");
  // A batch of outcomes skips rows that are no longer pending instead of failing.
  REQUIRE(store->insertNotifications({event("e-9")}));
  REQUIRE(store->fanOut({{"e-9", {delivery("k-9", "e-9")}}}));
  auto nine = delivery("k-9", "e-9");
  nine.state = delivery_state::kSent;
  nine.attempts = 1;
  nine.sentAt = 1100;
  nine.updated = 1100;
  REQUIRE(store->recordDeliveryAttempts({{sent, std::nullopt}, {nine, std::nullopt}}));
  CHECK(store->outboxStatus(10)->sent == 2);
}

namespace {

// Records the final outcome `state` of delivery `key` at `at`.
void finish(SqliteStore& store, const std::string& key, const std::string& eventId,
            const std::string& state, std::int64_t at) {
  auto d = delivery(key, eventId);
  d.state = state;
  d.attempts = 1;
  if (state == delivery_state::kSent) d.sentAt = at;
  d.lastError = state == delivery_state::kFailed ? "HTTP 401 from https://hooks.example:443" : "";
  d.updated = at;
  REQUIRE(store.recordDeliveryAttempt(d, std::nullopt));
}

}  // namespace

TEST_CASE("retention deletes sent and failed deliveries past their age, never pending ones, and "
          "keeps event ids",
          "[outbox][retention]") {
  TempDir dir;
  auto store = openStore(dir);
  REQUIRE(store->insertNotifications({event("e-old", 1000), event("e-pending", 1000),
                                      event("e-new", 5000)}));
  REQUIRE(store->fanOut({{"e-old", {delivery("k-sent", "e-old"), delivery("k-failed", "e-old")}},
                         {"e-pending", {delivery("k-pending", "e-pending")}},
                         {"e-new", {delivery("k-new", "e-new")}}}));
  finish(*store, "k-sent", "e-old", delivery_state::kSent, 2000);
  finish(*store, "k-failed", "e-old", delivery_state::kFailed, 2000);
  finish(*store, "k-new", "e-new", delivery_state::kSent, 9000);

  // Sent before 5000 go; failed ones are kept longer (before 1500 only).
  auto n = store->pruneOutbox(5000, 1500, 100);
  REQUIRE(n);
  CHECK(n->first == 1);   // k-sent
  CHECK(n->second == 0);  // e-old still has its failed delivery
  auto status = store->outboxStatus(10);
  REQUIRE(status);
  CHECK(status->sent == 1);  // k-new
  CHECK(status->failed == 1);
  CHECK(status->pending == 1);
  REQUIRE(status->recentFailures.size() == 1);  // the failed one is still visible
  CHECK(status->recentFailures.front().idempotencyKey == "k-failed");

  n = store->pruneOutbox(5000, 3000, 100);
  REQUIRE(n);
  CHECK(n->first == 1);   // k-failed
  CHECK(n->second == 1);  // e-old emptied; e-pending has a pending delivery, e-new is recent
  status = store->outboxStatus(10);
  CHECK(status->failed == 0);
  CHECK(status->pending == 1);
  // The pending delivery is still due, with its event's body intact.
  auto due = store->dueDeliveries(10'000, 10);
  REQUIRE(due->size() == 1);
  CHECK(due->front().event.id == "e-pending");
  CHECK(due->front().event.bodyJson == "{\"request\":\"r-1\"}");
  // An emptied event keeps its id: the sweep offering it again writes nothing.
  auto again = store->insertNotifications({event("e-old", 1000)});
  REQUIRE(again);
  CHECK(again.value() == 0);
  // Nothing left to do is not an error.
  n = store->pruneOutbox(5000, 3000, 100);
  REQUIRE(n);
  CHECK(n->first == 0);
  CHECK(n->second == 0);
}

TEST_CASE("retention works in batches of the given size", "[outbox][retention]") {
  TempDir dir;
  auto store = openStore(dir);
  REQUIRE(store->insertNotifications({event("e-1", 1000)}));
  std::vector<NotificationDelivery> ds;
  for (int i = 0; i < 5; ++i) ds.push_back(delivery("k-" + std::to_string(i), "e-1"));
  REQUIRE(store->fanOut({{"e-1", ds}}));
  for (int i = 0; i < 5; ++i) finish(*store, "k-" + std::to_string(i), "e-1", delivery_state::kSent, 2000);
  std::vector<std::int64_t> deleted;
  for (int round = 0; round < 5; ++round) {
    auto n = store->pruneOutbox(3000, 3000, 2);
    REQUIRE(n);
    deleted.push_back(n->first);
    if (n->first < 2 && n->second < 2) break;
  }
  CHECK(deleted == std::vector<std::int64_t>{2, 2, 1});
  CHECK(store->outboxStatus(10)->sent == 0);
}
