// PluginHost: loads the action plugins of the agent from one folder and dispatches
// actions to them. The daemon creates one at start, then for each accepted token calls
// validate() (before journaling), idempotent() (for the resume rule of spec §7) and
// execute().
//
// Loading is all-or-nothing and fails closed: a plugin file that is group/world-writable
// or not owned by root or the agent's user, a manifest whose ABI version or actions do
// not match the library, or two plugins claiming one action, and load() returns the
// error with no plugin loaded.
#pragma once

#include <Poco/ClassLoader.h>
#include <Poco/JSON/Object.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "keyturn/plugin.h"
#include "keyturn/result.h"

namespace keyturn::plugin {

class PluginHost {
 public:
  PluginHost();
  ~PluginHost();  // tears plugins down before their libraries are unloaded
  PluginHost(const PluginHost&) = delete;
  PluginHost& operator=(const PluginHost&) = delete;

  // Loads every `<name>.json` manifest in `dir` with its `<name>.so` library and calls
  // setUp(config) on each plugin (config: agent keys below "plugins.", prefix removed).
  // Reasons: "plugin_rejected" (permissions, ABI, actions, duplicates), "bad_config".
  Status load(const std::string& dir, const PluginConfig& config);

  std::vector<std::string> actions() const;  // sorted
  bool handles(const std::string& action) const;
  // "unknown_action" if no plugin handles it; otherwise the plugin's verdict.
  Status validate(const std::string& action, const Poco::JSON::Object& params) const;
  // False for an unknown action (fail closed: never resumed).
  bool idempotent(const std::string& action) const;
  // Validates again, then runs. Unknown action → failed outcome "unknown_action".
  Outcome execute(const std::string& action, const Poco::JSON::Object& params,
                  ExecutionContext& context);

 private:
  void unloadAll();
  using Loader = Poco::ClassLoader<ActionPlugin>;
  std::unique_ptr<Loader> loader_;
  std::vector<std::unique_ptr<ActionPlugin>> plugins_;
  std::map<std::string, ActionPlugin*> byAction_;
};

// Reads the plugin keys ("plugins.*") of an agent configuration file (Poco properties
// or INI by extension) into a PluginConfig.
Result<PluginConfig> readPluginConfig(const std::string& agentConfigFile);

}  // namespace keyturn::plugin
