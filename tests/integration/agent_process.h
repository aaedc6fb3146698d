// `keyturn-agent run` as a child process (fork/exec) with its stderr collected by a
// thread, so a test can wait for its log lines and stop it with a signal.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace keyturn::test {

class AgentProcess {
 public:
  // Starts KEYTURN_AGENT_BINARY with `args` (without the program name).
  explicit AgentProcess(const std::vector<std::string>& args);
  ~AgentProcess();  // SIGKILL if it still runs

  // True once a complete stderr line contains `needle`; false on timeout or exit.
  bool waitForLine(const std::string& needle, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Sends `signal` and waits; the exit code, or -1 (timeout or killed by a signal).
  int stop(int signal, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  std::string log();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  std::thread reader_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string output_;
  bool eof_ = false;
};

}  // namespace keyturn::test
