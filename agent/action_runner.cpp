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

plugin::Outcome PluginActionRunner::execute(const std::string& action, const Poco::JSON::Object& params,
                                            const std::string& requestId, std::int64_t windowEnd) {
  plugin::ExecutionContext context{platform_, requestId, ""};
  const bool artifact = action == "app.install" && params.optValue<std::string>("source", "") == "artifact";
  if (!artifact || !fetcher_) return host_.execute(action, params, context);
  // validate() already checked sha256 (64 hex) and size (a non-negative integer).
  std::string sha256 = params.optValue<std::string>("sha256", "");
  auto size = params.optValue<Poco::Int64>("size", -1);
  if (size < 0) return plugin::Outcome::fail("malformed", "field 'size' must be a non-negative integer");
  auto path = fetcher_->fetch(sha256, static_cast<std::uint64_t>(size), windowEnd);
  if (!path) return plugin::Outcome::fail(path.reason(), path.detail());
  context.artifact_path = path.value();
  plugin::Outcome outcome = host_.execute(action, params, context);
  fetcher_->release(path.value());
  return outcome;
}

}  // namespace keyturn::agent
