#include "action_runner.h"

#include "artifact_fetcher.h"
#include "plugin_host.h"

namespace keyturn::agent {

std::set<std::string> PluginActionRunner::actions() const {
  auto list = host_.actions();
  return std::set<std::string>(list.begin(), list.end());
}

Status PluginActionRunner::validate(const std::string& action, const Poco::JSON::Object& params) const {
  return host_.validate(action, params);
}

bool PluginActionRunner::idempotent(const std::string& action) const { return host_.idempotent(action); }

namespace {

bool needsArtifact(const std::string& action, const Poco::JSON::Object& params) {
  return action == "app.install" && params.optValue<std::string>("source", "") == "artifact";
}

}  // namespace

Result<ActionRunner::Readiness> PluginActionRunner::prepare(const std::string& action,
                                                            const Poco::JSON::Object& params,
                                                            const std::string& requestId, std::int64_t windowEnd) {
  using R = Result<Readiness>;
  if (!fetcher_ || !needsArtifact(action, params) || prepared_.count(requestId)) return Readiness{};
  // validate() already checked sha256 (64 hex) and size (a non-negative integer).
  auto size = params.optValue<Poco::Int64>("size", -1);
  if (size < 0) return R::fail("malformed", "field 'size' must be a non-negative integer");
  auto path = fetcher_->fetch(params.optValue<std::string>("sha256", ""), static_cast<std::uint64_t>(size), windowEnd);
  if (!path && path.reason() == ArtifactFetcher::kRetryLater) return Readiness{true, path.detail()};
  if (!path) return R::fail(path.reason(), path.detail());
  prepared_[requestId] = path.value();
  return Readiness{};
}

void PluginActionRunner::abandon(const std::string& requestId) {
  auto it = prepared_.find(requestId);
  if (it == prepared_.end()) return;
  if (fetcher_) fetcher_->release(it->second);
  prepared_.erase(it);
}

plugin::Outcome PluginActionRunner::execute(const std::string& action, const Poco::JSON::Object& params,
                                            const std::string& requestId, std::int64_t windowEnd) {
  plugin::ExecutionContext context{platform_, requestId, ""};
  if (!fetcher_ || !needsArtifact(action, params)) return host_.execute(action, params, context);
  std::string path;
  if (auto it = prepared_.find(requestId); it != prepared_.end()) {
    path = it->second;
    prepared_.erase(it);
  } else {
    // Not prepared: a resumed execution, already journaled; the action fails if the
    // artifact cannot be had within the retry window.
    auto size = params.optValue<Poco::Int64>("size", -1);
    if (size < 0) return plugin::Outcome::fail("malformed", "field 'size' must be a non-negative integer");
    auto fetched =
        fetcher_->fetch(params.optValue<std::string>("sha256", ""), static_cast<std::uint64_t>(size), windowEnd);
    if (!fetched && fetched.reason() == ArtifactFetcher::kRetryLater)
      return plugin::Outcome::fail("artifact_unavailable", fetched.detail());
    if (!fetched) return plugin::Outcome::fail(fetched.reason(), fetched.detail());
    path = fetched.value();
  }
  context.artifact_path = path;
  plugin::Outcome outcome = host_.execute(action, params, context);
  fetcher_->release(path);
  return outcome;
}

}  // namespace keyturn::agent
