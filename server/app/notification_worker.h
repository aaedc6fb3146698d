// The notification delivery worker: one thread, never on a request's path. Each pass
//  1. runs the sweep of time-driven events (every sweep_seconds),
//  2. fans new events out into deliveries, one per (event, recipient, channel) — a
//     shared channel (webhook, Slack, Teams) gets one per (event, channel) — with the
//     idempotency key SHA-256(event id, recipient, channel) as primary key, so a
//     delivery exists once however often fan-out runs,
//  3. sends what is due, outside the store's lock, and records the outcome: sent, or a
//     retry at now + base * 2^(attempts-1) (capped), or "failed" after the last attempt
//     or a permanent refusal. The first failure and the final one are audited
//     (`notification.failed`),
//  4. hourly, prunes the outbox: sent and failed deliveries past their retention
//     are deleted, and old events left without deliveries keep only their id.
// Retry times live in the database, so backoff continues across restarts; a delivery
// is marked sent in the same breath as the send succeeded, and stop() lets the send in
// flight finish, so a restart neither loses nor repeats a notification.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "app/bundle_state.h"
#include "app/log_sink.h"
#include "app/notification_channels.h"
#include "app/notification_config.h"
#include "service/notifications.h"
#include "store/store.h"

namespace keyturn::server {

class NotificationWorker {
 public:
  using Clock = std::function<std::int64_t()>;

  // Borrows store, bundle and log, which must outlive the worker.
  NotificationWorker(Store& store, BundleState& bundle, LogSink& log, NotificationConfig config,
                     std::unique_ptr<NotificationSender> sender, Clock clock);
  ~NotificationWorker();
  NotificationWorker(const NotificationWorker&) = delete;
  NotificationWorker& operator=(const NotificationWorker&) = delete;

  void start();
  // Finishes the send in flight, then joins. Idempotent.
  void stop();
  // Runs a pass soon (e.g. after a change wrote events).
  void wake();
  // One pass (sweep if due, fan out, send due); what start() runs in a loop. Public so
  // tests can drive it with a fake clock.
  Status runOnce();

  // Counters since start, for /metrics: attempts by channel and outcome.
  std::map<std::pair<std::string, std::string>, std::uint64_t> attemptCounts() const;

  // The idempotency key of (event, recipient, channel).
  static std::string idempotencyKey(const std::string& eventId, const std::string& recipient,
                                    const std::string& channel);
  // The first moment at or after `t` outside the recipient's quiet hours; with a digest,
  // the next full hour first.
  static std::int64_t releaseTime(const RecipientOptions* options, std::int64_t t);

 private:
  Status fanOutPending(std::int64_t now);
  Status sendDue(std::int64_t now);
  // Outbox retention (config retention / retention_failed), hourly.
  Status pruneIfDue(std::int64_t now);
  void count(const std::string& channel, const std::string& outcome);

  Store& store_;
  BundleState& bundle_;
  LogSink& log_;
  NotificationConfig config_;
  std::unique_ptr<NotificationSender> sender_;
  Clock clock_;
  NotificationSweep sweep_;
  std::int64_t lastSweep_ = 0;
  std::int64_t lastPrune_ = 0;
  bool busy_ = false;  // the last pass met a full batch (worker thread only)

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool woken_ = false;
  std::thread thread_;

  mutable std::mutex countMutex_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> counts_;
};

}  // namespace keyturn::server
