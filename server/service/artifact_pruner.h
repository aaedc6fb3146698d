// Prunes unused artifacts in the background (keyturn.artifacts.retention_s,
// docs/coordinator.md "Artifacts"): every `period`, ArtifactLibrary::prune() with the
// retention. The first pass runs at start, so a coordinator that restarts often still
// prunes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "service/artifact_library.h"

namespace keyturn::server {

class ArtifactPruner {
 public:
  // `onPruned` hears of every pass that deleted something, `onError` of a failed pass
  // (the next one retries). Borrows `library`. Starts at once.
  ArtifactPruner(ArtifactLibrary& library, std::int64_t retentionSeconds, std::chrono::milliseconds period,
                 std::function<void(const std::vector<std::string>&)> onPruned,
                 std::function<void(const Error&)> onError);
  // Stops and joins the thread; a pass in progress finishes first.
  ~ArtifactPruner();
  ArtifactPruner(const ArtifactPruner&) = delete;
  ArtifactPruner& operator=(const ArtifactPruner&) = delete;

 private:
  void run();
  ArtifactLibrary& library_;
  std::int64_t retentionSeconds_;
  std::chrono::milliseconds period_;
  std::function<void(const std::vector<std::string>&)> onPruned_;
  std::function<void(const Error&)> onError_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace keyturn::server
