#include "plugin_fixture.h"

#include <Poco/JSON/Parser.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace keyturn::test {

PluginSandbox::PluginSandbox() {
  char tmpl[] = "/tmp/keyturn-plugin-XXXXXX";
  std::string base = ::mkdtemp(tmpl);
  root = base + "/root";
  fakebin = base + "/fakebin";
  fs::create_directories(root);
  fs::create_directories(fakebin);
  for (const char* tool : {"cryptsetup", "systemctl", "loginctl", "shutdown", "apt-get", "dpkg"}) {
    std::string p = fakebin + "/" + tool;
    std::ofstream(p) << "#!/bin/sh\necho \"" << tool << " $*\" >> " << base
                     << "/argv.log\necho \"DEBIAN_FRONTEND=$DEBIAN_FRONTEND\" >> " << base << "/env.log\n"
                     << "echo ran " << tool << "\n";
    fs::permissions(p, fs::perms::owner_all);
  }
  platform = std::make_unique<plugin::SandboxPlatform>(root, fakebin);
}

PluginSandbox::~PluginSandbox() {
  std::error_code ec;
  fs::remove_all(fs::path(root).parent_path(), ec);
}

std::string PluginSandbox::copyPlugins() {
  pluginDir = fs::path(root).parent_path() / "plugins";
  fs::create_directories(pluginDir);
  for (const auto& e : fs::directory_iterator(KEYTURN_PLUGIN_DIR)) {
    fs::copy_file(e.path(), pluginDir + "/" + e.path().filename().string(), fs::copy_options::overwrite_existing);
    fs::permissions(pluginDir + "/" + e.path().filename().string(), fs::perms(0644));
  }
  return pluginDir;
}

Status PluginSandbox::load(const plugin::PluginConfig& config) {
  if (pluginDir.empty()) copyPlugins();
  return host.load(pluginDir, config);
}

plugin::Outcome PluginSandbox::run(const std::string& action, const std::string& paramsJson,
                                   const std::string& artifact) {
  plugin::ExecutionContext ctx{*platform, "r-1", artifact};
  return host.execute(action, *parse(paramsJson), ctx);
}

std::string PluginSandbox::log() const { return readAll(fs::path(root).parent_path() / "argv.log"); }

std::string PluginSandbox::makeFile(const std::string& rel, const std::string& data) {
  std::string p = root + "/" + rel;
  fs::create_directories(fs::path(p).parent_path());
  std::ofstream(p) << data;
  return p;
}

Poco::JSON::Object::Ptr parse(const std::string& json) {
  Poco::JSON::Parser parser;
  return parser.parse(json).extract<Poco::JSON::Object::Ptr>();
}

std::string readAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace keyturn::test
