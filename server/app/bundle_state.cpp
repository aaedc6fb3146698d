#include "app/bundle_state.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "keyturn/bundle.h"
#include "keyturn/crypto_util.h"

namespace keyturn::server {
namespace {
constexpr const char* kCeremony =
    "; finish the bundle ceremony (keyturn bundle new, then keyturn bundle sign by the "
    "threshold of admins) and copy the signed bundle there";
}

Result<std::shared_ptr<const AcceptedBundle>> BundleState::current(std::time_t now) {
  using R = Result<std::shared_ptr<const AcceptedBundle>>;
  std::lock_guard<std::mutex> lock(mutex_);
  if (accepted_) return accepted_;
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    lastMtimeNs_ = lastSize_ = -1;
    return R::fail("no_trust_bundle", "no trust bundle at " + path_ + kCeremony);
  }
  std::int64_t mtimeNs =
      static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  // Verifying runs every policy through the sandbox: do it once per file version,
  // not once per request.
  if (mtimeNs == lastMtimeNs_ && st.st_size == lastSize_)
    return R::fail("no_trust_bundle", lastError_);
  lastMtimeNs_ = mtimeNs;
  lastSize_ = st.st_size;
  auto bytes = readFile(path_, kMaxBundleBytes);
  if (!bytes) {
    lastError_ = "cannot read " + path_ + ": " + std::strerror(errno);
    return R::fail("no_trust_bundle", lastError_);
  }
  AcceptOptions options;
  options.now = now;
  auto accepted = acceptInitialBundle(*bytes, std::nullopt, options);
  if (!accepted) {
    lastError_ =
        path_ + " was refused (" + accepted.reason() + ": " + accepted.detail() + ")" + kCeremony;
    return R::fail("no_trust_bundle", lastError_);
  }
  if (accepted->bundle.tenant != tenant_) {
    lastError_ = path_ + " is for tenant \"" + accepted->bundle.tenant +
                 "\", this server serves \"" + tenant_ + "\"";
    return R::fail("no_trust_bundle", lastError_);
  }
  accepted_ = std::make_shared<const AcceptedBundle>(std::move(accepted).value());
  return accepted_;
}

Status BundleState::publish(std::shared_ptr<const AcceptedBundle> next) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!accepted_) return Status::fail("no_trust_bundle", "no bundle is in force to update");
  if (!next || next->bundle.version != accepted_->bundle.version + 1)
    return Status::fail("version_gap", "only version " +
                                           std::to_string(accepted_->bundle.version + 1) +
                                           " can follow the bundle in force");
  accepted_ = std::move(next);
  return Status::ok();
}

std::uint64_t BundleState::version(std::time_t now) {
  auto bundle = current(now);
  return bundle ? bundle.value()->bundle.version : 0;
}

}  // namespace keyturn::server
