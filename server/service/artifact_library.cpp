#include "service/artifact_library.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <Poco/JSON/Object.h>

#include <cerrno>
#include <cstring>

#include "keyturn/crypto_util.h"
#include "keyturn/json.h"

namespace keyturn::server {

namespace {

constexpr std::size_t kChunk = 64 * 1024;

Status ioError(const std::string& what, const std::string& path) {
  return Status::fail("io", what + " " + path + ": " + std::strerror(errno));
}

// Closes and (unless released) unlinks a temporary upload file.
struct TempFile {
  int fd = -1;
  std::string path;
  ~TempFile() {
    if (fd >= 0) ::close(fd);
    if (!path.empty()) ::unlink(path.c_str());
  }
};

bool validName(const std::string& name) {
  if (name.empty() || name.size() > kMaxArtifactName) return false;
  for (char c : name)
    if (c < 0x20 || c > 0x7e || c == '/' || c == '\\') return false;
  return true;
}

// Params of an open app.install token name this artifact.
bool namesArtifact(const std::string& paramsJson, const std::string& sha256) {
  auto params = json::parseObject(paramsJson);
  if (!params) return false;
  const auto& p = *params.value();
  return p.optValue<std::string>("source", "") == "artifact" &&
         p.optValue<std::string>("sha256", "") == sha256;
}

}  // namespace

bool isSha256Hex(const std::string& text) {
  if (text.size() != 64) return false;
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

ArtifactLibrary::ArtifactLibrary(Store& store, std::string dir, std::uint64_t maxBytes)
    : store_(store), dir_(std::move(dir)), maxBytes_(maxBytes) {}

Status ArtifactLibrary::prepare() const {
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) return ioError("cannot create", dir_);
  struct stat st {};
  if (::lstat(dir_.c_str(), &st) != 0) return ioError("cannot inspect", dir_);
  if (!S_ISDIR(st.st_mode)) return Status::fail("io", dir_ + " is not a directory (or is a link)");
  if (st.st_uid != ::geteuid()) return Status::fail("io", dir_ + " is not owned by this user");
  // Nobody else may add or replace an artifact behind the coordinator's back.
  if ((st.st_mode & 0777) != 0700 && ::chmod(dir_.c_str(), 0700) != 0)
    return ioError("cannot chmod 700", dir_);
  return Status::ok();
}

Result<StoredArtifact> ArtifactLibrary::upload(std::istream& body, const std::string& name,
                                               const std::string& uploader, std::int64_t now) {
  using R = Result<StoredArtifact>;
  if (!validName(name))
    return R::fail("malformed", "name must be 1.." + std::to_string(kMaxArtifactName) +
                                    " printable ASCII characters without / or \\");
  if (Status s = prepare(); !s) return s.error();
  TempFile temp;
  std::string pattern = dir_ + "/upload-XXXXXX";
  temp.fd = ::mkstemp(pattern.data());  // O_EXCL, mode 0600
  if (temp.fd < 0) return ioError("cannot create a temporary file in", dir_).error();
  temp.path = pattern;
  Sha256Stream hash;
  std::uint64_t size = 0;
  char buf[kChunk];
  while (body) {
    body.read(buf, sizeof buf);
    std::streamsize n = body.gcount();
    if (n <= 0) break;
    size += static_cast<std::uint64_t>(n);
    if (size > maxBytes_)
      return R::fail("too_large", "the artifact exceeds " + std::to_string(maxBytes_) +
                                      " bytes (keyturn.artifacts.max_bytes)");
    hash.update(buf, static_cast<std::size_t>(n));
    for (std::streamsize off = 0; off < n;) {
      ssize_t w = ::write(temp.fd, buf + off, static_cast<std::size_t>(n - off));
      if (w < 0) {
        if (errno == EINTR) continue;
        return ioError("cannot write", temp.path).error();
      }
      off += w;
    }
  }
  if (::fsync(temp.fd) != 0) return ioError("cannot sync", temp.path).error();
  ArtifactRecord record{toHex(hash.finish()), static_cast<std::int64_t>(size), name, uploader, now};
  // Renamed even when the file exists: the same bytes again repair a file changed on disk.
  std::string final = dir_ + "/" + record.sha256;
  std::lock_guard files(filesMu_);
  if (::rename(temp.path.c_str(), final.c_str()) != 0) return ioError("cannot store", final).error();
  temp.path.clear();
  int dirFd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirFd >= 0) {
    ::fsync(dirFd);
    ::close(dirFd);
  }
  Status s = store_.insertArtifact(
      record, AuditEvent{uploader, "artifact.uploaded", record.sha256,
                         "{\"size\":" + std::to_string(record.size) +
                             ",\"name\":" + json::quote(name) + "}"});
  if (s) return StoredArtifact{record, true};
  if (s.reason() != "conflict") return s.error();
  auto existing = store_.getArtifact(record.sha256);
  if (!existing) return existing.error();
  return StoredArtifact{existing.value(), false};
}

