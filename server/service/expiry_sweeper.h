// Expires due requests in the background: every `period`,
// Workflow::expireDue(). The workflow also checks the time itself on approve
// and complete, so the sweep only makes listings and the audit log show expiry
// promptly; it never decides anything.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "service/workflow.h"

namespace keyturn::server {

class ExpirySweeper {
 public:
  // `onError` is told of a failed sweep (the next one retries). Starts at once.
  ExpirySweeper(Workflow& workflow, std::chrono::milliseconds period,
                std::function<void(const Error&)> onError);
  // Stops and joins the thread; a sweep in progress finishes first.
  ~ExpirySweeper();
  ExpirySweeper(const ExpirySweeper&) = delete;
  ExpirySweeper& operator=(const ExpirySweeper&) = delete;

  void stop();

 private:
  void run();
  Workflow& workflow_;
  std::chrono::milliseconds period_;
  std::function<void(const Error&)> onError_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace keyturn::server
