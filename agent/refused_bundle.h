// The bundle update the agent refused last, remembered by the SHA-256 of its bytes so
// that a coordinator which keeps serving it (a compromised one, or one whose operator
// has not noticed) costs neither a signature check nor an error line on every poll. A
// different bundle — another version, or the same version re-signed properly — has
// another digest and is verified as usual. A refusal is checked again after
// kRecheckSeconds, because some refusals depend on the agent's clock (bundle_expired
// after a clock fix). Kept in the agent's state (meta "refused_bundle") across restarts
// and shown by `keyturn-agent status`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace keyturn::agent {

class RefusedBundle {
 public:
  static constexpr std::int64_t kRecheckSeconds = 3600;

  RefusedBundle(std::uint64_t version, std::string sha256Hex, std::string reason, std::string detail,
                std::int64_t at)
      : version_(version), sha256_(std::move(sha256Hex)), reason_(std::move(reason)), detail_(std::move(detail)),
        at_(at) {}

  // The refusal stored by toJson(); nullopt when `text` is empty or not such an object.
  static std::optional<RefusedBundle> fromJson(const std::string& text);
  // {"version":N,"sha256":HEX,"reason":CODE,"detail":TEXT,"at":SECONDS}
  std::string toJson() const;

  // True when `sha256Hex` is this refused bundle and the refusal is fresh enough to
  // skip verifying it again at `now`.
  bool skips(const std::string& sha256Hex, std::int64_t now) const {
    return sha256Hex == sha256_ && now >= at_ && now - at_ < kRecheckSeconds;
  }

  std::uint64_t version() const { return version_; }
  const std::string& sha256() const { return sha256_; }
  const std::string& reason() const { return reason_; }
  const std::string& detail() const { return detail_; }
  std::int64_t at() const { return at_; }

 private:
  std::uint64_t version_;
  std::string sha256_, reason_, detail_;
  std::int64_t at_;
};

}  // namespace keyturn::agent
