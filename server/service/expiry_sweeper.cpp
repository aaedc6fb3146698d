#include "service/expiry_sweeper.h"

namespace keyturn::server {

ExpirySweeper::ExpirySweeper(Workflow& workflow, std::chrono::milliseconds period,
                             std::function<void(const Error&)> onError)
    : workflow_(workflow), period_(period), onError_(std::move(onError)) {
  thread_ = std::thread([this] { run(); });
}

ExpirySweeper::~ExpirySweeper() { stop(); }

void ExpirySweeper::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ExpirySweeper::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    auto swept = workflow_.expireDue();
    if (!swept && onError_) onError_(swept.error());
    lock.lock();
    wake_.wait_for(lock, period_, [this] { return stopping_; });
  }
}

}  // namespace keyturn::server
