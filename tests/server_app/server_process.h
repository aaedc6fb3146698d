// The real `keyturn-server` binary as a child process (fork/exec), with its stderr
// collected by a thread so the server never blocks on a full pipe. Used to test what
// only a process shows: its command line, its log lines and its exit on SIGTERM.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace keyturn::test {

class ServerProcess {
 public:
  // Starts KEYTURN_SERVER_BINARY with `args` (without the program name).
  explicit ServerProcess(const std::vector<std::string>& args);
  // Starts `binary` with `args` (other programs' tests: keyturn-agent).
  ServerProcess(const std::string& binary, const std::vector<std::string>& args);
  // The same with `env` added to (or replacing in) the test's environment; an empty
  // value removes the variable (e.g. LD_PRELOAD of libfaketime for a clock test).
  ServerProcess(const std::string& binary, const std::vector<std::string>& args,
                const std::map<std::string, std::string>& env);
  // Kills the child with SIGKILL if it still runs.
  ~ServerProcess();

  // Waits until stderr holds a line containing `needle`; returns that line, or "" on
  // timeout or when the child exits first.
  std::string waitForLine(const std::string& needle,
                          std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Sends `signal` and waits for the exit; returns the exit code, or -1 if it did not
  // exit within the timeout or died of a signal.
  int stop(int signal, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Waits for the child to exit by itself; exit code or -1.
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  std::string stderrText();
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

// The port from a "listening" log line in JSON format ({"port":N}); 0 if absent.
int portFromLog(const std::string& line);

}  // namespace keyturn::test
