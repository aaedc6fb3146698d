// The policy worker process: one forked child that owns the LuaSandbox.
//
// The parent keeps the policy sources; the child, forked without exec, compiles them
// from its copy of the parent's memory and then answers one evaluation frame at a time
// over a socketpair. The parent waits for an answer until a deadline and SIGKILLs the
// child when it passes, which is the only way to stop a loop inside a C library
// function (pattern backtracking). A killed or dead child is replaced by start().
// Not thread-safe: PolicyEngine serialises calls.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "keyturn/policy_engine.h"

namespace keyturn {

class PolicyWorker {
 public:
  // `sources` must outlive the worker (the engine owns both).
  PolicyWorker(const std::vector<PolicySource>& sources, const PolicyLimits& limits);
  ~PolicyWorker();  // kills and reaps the child
  PolicyWorker(const PolicyWorker&) = delete;
  PolicyWorker& operator=(const PolicyWorker&) = delete;

  // Forks a fresh child (killing any previous one) and reads its report on every
  // source. Fails with "policy_error" naming the first source that does not load, or
  // when the child cannot be started or does not answer in time.
  Result<std::vector<PolicyInfo>> start();

  // True while a child is running and has not failed.
  bool alive();

  // Sends one frame and waits for the answer for at most `timeout`. On timeout the
  // child is killed and reaped, and the error is "policy_error" with `timeoutDetail`.
  Result<std::string> call(const std::string& frame, std::chrono::milliseconds timeout,
                           const std::string& timeoutDetail);

  void stop();

 private:
  Result<std::string> receive(std::chrono::steady_clock::time_point deadline,
                              const std::string& timeoutDetail);
  [[noreturn]] void runChild(int fd);

  const std::vector<PolicySource>& sources_;
  PolicyLimits limits_;
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string inbox_;  // bytes received but not yet returned as a frame
};

}  // namespace keyturn
