// Wakes a device's long poll (GET /api/v1/agent/tokens) as soon as a token is
// queued for it, so an online agent gets a completed request within a second
// instead of at its next poll. The workflow calls notifyDevice() after a
// completion is durable; the agent route takes a ticket before it reads the
// queue, then waits for a later notification, so a completion between the read
// and the wait is never missed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace keyturn::server {

class DeliveryNotifier {
public:
  // `maxWaiters` bounds how many long polls may be held at once, so held polls
  // never take every thread of the HTTP server: beyond it, waitFor() returns at
  // once.
  explicit DeliveryNotifier(int maxWaiters = 48) : maxWaiters_(maxWaiters) {}

  // Something new was queued for `deviceId`. Thread-safe; never blocks for
  // long.
  void notifyDevice(const std::string &deviceId);
  // The device's notification count now; pass it to waitFor().
  std::uint64_t ticket(const std::string &deviceId);
  enum class Wake { kNotified, kTimeout, kBusy };
  // Blocks until a notification after `ticket` or until `timeout` passes. kBusy
  // at once when `maxWaiters` polls are already held (the caller answers
  // without holding).
  Wake waitFor(const std::string &deviceId, std::uint64_t ticket,
               std::chrono::milliseconds timeout);
  // Releases every waiter (used at shutdown so held polls end promptly).
  void wakeAll();

private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::unordered_map<std::string, std::uint64_t> generation_;
  int maxWaiters_;
  int waiters_ = 0;
  std::uint64_t shutdown_ = 0;
};

} // namespace keyturn::server
