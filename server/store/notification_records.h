// The notification outbox's rows (server/sql/003_notifications.sql), as plain values.
// Times are Unix seconds; JSON columns hold compact JSON the services produced.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace keyturn::server {

namespace delivery_state {
inline constexpr const char* kPending = "pending";
inline constexpr const char* kSent = "sent";
inline constexpr const char* kFailed = "failed";  // gave up after the last retry
}  // namespace delivery_state

// Something to tell people about. `id` is the event's identity ("REQ:request.approved:
// alice"): writing the same id twice keeps the first, which is how time-driven events
// (reminders, expiry, results) are produced exactly once.
struct NotificationEvent {
  std::string id;
  std::string kind;            // request.submitted, request.approved, ...
  std::string subject;         // request id, or "bundle-vN"
  std::string recipientsJson;  // JSON array of principals
  std::string bodyJson;        // JSON object: the facts a message is rendered from
  std::int64_t createdAt = 0;
};

// One message to one recipient on one channel.
struct NotificationDelivery {
  std::string idempotencyKey;  // SHA-256 hex of event id, recipient and channel
  std::string eventId;
  std::string recipient;  // a principal, or "*" when the channel is shared (a webhook)
  std::string channel;    // a channel name from the configuration
  std::string state = delivery_state::kPending;
  std::int64_t attempts = 0;
  std::int64_t nextAttempt = 0;
  std::string lastError;
  std::optional<std::int64_t> sentAt;
  std::int64_t updated = 0;
};

// A due delivery with the event it belongs to.
struct DueDelivery {
  NotificationDelivery delivery;
  NotificationEvent event;
};

// What `keyturn notify status` and /metrics show.
struct OutboxStatus {
  std::int64_t eventsWaiting = 0;  // not yet fanned out
  std::int64_t pending = 0;
  std::int64_t retrying = 0;       // pending with at least one failed attempt
  std::int64_t sent = 0;
  std::int64_t failed = 0;
  std::optional<std::int64_t> oldestPending;  // created_at of the oldest pending event
  std::vector<NotificationDelivery> recentFailures;  // failed or retrying, newest first
};

}  // namespace keyturn::server
