// A sandbox for plugin tests: a temporary root, fake tools that append their argv to a
// log, the built plugins copied into a private plugin folder, and a loaded host.
#pragma once

#include <Poco/JSON/Object.h>

#include <memory>
#include <string>

#include "plugin_host.h"
#include "sandbox_platform.h"

namespace keyturn::test {

class PluginSandbox {
 public:
  PluginSandbox();
  ~PluginSandbox();

  // Copies the built plugins into a fresh folder of this sandbox and returns it.
  std::string copyPlugins();
  Status load(const plugin::PluginConfig& config);
  plugin::Outcome run(const std::string& action, const std::string& paramsJson,
                      const std::string& artifact = "");
  std::string log() const;  // what the fake tools recorded, one "tool arg..." line each
  std::string makeFile(const std::string& rel, const std::string& data);

  std::string root, fakebin, pluginDir;
  std::unique_ptr<plugin::SandboxPlatform> platform;
  plugin::PluginHost host;
};

Poco::JSON::Object::Ptr parse(const std::string& json);
std::string readAll(const std::string& path);

}  // namespace keyturn::test
