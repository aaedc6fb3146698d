#include "posix_platform.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>

namespace fs = std::filesystem;

namespace keyturn::plugin {
namespace {

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() { if (fd >= 0) ::close(fd); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

Status ioError(const std::string& what, const std::string& path) {
  return Status::fail("io_error", what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

Status PosixPlatform::checkPath(const std::string& path) const {
  if (path.empty() || path[0] != '/') return Status::fail("bad_path", "not an absolute path: " + path);
  return Status::ok();
}

Status PosixPlatform::writeFile(const std::string& path, const std::string& data, unsigned mode) {
  if (auto s = checkPath(path); !s) return s;
  Fd f(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode));
  if (f.fd < 0) return ioError("cannot open", path);
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(f.fd, data.data() + done, data.size() - done);
    if (n < 0) return ioError("cannot write", path);
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(f.fd) != 0) return ioError("cannot fsync", path);
  return Status::ok();
}

Status PosixPlatform::overwriteFile(const std::string& path) {
  if (auto s = checkPath(path); !s) return s;
  // O_NOFOLLOW: a symlink planted at a wiped path must not redirect the overwrite.
  Fd f(::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
  if (f.fd < 0) return ioError("cannot open", path);
  struct stat st{};
  if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return Status::fail("bad_path", "not a regular file: " + path);
  }
  std::string zeros(64 * 1024, '\0');
  off_t left = st.st_size;
  while (left > 0) {
    std::size_t chunk = left < static_cast<off_t>(zeros.size()) ? static_cast<std::size_t>(left) : zeros.size();
    ssize_t n = ::write(f.fd, zeros.data(), chunk);
    if (n <= 0) return ioError("cannot overwrite", path);
    left -= n;
  }
  if (::fsync(f.fd) != 0) return ioError("cannot fsync", path);
  return Status::ok();
}

Status PosixPlatform::unlink(const std::string& path) {
  if (auto s = checkPath(path); !s) return s;
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ioError("cannot unlink", path);
  return Status::ok();
}

Status PosixPlatform::removeTree(const std::string& path) {
  if (auto s = checkPath(path); !s) return s;
  std::error_code ec;
  fs::remove_all(path, ec);  // remove_all does not follow symlinks
  if (ec) return Status::fail("io_error", "cannot remove " + path + ": " + ec.message());
  return Status::ok();
}

Result<std::vector<std::string>> PosixPlatform::listFiles(const std::string& path) {
  if (auto s = checkPath(path); !s) return s.error();
  std::vector<std::string> out;
  std::error_code ec;
  auto st = fs::symlink_status(path, ec);
  if (ec) return out;
  if (fs::is_regular_file(st)) {
    out.push_back(path);
    return out;
  }
  if (!fs::is_directory(st)) return out;
  for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file() && !it->is_symlink()) out.push_back(it->path().string());
  }
  if (ec) return Result<std::vector<std::string>>::fail("io_error", "cannot list " + path + ": " + ec.message());
  return out;
}

bool PosixPlatform::exists(const std::string& path) {
  if (!checkPath(path)) return false;
  struct stat st{};
  return ::lstat(path.c_str(), &st) == 0;
}

bool PosixPlatform::isDirectory(const std::string& path) {
  if (!checkPath(path)) return false;
  struct stat st{};
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Result<std::pair<std::uint64_t, std::string>> PosixPlatform::sizeAndSha256(const std::string& path) {
  using R = Result<std::pair<std::uint64_t, std::string>>;
  if (auto s = checkPath(path); !s) return s.error();
  Fd f(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (f.fd < 0) return R(ioError("cannot open", path).error());
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::uint64_t size = 0;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n < 0) return R(ioError("cannot read", path).error());
    if (n == 0) break;
    size += static_cast<std::uint64_t>(n);
    EVP_DigestUpdate(ctx.get(), buf, static_cast<std::size_t>(n));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < len; ++i) {
    hex += kHex[md[i] >> 4];
    hex += kHex[md[i] & 15];
  }
  return std::make_pair(size, hex);
}

bool PosixPlatform::canSwitchUser() const { return ::geteuid() == 0; }

std::string PosixPlatform::commandPath() const {
  if (!commandPath_.empty()) return commandPath_;
  return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

RunResult PosixPlatform::run(const RunSpec& spec) {
  RunResult r;
  if (spec.argv.empty()) {
    r.output = "empty command";
    return r;
  }
  // Everything the child needs is prepared before fork: after it only async-signal-safe calls.
  std::vector<std::string> envStrings;
  for (const auto& [k, v] : spec.env) envStrings.push_back(k + "=" + v);
  std::vector<char*> envp, argv;
  for (auto& s : envStrings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = spec.argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);

  bool switchUser = !spec.user.empty() && canSwitchUser();
  uid_t uid = 0;
  gid_t gid = 0;
  if (switchUser) {
    struct passwd* pw = ::getpwnam(spec.user.c_str());
    if (!pw) {
      r.output = "unknown user " + spec.user;
      return r;
    }
    uid = pw->pw_uid;
    gid = pw->pw_gid;
    r.ran_as = spec.user;
  } else {
    struct passwd* pw = ::getpwuid(::geteuid());
    r.ran_as = pw ? pw->pw_name : std::to_string(::geteuid());
  }
  std::string path = "/usr/bin:/bin";
  if (auto it = spec.env.find("PATH"); it != spec.env.end()) path = it->second;
  // Resolve argv[0] against the child's PATH here (execvp would use ours).
  std::string program = spec.argv[0];
  if (program.find('/') == std::string::npos) {
    std::string found;
    std::size_t start = 0;
    while (start <= path.size()) {
      std::size_t end = path.find(':', start);
      if (end == std::string::npos) end = path.size();
      std::string cand = path.substr(start, end - start) + "/" + program;
      if (end > start && ::access(cand.c_str(), X_OK) == 0) {
        found = cand;
        break;
      }
      start = end + 1;
    }
    if (found.empty()) {
      r.output = program + ": not found on PATH";
      return r;
    }
    program = found;
  }

  int in = ::memfd_create("keyturn-stdin", MFD_CLOEXEC);
  if (in < 0) {
    r.output = "memfd_create failed";
    return r;
  }
  Fd inFd(in);
  if (!spec.stdin_data.empty()) {
    if (::write(in, spec.stdin_data.data(), spec.stdin_data.size()) !=
        static_cast<ssize_t>(spec.stdin_data.size())) {
      r.output = "cannot buffer stdin";
      return r;
    }
    ::lseek(in, 0, SEEK_SET);
  }
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) {
    r.output = "pipe failed";
    return r;
  }
  Fd readEnd(pipefd[0]);
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(pipefd[1]);
    r.output = "fork failed";
    return r;
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::dup2(in, 0);
    ::dup2(pipefd[1], 1);
    ::dup2(pipefd[1], 2);
    if (switchUser) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) ::_exit(126);
    }
    if (::chdir("/") != 0) ::_exit(126);  // never run from the agent's own folder
    ::execve(program.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also from the parent: no race with the kill below
  ::close(pipefd[1]);

  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::seconds(spec.timeout_s);
  char buf[16384];
  bool eof = false;
  while (!eof) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0 && !r.timed_out) {
      r.timed_out = true;
      ::kill(-pid, SIGKILL);  // the whole group: children of the script die too
    }
    struct pollfd p{readEnd.fd, POLLIN, 0};
    // After the kill, descendants that escaped the group could hold the pipe: bound the drain.
    int rc = ::poll(&p, 1, r.timed_out ? 500 : static_cast<int>(left > 1000 ? 1000 : left));
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) {
      if (r.timed_out) break;
      continue;
    }
    ssize_t n = ::read(readEnd.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      eof = true;
      break;
    }
    std::size_t room = spec.output_cap > r.output.size() ? spec.output_cap - r.output.size() : 0;
    std::size_t take = static_cast<std::size_t>(n) < room ? static_cast<std::size_t>(n) : room;
    r.output.append(buf, take);
    if (take < static_cast<std::size_t>(n)) r.truncated = true;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ::kill(-pid, SIGKILL);  // leftovers of a finished command do not linger
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) r.exit_code = 128 + WTERMSIG(status);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && r.output.empty()) r.output = "exec failed";
  return r;
}

}  // namespace keyturn::plugin
