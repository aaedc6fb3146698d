// The agent's state folder: the current trust bundle (and the one before it), stored
// atomically, re-verified whenever it is loaded, and the replay journal beside it.
//
// Layout: STATE/bundle.json (current), STATE/bundle.prev.json (the previous one, kept
// so that the last update step can be re-verified), STATE/journal.db.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "keyturn/bundle_verifier.h"
#include "keyturn/result.h"

namespace keyturn {

class TrustStore {
 public:
  // Creates the folder (mode 0700) if it does not exist.
  static Result<TrustStore> open(const std::string& stateDir);

  const std::string& dir() const { return dir_; }
  bool initialized() const;

  // `trust init`: already_initialized, then acceptInitialBundle. Stores on success and
  // returns the version now current.
  Result<std::uint64_t> init(std::string_view fileBytes, const std::optional<std::string>& expectSha256Hex,
                             std::int64_t now);
  // `trust update` with one file: loads (re-verifies) the current bundle, then
  // acceptBundleUpdate. Stores on success.
  Result<std::uint64_t> update(std::string_view fileBytes, std::int64_t now);

  // Loads the current bundle and re-verifies it (signatures, thresholds and the last
  // update step; not expiry, which the gate reports as bundle_expired). Reasons:
  // "not_initialized", or any bundle reason.
  Result<AcceptedBundle> load(std::int64_t now, const PolicyLimits& limits = {}) const;

  // The version now current, 0 when none (or the stored bundle cannot be read).
  std::uint64_t currentVersion() const;

  std::string bundlePath() const;
  std::string previousPath() const;
  std::string journalPath() const;

 private:
  explicit TrustStore(std::string dir) : dir_(std::move(dir)) {}
  Status store(const TrustBundle& accepted, bool keepPrevious);
  std::string dir_;
};

}  // namespace keyturn
