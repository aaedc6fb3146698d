// SqliteStore: the notification outbox (server/sql/003_notifications.sql). SQL only;
// who is told what, and when, is the services' business (server/service/notifications.h).
#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>

#include <algorithm>

#include "store/sqlite_rows.h"
#include "store/sqlite_store.h"

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Statement;
using Poco::Int64;

namespace keyturn::server {
namespace {

constexpr const char* kEventColumns =
    "e.id AS id, e.kind AS kind, e.subject AS subject, e.recipients_json AS recipients_json,"
    " e.body_json AS body_json, e.created_at AS created_at";
constexpr const char* kDeliveryColumns =
    "d.idempotency_key AS idempotency_key, d.event_id AS event_id, d.recipient AS recipient,"
    " d.channel AS channel, d.state AS state, d.attempts AS attempts,"
    " d.next_attempt AS next_attempt, d.last_error AS last_error, d.sent_at AS sent_at,"
    " d.updated AS updated";

NotificationEvent eventRow(RecordSet& rs) {
  NotificationEvent e;
  e.id = rows::text(rs, "id");
  e.kind = rows::text(rs, "kind");
  e.subject = rows::text(rs, "subject");
  e.recipientsJson = rows::text(rs, "recipients_json");
  e.bodyJson = rows::text(rs, "body_json");
  e.createdAt = rows::integer(rs, "created_at");
  return e;
}

NotificationDelivery deliveryRow(RecordSet& rs) {
  NotificationDelivery d;
  d.idempotencyKey = rows::text(rs, "idempotency_key");
  d.eventId = rows::text(rs, "event_id");
  d.recipient = rows::text(rs, "recipient");
  d.channel = rows::text(rs, "channel");
  d.state = rows::text(rs, "state");
  d.attempts = rows::integer(rs, "attempts");
  d.nextAttempt = rows::integer(rs, "next_attempt");
  d.lastError = rows::text(rs, "last_error");
  d.sentAt = rows::optionalInteger(rs, "sent_at");
  d.updated = rows::integer(rs, "updated");
  return d;
}

bool isDeliveryState(const std::string& s) {
  return s == delivery_state::kPending || s == delivery_state::kSent ||
         s == delivery_state::kFailed;
}

}  // namespace

std::int64_t SqliteStore::insertNotificationsLocked(const std::vector<NotificationEvent>& events) {
  static const std::string kInsert =
      "INSERT INTO notification_events (id, kind, subject, recipients_json, body_json,"
      " created_at, fanned_out) VALUES (?, ?, ?, ?, ?, ?, 0) ON CONFLICT (id) DO NOTHING";
  std::int64_t added = 0;
  for (const auto& e : events) {
    added += stmts().query(kInsert)
                 .bind(e.id).bind(e.kind).bind(e.subject).bind(e.recipientsJson)
                 .bind(e.bodyJson).bind(e.createdAt)
                 .execute();
  }
  return added;
}

Result<std::int64_t> SqliteStore::insertNotifications(const std::vector<NotificationEvent>& events) {
  std::int64_t added = 0;
  if (events.empty()) return added;
  auto s = write("insert notifications", Durability::kFull, [&]() -> Status {
    added = insertNotificationsLocked(events);
    return Status::ok();
  });
  if (!s) return s.error();
  return added;
}

std::vector<NotificationEvent> SqliteStore::expiryEventsLocked(const std::vector<std::string>& ids,
                                                              const ExpiryEvents& notify) {
  std::vector<NotificationEvent> out;
  for (const auto& id : ids) {
    Statement st(db());
    st << std::string("SELECT ") + rows::kRequestColumns + " FROM requests WHERE id = ?", bind(id);
    st.execute();
    RecordSet rs(st);
    if (!rs.moveFirst()) continue;
    for (auto& e : notify(rows::request(rs))) out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<NotificationEvent>> SqliteStore::eventsToFanOut(std::int64_t limit) {
  std::vector<NotificationEvent> out;
  auto s = read("list notification events", [&]() -> Status {
    Statement st(db());
    st << std::string("SELECT ") + kEventColumns +
              " FROM notification_events e WHERE e.fanned_out = 0"
              " ORDER BY e.created_at, e.id LIMIT ?",
        bind(Int64(limit));
    st.execute();
    RecordSet rs(st);
    for (bool more = rs.moveFirst(); more; more = rs.moveNext()) out.push_back(eventRow(rs));
    return Status::ok();
  });
  if (!s) return s.error();
  return out;
}

Status SqliteStore::fanOut(const FanOutBatch& batch) {
  for (const auto& [eventId, deliveries] : batch)
    for (const auto& d : deliveries)
      if (d.eventId != eventId || !isDeliveryState(d.state))
        return Status::fail(kInvalid, "delivery " + d.idempotencyKey + " does not belong to " +
                                          eventId + " or has a bad state");
  return write("fan out notifications", Durability::kFull, [&]() -> Status {
    for (const auto& [eventId, deliveries] : batch) {
      Statement mark(db());
      mark << "UPDATE notification_events SET fanned_out = 1 WHERE id = ? AND fanned_out = 0",
          bind(eventId);
      if (mark.execute() == 0) continue;  // fanned out already (or unknown)
      for (const auto& d : deliveries) {
        db() << "INSERT INTO notification_deliveries (idempotency_key, event_id, recipient,"
                    " channel, state, attempts, next_attempt, last_error, sent_at, updated)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)"
                    " ON CONFLICT (idempotency_key) DO NOTHING",
            bind(d.idempotencyKey), bind(d.eventId), bind(d.recipient), bind(d.channel),
            bind(d.state), bind(Int64(d.attempts)), bind(Int64(d.nextAttempt)),
            bind(d.lastError), bind(Int64(d.updated)), now;
      }
    }
    return Status::ok();
  });
}

Result<std::vector<DueDelivery>> SqliteStore::dueDeliveries(std::int64_t nowSeconds,
                                                            std::int64_t limit) {
  std::vector<DueDelivery> out;
  auto s = read("list due deliveries", [&]() -> Status {
    Statement st(db());
    st << std::string("SELECT ") + kDeliveryColumns + ", " + kEventColumns +
              " FROM notification_deliveries d JOIN notification_events e ON e.id = d.event_id"
              " WHERE d.state = 'pending' AND d.next_attempt <= ?"
              " ORDER BY d.next_attempt, e.created_at, d.idempotency_key LIMIT ?",
        bind(Int64(nowSeconds)), bind(Int64(limit));
    st.execute();
    RecordSet rs(st);
    for (bool more = rs.moveFirst(); more; more = rs.moveNext())
      out.push_back({deliveryRow(rs), eventRow(rs)});
    return Status::ok();
  });
  if (!s) return s.error();
  return out;
}

bool SqliteStore::recordDeliveryLocked(const NotificationDelivery& d, const OptionalAudit& audit) {
  Statement st(db());
  if (d.sentAt) {
    st << "UPDATE notification_deliveries SET state = ?, attempts = ?, next_attempt = ?,"
          " last_error = ?, sent_at = ?, updated = ?"
          " WHERE idempotency_key = ? AND state = 'pending'",
        bind(d.state), bind(Int64(d.attempts)), bind(Int64(d.nextAttempt)), bind(d.lastError),
        bind(Int64(*d.sentAt)), bind(Int64(d.updated)), bind(d.idempotencyKey);
  } else {
    st << "UPDATE notification_deliveries SET state = ?, attempts = ?, next_attempt = ?,"
          " last_error = ?, updated = ? WHERE idempotency_key = ? AND state = 'pending'",
        bind(d.state), bind(Int64(d.attempts)), bind(Int64(d.nextAttempt)), bind(d.lastError),
        bind(Int64(d.updated)), bind(d.idempotencyKey);
  }
  if (st.execute() == 0) return false;
  appendIf(audit, d.updated);
  return true;
}

Status SqliteStore::recordDeliveryAttempt(const NotificationDelivery& d,
                                          const OptionalAudit& audit) {
  if (!isDeliveryState(d.state))
    return Status::fail(kInvalid, "not a delivery state: " + d.state);
  return write("record delivery attempt", Durability::kFull, [&]() -> Status {
    if (!recordDeliveryLocked(d, audit))
      return Status::fail(kStateChanged,
                          "delivery " + d.idempotencyKey + " is unknown or no longer pending");
    return Status::ok();
  });
}

Status SqliteStore::recordDeliveryAttempts(
    const std::vector<std::pair<NotificationDelivery, OptionalAudit>>& outcomes) {
  for (const auto& [d, audit] : outcomes)
    if (!isDeliveryState(d.state)) return Status::fail(kInvalid, "not a delivery state: " + d.state);
  if (outcomes.empty()) return Status::ok();
  return write("record delivery attempts", Durability::kFull, [&]() -> Status {
    for (const auto& [d, audit] : outcomes) (void)recordDeliveryLocked(d, audit);
    return Status::ok();
  });
}

Result<OutboxStatus> SqliteStore::outboxStatus(std::int64_t failureLimit) {
  OutboxStatus out;
  auto s = read("notification status", [&]() -> Status {
    db() << "SELECT COUNT(*) FROM notification_events WHERE fanned_out = 0",
        into(out.eventsWaiting), now;
    std::vector<std::string> states;
    std::vector<Int64> counts;
    db() << "SELECT state, COUNT(*) FROM notification_deliveries GROUP BY state",
        into(states), into(counts), now;
    for (std::size_t i = 0; i < states.size(); ++i) {
      if (states[i] == delivery_state::kPending) out.pending = counts[i];
      if (states[i] == delivery_state::kSent) out.sent = counts[i];
      if (states[i] == delivery_state::kFailed) out.failed = counts[i];
    }
    db() << "SELECT COUNT(*) FROM notification_deliveries WHERE state = 'pending'"
                " AND attempts > 0",
        into(out.retrying), now;
    Statement st(db());
    st << std::string("SELECT ") + kDeliveryColumns +
              " FROM notification_deliveries d WHERE d.state = 'failed'"
              " OR (d.state = 'pending' AND d.attempts > 0)"
              " ORDER BY d.updated DESC, d.idempotency_key LIMIT ?",
        bind(Int64(failureLimit));
    st.execute();
    RecordSet rs(st);
    for (bool more = rs.moveFirst(); more; more = rs.moveNext())
      out.recentFailures.push_back(deliveryRow(rs));
    if (out.eventsWaiting + out.pending > 0) {
      // MIN() over no rows is NULL, read as 0; only meaningful when something waits.
      Statement m(db());
      m << "SELECT MIN(e.created_at) AS m FROM notification_events e WHERE e.fanned_out = 0"
           " OR EXISTS (SELECT 1 FROM notification_deliveries d WHERE d.event_id = e.id"
           " AND d.state = 'pending')";
      m.execute();
      RecordSet r(m);
      if (r.moveFirst()) out.oldestPending = rows::optionalInteger(r, "m");
    }
    return Status::ok();
  });
  if (!s) return s.error();
  return out;
}

Result<std::vector<RequestRecord>> SqliteStore::requestsWithoutEvent(
    const std::string& stateName, const std::string& eventKind, std::int64_t updatedSince,
    bool allTargetsFinal, std::int64_t limit) {
  std::vector<RequestRecord> out;
  auto s = read("requests without notification", [&]() -> Status {
    std::string sql = std::string("SELECT ") + rows::kRequestColumns +
                      " FROM requests r WHERE r.state = ? AND r.updated >= ?"
                      " AND NOT EXISTS (SELECT 1 FROM notification_events e"
                      " WHERE e.id = r.id || ':' || ?)";
    if (allTargetsFinal)
      sql += " AND r.target_count > 0 AND NOT EXISTS (SELECT 1 FROM request_targets t WHERE t.request_id = r.id"
             " AND t.state IN ('queued', 'delivered'))";
    sql += " ORDER BY r.updated, r.id LIMIT ?";
    Statement st(db());
    st << sql, bind(stateName), bind(Int64(updatedSince)), bind(eventKind), bind(Int64(limit));
    st.execute();
    RecordSet rs(st);
    for (bool more = rs.moveFirst(); more; more = rs.moveNext()) out.push_back(rows::request(rs));
    return Status::ok();
  });
  if (!s) return s.error();
  return out;
}

Result<std::vector<RequestRecord>> SqliteStore::completedWithoutResults(
    const std::string& eventKind, std::int64_t updatedSince, std::int64_t tokensDeadBefore,
    std::int64_t limit) {
  std::vector<RequestRecord> out;
  auto s = read("requests with results due", [&]() -> Status {
    Statement st(db());
    st << std::string("SELECT ") + rows::kRequestColumns +
              " FROM requests r WHERE r.state = 'completed' AND r.updated >= ? AND r.target_count > 0"
              " AND NOT EXISTS (SELECT 1 FROM notification_events e WHERE e.id = r.id || ':' || ?)"
              " AND (r.updated <= ? OR NOT EXISTS (SELECT 1 FROM request_targets t"
              " WHERE t.request_id = r.id AND t.state IN ('queued', 'delivered')))"
              " ORDER BY r.updated, r.id LIMIT ?",
        bind(Int64(updatedSince)), bind(eventKind), bind(Int64(tokensDeadBefore)), bind(Int64(limit));
    st.execute();
    RecordSet rs(st);
    for (bool more = rs.moveFirst(); more; more = rs.moveNext()) out.push_back(rows::request(rs));
    return Status::ok();
  });
  if (!s) return s.error();
  return out;
}

Result<std::pair<std::int64_t, std::int64_t>> SqliteStore::pruneOutbox(std::int64_t sentBefore,
                                                                       std::int64_t failedBefore,
                                                                       std::int64_t limit) {
  std::pair<std::int64_t, std::int64_t> out{0, 0};
  // Relaxed durability: a prune lost to a power failure is simply done again.
  auto s = write("prune outbox", Durability::kNormal, [&]() -> Status {
    Statement del(db());
    del << "DELETE FROM notification_deliveries WHERE idempotency_key IN (SELECT idempotency_key"
           " FROM notification_deliveries WHERE (state = 'sent' AND updated < ?)"
           " OR (state = 'failed' AND updated < ?) LIMIT ?)",
        bind(Int64(sentBefore)), bind(Int64(failedBefore)), bind(Int64(limit));
    out.first = static_cast<std::int64_t>(del.execute());
    Statement empty(db());
    empty << "UPDATE notification_events SET body_json = '{}', recipients_json = '[]'"
             " WHERE id IN (SELECT e.id FROM notification_events e WHERE e.fanned_out = 1"
             " AND e.created_at < ? AND e.body_json <> '{}' AND NOT EXISTS"
             " (SELECT 1 FROM notification_deliveries d WHERE d.event_id = e.id) LIMIT ?)",
        bind(Int64(std::min(sentBefore, failedBefore))), bind(Int64(limit));
    out.second = static_cast<std::int64_t>(empty.execute());
    return Status::ok();
  });
  if (!s) return s.error();
  return out;
}

}  // namespace keyturn::server
