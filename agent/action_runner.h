// What the token processor needs of the plugins: which actions exist, whether params are
// acceptable, whether an action may be resumed, and running it. The daemon uses the
// PluginHost (PluginActionRunner); tests use a fake that counts executions.
#pragma once

#include <Poco/JSON/Object.h>

#include <cstdint>
#include <set>
#include <string>

#include "keyturn/plugin.h"
#include "keyturn/result.h"

namespace keyturn::plugin {
class PluginHost;
}

namespace keyturn::agent {

class ArtifactFetcher;

class ActionRunner {
 public:
  virtual ~ActionRunner() = default;
  virtual std::set<std::string> actions() const = 0;
  // "unknown_action" when nothing handles it, else the plugin's verdict on params.
  virtual Status validate(const std::string& action, const Poco::JSON::Object& params) const = 0;
  // False for an unknown action (never resumed).
  virtual bool idempotent(const std::string& action) const = 0;
  // Runs it. `windowEnd` is the token's kt.exp: anything the action waits for (an
  // artifact download) gives up by then.
  virtual plugin::Outcome execute(const std::string& action, const Poco::JSON::Object& params,
                                  const std::string& requestId, std::int64_t windowEnd) = 0;
};

// The real runner: a loaded PluginHost and the Platform plugins act through. Borrows all.
// With a fetcher, an app.install of source "artifact" first downloads and verifies the
// artifact (refused as the fetcher's reason, nothing run, when that fails), hands the
// verified path to the plugin (which checks it again) and removes it afterwards.
class PluginActionRunner : public ActionRunner {
 public:
  PluginActionRunner(plugin::PluginHost& host, plugin::Platform& platform, ArtifactFetcher* fetcher = nullptr)
      : host_(host), platform_(platform), fetcher_(fetcher) {}
  std::set<std::string> actions() const override;
  Status validate(const std::string& action, const Poco::JSON::Object& params) const override;
  bool idempotent(const std::string& action) const override;
  plugin::Outcome execute(const std::string& action, const Poco::JSON::Object& params,
                          const std::string& requestId, std::int64_t windowEnd) override;

 private:
  plugin::PluginHost& host_;
  plugin::Platform& platform_;
  ArtifactFetcher* fetcher_;
};

}  // namespace keyturn::agent
