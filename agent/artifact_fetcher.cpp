#include "artifact_fetcher.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

#include "keyturn/crypto_util.h"
#include "keyturn/json.h"

namespace keyturn::agent {
namespace {

Error ioError(const std::string& what, const std::string& path) {
  return Error{"io", what + " " + path + ": " + std::strerror(errno)};
}

std::string randomName() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  std::string name = "artifact-";
  for (int i = 0; i < 16; ++i) name += kHex[rng() % 16];
  return name;
}

std::string coordinatorError(const Reply& r) {
  auto o = json::parseObject(r.body);
  std::string e = "coordinator answered " + std::to_string(r.status);
  if (o && o.value()->has("error")) e += " " + o.value()->optValue<std::string>("error", "");
  if (o && o.value()->has("detail")) e += ": " + o.value()->optValue<std::string>("detail", "");
  return e;
}

}  // namespace

ArtifactFetcher::ArtifactFetcher(std::string dir, Download download, Sleep sleep, Clock clock, AgentLog& log,
                                 std::int64_t retrySeconds)
    : dir_(std::move(dir)),
      download_(std::move(download)),
      sleep_(std::move(sleep)),
      clock_(std::move(clock)),
      log_(log),
      retrySeconds_(std::max<std::int64_t>(1, retrySeconds)) {}

Status ArtifactFetcher::prepare() const {
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) return ioError("cannot create", dir_);
  struct stat st {};
  if (::lstat(dir_.c_str(), &st) != 0) return ioError("cannot inspect", dir_);
  if (!S_ISDIR(st.st_mode)) return Status::fail("io", dir_ + " is not a directory (or is a link)");
  if (st.st_uid != ::geteuid()) return Status::fail("io", dir_ + " is not owned by the agent's user");
  if ((st.st_mode & 0777) != 0700 && ::chmod(dir_.c_str(), 0700) != 0) return ioError("cannot chmod 700", dir_);
  // Leftovers of an interrupted run: never handed to a plugin again.
  if (DIR* d = ::opendir(dir_.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") ::unlinkat(::dirfd(d), name.c_str(), 0);
    }
    ::closedir(d);
  }
  return Status::ok();
}

void ArtifactFetcher::release(const std::string& path) const {
  if (!path.empty()) ::unlink(path.c_str());
}

ArtifactFetcher::Attempt ArtifactFetcher::attempt(const std::string& sha256, std::uint64_t size, std::string& path,
                                                  Error& error) {
  path = dir_ + "/" + randomName();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = ioError("cannot create", path);
    path.clear();
    return Attempt::kFinal;
  }
  Sha256Stream hash;
  std::uint64_t received = 0;
  bool oversize = false, writeFailed = false;
  auto reply = download_("/api/v1/agent/artifacts/" + sha256, [&](const char* data, std::size_t n) {
    // Never read (or store) past the size the admins signed.
    if (received + n > size) {
      oversize = true;
      return false;
    }
    received += n;
    hash.update(data, n);
    for (std::size_t off = 0; off < n;) {
      ssize_t w = ::write(fd, data + off, n - off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        writeFailed = true;
        return false;
      }
      off += static_cast<std::size_t>(w);
    }
    return true;
  });
  bool synced = ::fsync(fd) == 0;
  ::close(fd);
  auto discard = [&](Error e, Attempt a) {
    ::unlink(path.c_str());
    path.clear();
    error = std::move(e);
    return a;
  };
  if (writeFailed || !synced) return discard(ioError("cannot write", path), Attempt::kFinal);
  if (oversize)
    return discard(Error{"artifact_mismatch", "the coordinator sent more than params.size (" + std::to_string(size) +
                                                  ") bytes; nothing installed"},
                   Attempt::kFinal);
  if (!reply) return discard(Error{"artifact_unavailable", reply.detail()}, Attempt::kRetry);
  if (reply->status >= 500 || reply->status == 429)
    return discard(Error{"artifact_unavailable", coordinatorError(reply.value())}, Attempt::kRetry);
  if (reply->status != 200)
    return discard(Error{"artifact_unavailable", coordinatorError(reply.value())}, Attempt::kFinal);
  if (received != size)
    return discard(Error{"artifact_mismatch", "the artifact is " + std::to_string(received) +
                                                  " bytes, params.size says " + std::to_string(size) +
                                                  "; nothing installed"},
                   Attempt::kFinal);
  std::string got = toHex(hash.finish());
  if (got != sha256)
    return discard(Error{"artifact_mismatch", "the artifact's SHA-256 is " + got +
                                                  ", params.sha256 says " + sha256 + "; nothing installed"},
                   Attempt::kFinal);
  return Attempt::kDone;
}

Result<std::string> ArtifactFetcher::fetch(const std::string& sha256, std::uint64_t size, std::int64_t windowEnd) {
  using R = Result<std::string>;
  if (Status s = prepare(); !s) return s.error();
  if (clock_() >= windowEnd)
    return R::fail("artifact_unavailable", "the token's window closed before the artifact could be downloaded");
  const std::int64_t retryEnd = clock_() + retrySeconds_;
  const std::int64_t giveUp = std::min(windowEnd, retryEnd);
  std::int64_t backoffMs = 1000;
  log_.info("downloading artifact",
            {LogField::str("sha256", sha256), LogField::num("size", static_cast<std::int64_t>(size))});
  for (int tries = 1;; ++tries) {
    std::string path;
    Error error;
    Attempt a = attempt(sha256, size, path, error);
    if (a == Attempt::kDone) {
      log_.info("artifact downloaded and verified",
                {LogField::str("sha256", sha256), LogField::num("size", static_cast<std::int64_t>(size))});
      return path;
    }
    if (a == Attempt::kFinal) return R::fail(error.reason, error.detail);
    if (clock_() * 1000 + backoffMs >= giveUp * 1000) {
      const std::string tried = " (" + std::to_string(tries) + (tries == 1 ? " try" : " tries");
      if (giveUp < windowEnd) return R::fail(kRetryLater, error.detail + tried + "; trying again later)");
      return R::fail(error.reason, error.detail + tried + "; gave up: the token's window closes)");
    }
    log_.warn("artifact download failed; retrying",
              {LogField::str("sha256", sha256), LogField::str("detail", error.detail), LogField::num("in_ms", backoffMs)});
    if (!sleep_(backoffMs)) return R::fail("artifact_unavailable", "the agent is stopping: " + error.detail);
    backoffMs = std::min<std::int64_t>(backoffMs * 2, 30000);
  }
}

}  // namespace keyturn::agent
