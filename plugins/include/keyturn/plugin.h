// The action plugin ABI: what a plugin shared library exports and the agent calls.
//
// A plugin library exports one or more ActionPlugin classes with the Poco ClassLoader
// manifest macros (POCO_BEGIN_MANIFEST(keyturn::plugin::ActionPlugin) ...), and ships
// a JSON manifest next to it naming the class, its actions and kAbiVersion. The host
// refuses a plugin whose ABI version or actions differ from what it declares.
// Lifecycle: default-constructed, setUp(config) once, then validate/execute any number
// of times, tearDown() before the library is unloaded.
#pragma once

#include <Poco/JSON/Object.h>

#include <map>
#include <string>
#include <vector>

#include "keyturn/platform.h"
#include "keyturn/result.h"

namespace keyturn::plugin {

// Bump on any change of ActionPlugin, Platform, Outcome or ExecutionContext.
inline constexpr int kAbiVersion = 1;

// Flat configuration keys of the agent below "plugins." (e.g. "wipe.strategy").
using PluginConfig = std::map<std::string, std::string>;

struct Outcome {
  enum class State { succeeded, failed };
  State state = State::failed;
  int exit_code = -1;
  std::string output;       // at most kMaxOutput bytes
  bool truncated = false;   // output was cut at kMaxOutput
  std::string reason;       // machine code on failure ("timeout", "sha256_mismatch", ...)
  std::string detail;       // a sentence for people (also notes such as "ran as root")

  static Outcome fail(std::string reason, std::string detail) {
    Outcome o;
    o.reason = std::move(reason);
    o.detail = std::move(detail);
    return o;
  }
  bool succeeded() const { return state == State::succeeded; }
};

struct ExecutionContext {
  Platform& platform;
  std::string request_id;
  std::string artifact_path;  // app.install source "artifact": the downloaded file
};

class ActionPlugin {
 public:
  virtual ~ActionPlugin() = default;
  // The ABI this plugin was compiled against (inline: the plugin's own constant).
  virtual int abiVersion() const { return kAbiVersion; }
  virtual std::vector<std::string> actions() const = 0;
  // Reads the configuration; a bad configuration fails here, at agent start.
  virtual Status setUp(const PluginConfig& config) = 0;
  virtual void tearDown() {}
  virtual bool idempotent(const std::string& action) const = 0;
  // Strict check of params (spec §7): unknown fields, wrong types, bad names refused;
  // the reason is "malformed" (or a plugin code) and the detail names the field.
  virtual Status validate(const std::string& action, const Poco::JSON::Object& params) const = 0;
  // Runs a validated action. Never throws.
  virtual Outcome execute(const std::string& action, const Poco::JSON::Object& params,
                          ExecutionContext& context) = 0;
};

}  // namespace keyturn::plugin
