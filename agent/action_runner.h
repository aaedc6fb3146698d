// What the token processor needs of the plugins: which actions exist, whether params are
// acceptable, whether an action may be resumed, and running it. The daemon uses the
// PluginHost (PluginActionRunner); tests use a fake that counts executions.
#pragma once

#include <Poco/JSON/Object.h>

#include <set>
#include <string>

#include "keyturn/plugin.h"
#include "keyturn/result.h"

namespace keyturn::plugin {
class PluginHost;
}

namespace keyturn::agent {

class ActionRunner {
 public:
  virtual ~ActionRunner() = default;
  virtual std::set<std::string> actions() const = 0;
  // "unknown_action" when nothing handles it, else the plugin's verdict on params.
  virtual Status validate(const std::string& action, const Poco::JSON::Object& params) const = 0;
  // False for an unknown action (never resumed).
  virtual bool idempotent(const std::string& action) const = 0;
  virtual plugin::Outcome execute(const std::string& action, const Poco::JSON::Object& params,
                                  const std::string& requestId) = 0;
};

// The real runner: a loaded PluginHost and the Platform plugins act through. Borrows both.
class PluginActionRunner : public ActionRunner {
 public:
  PluginActionRunner(plugin::PluginHost& host, plugin::Platform& platform) : host_(host), platform_(platform) {}
  std::set<std::string> actions() const override;
  Status validate(const std::string& action, const Poco::JSON::Object& params) const override;
  bool idempotent(const std::string& action) const override;
  plugin::Outcome execute(const std::string& action, const Poco::JSON::Object& params,
                          const std::string& requestId) override;

 private:
  plugin::PluginHost& host_;
  plugin::Platform& platform_;
};

}  // namespace keyturn::agent
