#include "app/idle_polls.h"

namespace keyturn::server {

std::optional<std::string> IdlePolls::idleTag(const std::string& deviceId, const Key& key,
                                              Clock::time_point now) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(deviceId);
  if (it == entries_.end()) return std::nullopt;
  const Entry& e = it->second;
  if (now - e.readAt >= kMaxAge || now < e.readAt) return std::nullopt;
  if (e.key.ticket != key.ticket || e.key.bundle != key.bundle ||
      e.key.fingerprint != key.fingerprint || e.key.reported != key.reported)
    return std::nullopt;
  return e.tag;
}

void IdlePolls::rememberIdle(const std::string& deviceId, Key key, std::string tag,
                             Clock::time_point readAt) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (entries_.size() >= kMaxDevices && entries_.find(deviceId) == entries_.end())
    entries_.clear();
  entries_[deviceId] = Entry{std::move(key), std::move(tag), readAt};
}

}  // namespace keyturn::server
