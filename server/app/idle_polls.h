// Remembers, per device, that its last poll found nothing queued, so an idle agent's
// next conditional poll (GET /api/v1/agent/tokens with If-None-Match) is answered 304
// from memory instead of three database reads (device row, queue, newest bundle).
//
// An entry is used only while everything it was read under still holds:
//  - the device's DeliveryNotifier ticket is unchanged (a completion in this process
//    notifies each target device after its tokens are durable; the ticket is taken
//    before the queue is read, so a completion racing the read invalidates the entry);
//  - the bundle version in force in this process is unchanged (a publication changes
//    the idle tag);
//  - the certificate fingerprint is the one the device row held;
//  - whatever the poll reports (`reported`, e.g. a bundle version the agent runs) is
//    what the remembered poll reported, so news from the agent always reaches the store;
//  - it is younger than kMaxAge. This bounds what memory cannot see: a completion or a
//    device removal made by another process on the same database, and the redelivery
//    of a token delivered without a result (due keyturn.agents.redelivery_s after delivery),
//    are seen at most one second late.
// Removing a device in this process notifies it (DeliveryNotifier), which changes its
// ticket: a poll that read the row before the removal cannot leave a usable entry
// behind. Nothing is persisted: after a restart every device's first poll reads the store.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace keyturn::server {

class IdlePolls {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kMaxAge{1000};
  static constexpr std::size_t kMaxDevices = 200000;  // beyond it the map starts over

  // What an idle answer was read under; all must match for it to be reused.
  struct Key {
    std::string fingerprint;     // SHA-256 of the client certificate, hex
    std::uint64_t ticket = 0;    // DeliveryNotifier::ticket(device) before the read
    std::uint64_t bundle = 0;    // BundleState::version() before the read
    std::string reported;        // what the poll reported, verbatim ("" if nothing)
  };

  // The ETag of the empty queue remembered for `deviceId` under `key`, if still fresh.
  std::optional<std::string> idleTag(const std::string& deviceId, const Key& key,
                                     Clock::time_point now) const;
  // Records that a poll read under `key` (ticket and `readAt` taken before any read,
  // the device row included) found the device active with that certificate and nothing
  // queued for it, and answered `tag`.
  void rememberIdle(const std::string& deviceId, Key key, std::string tag,
                    Clock::time_point readAt);

 private:
  struct Entry {
    Key key;
    std::string tag;
    Clock::time_point readAt;
  };
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace keyturn::server
