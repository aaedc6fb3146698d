#include "action_runner.h"

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
                                            const std::string& requestId) {
  plugin::ExecutionContext context{platform_, requestId, ""};
  return host_.execute(action, params, context);
}

}  // namespace keyturn::agent
