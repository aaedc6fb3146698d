#include "server_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <regex>
#include <stdexcept>

extern char** environ;

namespace keyturn::test {

ServerProcess::ServerProcess(const std::vector<std::string>& args)
    : ServerProcess(KEYTURN_SERVER_BINARY, args) {}

ServerProcess::ServerProcess(const std::string& binary, const std::vector<std::string>& args)
    : ServerProcess(binary, args, {}) {}

ServerProcess::ServerProcess(const std::string& binary, const std::vector<std::string>& args,
                             const std::map<std::string, std::string>& env) {
  // The environment is built before fork: the child only calls async-signal-safe functions.
  std::vector<std::string> envText;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    if (env.count(kv.substr(0, kv.find('='))) == 0) envText.push_back(kv);
  }
  for (const auto& [k, v] : env)
    if (!v.empty()) envText.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : envText) envp.push_back(e.data());
  envp.push_back(nullptr);
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
  std::vector<std::string> words{binary};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::dup2(fds[1], 2);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  fd_ = fds[0];
  reader_ = std::thread([this] {
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(fd_, buf, sizeof buf);
      std::lock_guard<std::mutex> lock(mutex_);
      if (n <= 0) {
        eof_ = true;
        changed_.notify_all();
        return;
      }
      output_.append(buf, static_cast<std::size_t>(n));
      changed_.notify_all();
    }
  });
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (reader_.joinable()) reader_.join();
  if (fd_ >= 0) ::close(fd_);
}

std::string ServerProcess::waitForLine(const std::string& needle,
                                       std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  std::string line;
  changed_.wait_for(lock, timeout, [&] {
    std::size_t at = output_.find(needle);
    if (at != std::string::npos) {
      std::size_t start = output_.rfind('\n', at);
      start = start == std::string::npos ? 0 : start + 1;
      std::size_t end = output_.find('\n', at);
      if (end == std::string::npos) return false;  // wait for the whole line
      line = output_.substr(start, end - start);
      return true;
    }
    return eof_;
  });
  return line;
}

int ServerProcess::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (pid_ > 0) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

int ServerProcess::stop(int signal, std::chrono::milliseconds timeout) {
  if (pid_ > 0) ::kill(pid_, signal);
  return wait(timeout);
}

std::string ServerProcess::stderrText() {
  std::lock_guard<std::mutex> lock(mutex_);
  return output_;
}

int portFromLog(const std::string& line) {
  std::smatch m;
  static const std::regex kPort("\"port\":([0-9]+)");
  return std::regex_search(line, m, kPort) ? std::atoi(m[1].str().c_str()) : 0;
}

}  // namespace keyturn::test
