// Whether the coordinator holds an accepted trust bundle. Until DIR/bundle.json holds
// a bundle that core's acceptInitialBundle accepts for the configured tenant, the
// server refuses every /api/v1 call: admins and agents must not be served under a
// roster nobody signed. The file is re-examined when it changes, so finishing the
// ceremony needs no restart.
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>

#include "keyturn/bundle_verifier.h"
#include "keyturn/result.h"

namespace keyturn::server {

class BundleState {
 public:
  BundleState(std::string bundlePath, std::string tenant)
      : path_(std::move(bundlePath)), tenant_(std::move(tenant)) {}

  // The accepted bundle, or why there is none (reason "no_trust_bundle", with a detail
  // naming the file and the check that failed). Once accepted, the bundle is kept;
  // later versions come through the workflow, not through this file. Thread-safe.
  Result<std::shared_ptr<const AcceptedBundle>> current(std::time_t now);

  // Makes `next` the bundle in force (maa.bundle.update). The caller accepted it with
  // core's acceptBundleUpdate against current(); it must be exactly the next version:
  // "version_gap" otherwise, "no_trust_bundle" while none is accepted. Thread-safe.
  Status publish(std::shared_ptr<const AcceptedBundle> next);

  // The accepted version, 0 while there is none. Thread-safe.
  std::uint64_t version(std::time_t now);

 private:
  std::string path_;
  std::string tenant_;
  std::mutex mutex_;
  std::shared_ptr<const AcceptedBundle> accepted_;
  std::string lastError_;
  std::int64_t lastMtimeNs_ = -1;
  std::int64_t lastSize_ = -1;
};

}  // namespace keyturn::server
