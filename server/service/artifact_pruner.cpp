#include "service/artifact_pruner.h"

#include <ctime>

namespace keyturn::server {

ArtifactPruner::ArtifactPruner(ArtifactLibrary& library, std::int64_t retentionSeconds,
                               std::chrono::milliseconds period,
                               std::function<void(const std::vector<std::string>&)> onPruned,
                               std::function<void(const Error&)> onError)
    : library_(library),
      retentionSeconds_(retentionSeconds),
      period_(period),
      onPruned_(std::move(onPruned)),
      onError_(std::move(onError)) {
  thread_ = std::thread([this] { run(); });
}

ArtifactPruner::~ArtifactPruner() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ArtifactPruner::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    auto pruned = library_.prune(static_cast<std::int64_t>(std::time(nullptr)), retentionSeconds_);
    if (!pruned && onError_) onError_(pruned.error());
    if (pruned && !pruned->empty() && onPruned_) onPruned_(pruned.value());
    lock.lock();
    wake_.wait_for(lock, period_, [this] { return stopping_; });
  }
}

}  // namespace keyturn::server
