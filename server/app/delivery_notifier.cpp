#include "app/delivery_notifier.h"

namespace keyturn::server {

void DeliveryNotifier::notifyDevice(const std::string &deviceId) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++generation_[deviceId];
  }
  changed_.notify_all();
}

std::uint64_t DeliveryNotifier::ticket(const std::string &deviceId) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = generation_.find(deviceId);
  return it == generation_.end() ? 0 : it->second;
}

DeliveryNotifier::Wake
DeliveryNotifier::waitFor(const std::string &deviceId, std::uint64_t ticket,
                          std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  auto moved = [&] {
    auto it = generation_.find(deviceId);
    return (it != generation_.end() && it->second != ticket) || shutdown_ > 0;
  };
  // After wakeAll() (shutdown) nobody is held any more: kBusy makes callers
  // answer now.
  if (shutdown_ > 0 || waiters_ >= maxWaiters_)
    return Wake::kBusy;
  if (moved())
    return Wake::kNotified;
  ++waiters_;
  bool notified = changed_.wait_for(lock, timeout, moved);
  --waiters_;
  if (shutdown_ > 0)
    return Wake::kBusy;
  return notified ? Wake::kNotified : Wake::kTimeout;
}

void DeliveryNotifier::wakeAll() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++shutdown_;
  }
  changed_.notify_all();
}

} // namespace keyturn::server
