#include "keyturn/trust_store.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "keyturn/crypto_util.h"

namespace keyturn {

namespace fs = std::filesystem;

Result<TrustStore> TrustStore::open(const std::string& stateDir) {
  std::error_code ec;
  if (!fs::exists(stateDir, ec)) {
    fs::create_directories(stateDir, ec);
    if (ec) return Result<TrustStore>::fail("io", "cannot create state folder " + stateDir + ": " + ec.message());
    ::chmod(stateDir.c_str(), 0700);
  } else if (!fs::is_directory(stateDir, ec)) {
    return Result<TrustStore>::fail("io", stateDir + " is not a folder");
  }
  return TrustStore(stateDir);
}

std::string TrustStore::bundlePath() const { return (fs::path(dir_) / "bundle.json").string(); }
std::string TrustStore::previousPath() const { return (fs::path(dir_) / "bundle.prev.json").string(); }
std::string TrustStore::journalPath() const { return (fs::path(dir_) / "journal.db").string(); }

bool TrustStore::initialized() const {
  std::error_code ec;
  return fs::exists(bundlePath(), ec);
}

Status TrustStore::store(const TrustBundle& accepted, bool keepPrevious) {
  if (keepPrevious) {
    auto current = readFile(bundlePath(), kMaxBundleBytes);
    if (!current) return Status::fail("io", "cannot read " + bundlePath() + ": " + std::strerror(errno));
    if (std::string err = writeFileAtomic(previousPath(), *current, 0600); !err.empty()) return Status::fail("io", err);
  }
  if (std::string err = writeFileAtomic(bundlePath(), accepted.fileBytes, 0600); !err.empty())
    return Status::fail("io", err);
  return Status::ok();
}

Result<std::uint64_t> TrustStore::init(std::string_view fileBytes,
                                       const std::optional<std::string>& expectSha256Hex, std::int64_t now) {
  if (initialized())
    return Result<std::uint64_t>::fail("already_initialized",
                                       "the state folder already trusts a bundle; use trust update");
  auto accepted = acceptInitialBundle(fileBytes, expectSha256Hex, AcceptOptions{now, true, {}});
  if (!accepted) return accepted.error();
  if (Status s = store(accepted->bundle, false); !s) return s.error();
  return accepted->bundle.version;
}

Result<std::uint64_t> TrustStore::update(std::string_view fileBytes, std::int64_t now) {
  auto current = load(now);
  if (!current) return current.error();
  auto accepted = acceptBundleUpdate(current->bundle, fileBytes, AcceptOptions{now, true, {}});
  if (!accepted) return accepted.error();
  if (Status s = store(accepted->bundle, true); !s) return s.error();
  return accepted->bundle.version;
}

Result<AcceptedBundle> TrustStore::load(std::int64_t now, const PolicyLimits& limits) const {
  using R = Result<AcceptedBundle>;
  if (!initialized()) return R::fail("not_initialized", "no trust bundle in " + dir_ + "; run trust init first");
  auto bytes = readFile(bundlePath(), kMaxBundleBytes);
  if (!bytes) return R::fail("io", "cannot read " + bundlePath() + ": " + std::strerror(errno));
  AcceptOptions reverify{now, false, limits};
  std::error_code ec;
  if (fs::exists(previousPath(), ec)) {
    auto prevBytes = readFile(previousPath(), kMaxBundleBytes);
    if (!prevBytes) return R::fail("io", "cannot read " + previousPath() + ": " + std::strerror(errno));
    auto prev = TrustBundle::parse(*prevBytes);
    if (!prev) return R::fail(prev.reason(), "stored previous bundle: " + prev.detail());
    auto accepted = acceptBundleUpdate(prev.value(), *bytes, reverify);
    if (!accepted) return R::fail(accepted.reason(), "stored bundle: " + accepted.detail());
    return accepted;
  }
  auto accepted = acceptInitialBundle(*bytes, std::nullopt, reverify);
  if (!accepted) return R::fail(accepted.reason(), "stored bundle: " + accepted.detail());
  return accepted;
}

std::uint64_t TrustStore::currentVersion() const {
  auto bytes = readFile(bundlePath(), kMaxBundleBytes);
  if (!bytes) return 0;
  auto b = TrustBundle::parse(*bytes);
  return b ? b->version : 0;
}

}  // namespace keyturn