Result<std::vector<ArtifactRecord>> ArtifactLibrary::list() { return store_.listArtifacts(); }

Result<std::vector<std::string>> ArtifactLibrary::prune(std::int64_t now, std::int64_t retentionSeconds) {
  const std::int64_t before = now - retentionSeconds;
  auto artifacts = store_.listArtifacts();
  if (!artifacts) return artifacts.error();
  auto uses = store_.requestUses("app.install");
  if (!uses) return uses.error();
  std::vector<std::string> pruned;
  for (const ArtifactRecord& a : artifacts.value()) {
    bool keep = a.uploadedAt > before;
    for (const RequestUse& u : uses.value())
      if (!keep && (u.open || u.lastChange > before) && namesArtifact(u.paramsJson, a.sha256)) keep = true;
    if (keep) continue;
    std::lock_guard files(filesMu_);
    Status s = store_.deleteArtifact(
        a.sha256, "app.install", now,
        AuditEvent{"coordinator", "artifact.pruned", a.sha256,
                   "{\"size\":" + std::to_string(a.size) + ",\"name\":" + json::quote(a.name) +
                       ",\"uploaded_at\":" + std::to_string(a.uploadedAt) +
                       ",\"retention_s\":" + std::to_string(retentionSeconds) + "}"});
    if (!s && (s.reason() == "conflict" || s.reason() == "not_found")) continue;  // next time
    if (!s) return s.error();
    const std::string file = dir_ + "/" + a.sha256;
    if (::unlink(file.c_str()) != 0 && errno != ENOENT) return ioError("cannot remove", file).error();
    pruned.push_back(a.sha256);
  }
  return pruned;
}

Status ArtifactLibrary::refuse(const std::string& deviceId, const std::string& sha256,
                               const std::string& reason, const std::string& detail,
                               std::int64_t now) {
  auto logged = store_.appendAudit(AuditEvent{"device:" + deviceId, "artifact.refused", sha256,
                                              "{\"reason\":" + json::quote(reason) + "}"},
                                   now);
  if (!logged) return logged.error();
  return Status::fail(reason, detail);
}

Result<std::string> ArtifactLibrary::pathForDevice(const std::string& deviceId,
                                                   const std::string& sha256, std::int64_t now) {
  if (!isSha256Hex(sha256))
    return Result<std::string>::fail("malformed", "the artifact id must be 64 lowercase hex");
  auto known = store_.getArtifact(sha256);
  if (!known) {
    if (known.reason() != "not_found") return known.error();
    return refuse(deviceId, sha256, "not_found", "no artifact " + sha256, now).error();
  }
  auto open = store_.openTokenParams(deviceId, "app.install");
  if (!open) return open.error();
  bool granted = false;
  for (const std::string& params : open.value()) granted = granted || namesArtifact(params, sha256);
  if (!granted)
    return refuse(deviceId, sha256, "forbidden",
                  "no token issued to this device and still open installs artifact " + sha256, now)
        .error();
  auto logged = store_.appendAudit(
      AuditEvent{"device:" + deviceId, "artifact.fetched", sha256,
                 "{\"size\":" + std::to_string(known->size) + "}"},
      now);
  if (!logged) return logged.error();
  return dir_ + "/" + sha256;
}

}  // namespace keyturn::server
