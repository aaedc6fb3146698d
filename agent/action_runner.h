// What the token processor needs of the plugins: which actions exist, whether params are
// acceptable, whether an action may be resumed, and running it. The daemon uses the
// PluginHost (PluginActionRunner); tests use a fake that counts executions.
#pragma once

#include <Poco/JSON/Object.h>

#include <cstdint>
#include <map>
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
  // What an accepted token's action needs before it may start (an app.install's
  // artifact), obtained before the token is journaled. `later` with a `detail`: a
  // transient failure (the coordinator unreachable or failing) while the token's window
  // (`windowEnd`, kt.exp) is open: the token waits and this is asked again. A failure
  // refuses the token with its reason; nothing ran. The default needs nothing.
  struct Readiness {
    bool later = false;
    std::string detail;
  };
  virtual Result<Readiness> prepare(const std::string& action, const Poco::JSON::Object& params,
                                    const std::string& requestId, std::int64_t windowEnd) {
    (void)action, (void)params, (void)requestId, (void)windowEnd;
    return Readiness{};
  }
  // Drops what prepare() obtained for a request that will not be executed now.
  virtual void abandon(const std::string& requestId) { (void)requestId; }
  // Runs it. `windowEnd` is the token's kt.exp: anything the action waits for (an
  // artifact download not prepared before) gives up by then.
  virtual plugin::Outcome execute(const std::string& action, const Poco::JSON::Object& params,
                                  const std::string& requestId, std::int64_t windowEnd) = 0;
};

// The real runner: a loaded PluginHost and the Platform plugins act through. Borrows all.
// With a fetcher, prepare() of an app.install of source "artifact" downloads and
// verifies the artifact (later while the coordinator cannot serve it and the window is
// open; refused with the fetcher's reason otherwise); execute() hands the verified path
// to the plugin (which checks it again) and removes it afterwards. An execution that
// was not prepared (an interrupted install resumed after a crash) downloads it then.
class PluginActionRunner : public ActionRunner {
 public:
  PluginActionRunner(plugin::PluginHost& host, plugin::Platform& platform, ArtifactFetcher* fetcher = nullptr)
      : host_(host), platform_(platform), fetcher_(fetcher) {}
  std::set<std::string> actions() const override;
  Status validate(const std::string& action, const Poco::JSON::Object& params) const override;
  bool idempotent(const std::string& action) const override;
  Result<Readiness> prepare(const std::string& action, const Poco::JSON::Object& params,
                            const std::string& requestId, std::int64_t windowEnd) override;
  void abandon(const std::string& requestId) override;
  plugin::Outcome execute(const std::string& action, const Poco::JSON::Object& params,
                          const std::string& requestId, std::int64_t windowEnd) override;

 private:
  plugin::PluginHost& host_;
  plugin::Platform& platform_;
  ArtifactFetcher* fetcher_;
  std::map<std::string, std::string> prepared_;  // request id -> verified artifact path
};

}  // namespace keyturn::agent
