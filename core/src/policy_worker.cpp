#include "keyturn/policy_worker.h"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "keyturn/lua_sandbox.h"
#include "keyturn/policy_wire.h"

namespace keyturn {

namespace {

constexpr std::uint32_t kMaxFrame = 64u * 1024u * 1024u;
// Compiling is not interrupted by the instruction hook, so loading one source may take
// longer than an evaluation; the 8 MiB bundle limit bounds it.
constexpr std::chrono::seconds kLoadGrace{2};

Status workerError(const std::string& detail) { return Status::fail("policy_error", detail); }

bool writeAll(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);  // a dead peer is EPIPE, never SIGPIPE
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

bool sendFrame(int fd, const std::string& payload) {
  std::string buf(4, '\0');
  auto n = static_cast<std::uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) buf[i] = static_cast<char>(n >> (8 * i));
  buf += payload;
  return writeAll(fd, buf.data(), buf.size());
}

bool readAll(int fd, char* p, std::size_t n) {
  while (n > 0) {
    ssize_t r = ::recv(fd, p, n, 0);
    if (r == 0) return false;
    if (r < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

std::uint32_t frameLength(const std::string& buf) {
  std::uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= std::uint32_t{static_cast<unsigned char>(buf[i])} << (8 * i);
  return n;
}

// Child side: blocks until a whole frame arrived; false when the parent is gone.
bool readFrame(int fd, std::string& out) {
  std::string header(4, '\0');
  if (!readAll(fd, header.data(), 4)) return false;
  std::uint32_t n = frameLength(header);
  if (n > kMaxFrame) return false;
  out.resize(n);
  return readAll(fd, out.data(), n);
}

}  // namespace

PolicyWorker::PolicyWorker(const std::vector<PolicySource>& sources, const PolicyLimits& limits)
    : sources_(sources), limits_(limits) {}

PolicyWorker::~PolicyWorker() { stop(); }

void PolicyWorker::stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  inbox_.clear();
}

bool PolicyWorker::alive() {
  if (pid_ <= 0 || fd_ < 0) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  // It died (e.g. PDEATHSIG) and is now reaped, or SIGCHLD is ignored and it was
  // reaped for us (ECHILD): either way it is gone.
  if (r == pid_ || (r < 0 && errno == ECHILD)) {
    pid_ = -1;
    stop();
    return false;
  }
  return true;
}

// In the child: only Lua, this file's code and the socket are used from here on; the
// process never returns into the caller's code and leaves with _exit (no atexit
// handlers or static destructors of the parent run twice).
void PolicyWorker::runChild(int fd) {
  pid_t parent = ::getppid();
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // the parent (thread) died: die with it
  if (::getppid() != parent) ::_exit(0);
  // Keep stdio and the socket; every other descriptor of the caller is closed, so no
  // policy bug can reach them and no other worker's socket is held open from here.
  if (fd > 3) {
    ::dup2(fd, 3);
    fd = 3;
  }
  if (fd == 3) ::close_range(4, ~0u, 0);
  {
    LuaSandbox sandbox(limits_);
    for (const auto& src : sources_) {
      PolicyInfo info;
      std::string error;
      bool ok = sandbox.load(src, info, error);
      if (!sendFrame(fd, policywire::encodeLoadReport(ok, info, error)) || !ok) ::_exit(0);
    }
    std::string frame;
    policywire::EvalRequest req;
    while (readFrame(fd, frame)) {
      if (!policywire::decodeEvalRequest(frame, req)) ::_exit(1);
      if (!sendFrame(fd, policywire::encodeOutcomes(sandbox.evaluate(req)))) ::_exit(0);
    }
  }
  ::_exit(0);
}

Result<std::vector<PolicyInfo>> PolicyWorker::start() {
  stop();
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return workerError(std::string("cannot start the policy worker: ") + std::strerror(errno));
  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    ::close(sv[0]);
    ::close(sv[1]);
    return workerError(std::string("cannot start the policy worker: ") + std::strerror(e));
  }
  if (pid == 0) {
    ::close(sv[0]);
    runChild(sv[1]);
  }
  ::close(sv[1]);
  pid_ = pid;
  fd_ = sv[0];

  std::vector<PolicyInfo> infos;
  for (const auto& src : sources_) {
    auto deadline = std::chrono::steady_clock::now() + limits_.wallTime + kLoadGrace;
    auto frame = receive(deadline, "policy " + src.name + " does not load: policy time limit (" +
                                       std::to_string(limits_.wallTime.count()) + " ms) exceeded");
    if (!frame) return frame.error();
    bool ok = false;
    PolicyInfo info;
    std::string error;
    if (!policywire::decodeLoadReport(frame.value(), ok, info, error)) {
      stop();
      return workerError("the policy worker sent a malformed load report");
    }
    if (!ok) {
      stop();
      return workerError(error);
    }
    info.file = src.name;
    infos.push_back(std::move(info));
  }
  return infos;
}

Result<std::string> PolicyWorker::call(const std::string& frame, std::chrono::milliseconds timeout,
                                       const std::string& timeoutDetail) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  if (fd_ < 0 || !sendFrame(fd_, frame)) {
    stop();
    return workerError("the policy worker is not running");
  }
  return receive(deadline, timeoutDetail);
}

// Parent side: reads one frame, waiting no later than `deadline`; on timeout, EOF or a
// bad frame the child is killed and reaped, so the next call starts a fresh one.
Result<std::string> PolicyWorker::receive(std::chrono::steady_clock::time_point deadline,
                                          const std::string& timeoutDetail) {
  char chunk[16384];
  for (;;) {
    if (inbox_.size() >= 4) {  // the child may have sent several load reports at once
      std::uint32_t len = frameLength(inbox_);
      if (len > kMaxFrame) {
        stop();
        return workerError("the policy worker sent an oversized frame");
      }
      if (inbox_.size() >= 4 + std::size_t{len}) {
        std::string frame = inbox_.substr(4, len);
        inbox_.erase(0, 4 + std::size_t{len});
        return frame;
      }
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) {
      stop();
      return workerError(timeoutDetail);
    }
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()) + 1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      stop();
      return workerError(std::string("policy worker: poll: ") + std::strerror(errno));
    }
    if (r == 0) continue;  // the deadline check above decides
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      stop();
      return workerError("the policy worker exited unexpectedly");
    }
    inbox_.append(chunk, static_cast<std::size_t>(n));
  }
}

}  // namespace keyturn
