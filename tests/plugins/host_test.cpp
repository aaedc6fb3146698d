#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "plugin_fixture.h"

using namespace keyturn;
using namespace keyturn::test;
namespace fs = std::filesystem;

TEST_CASE("the host loads every built plugin and names their actions", "[plugins][host]") {
  PluginSandbox sb;
  REQUIRE(sb.load({}).isOk());
  CHECK(sb.host.actions() == std::vector<std::string>{"app.install", "app.uninstall", "device.lock",
                                                       "device.restart", "device.retire", "device.wipe",
                                                       "script.run"});
  CHECK(sb.host.idempotent("device.wipe"));
  CHECK_FALSE(sb.host.idempotent("script.run"));
  CHECK_FALSE(sb.host.idempotent("no.such"));
  CHECK(sb.host.validate("no.such", Poco::JSON::Object()).reason() == "unknown_action");
}

TEST_CASE("a manifest with another ABI version is refused", "[plugins][host]") {
  PluginSandbox sb;
  std::string dir = sb.copyPlugins();
  std::ofstream(dir + "/keyturn_app.json")
      << R"({"abi": 2, "class": "keyturn::plugin::AppPlugin", "actions": ["app.install", "app.uninstall"]})";
  auto s = sb.load({});
  REQUIRE_FALSE(s.isOk());
  CHECK(s.reason() == "plugin_rejected");
  CHECK_THAT(s.detail(), Catch::Contains("ABI"));
  CHECK(sb.host.actions().empty());
}

TEST_CASE("a manifest naming other actions than the library serves is refused", "[plugins][host]") {
  PluginSandbox sb;
  std::string dir = sb.copyPlugins();
  std::ofstream(dir + "/keyturn_app.json")
      << R"({"abi": 1, "class": "keyturn::plugin::AppPlugin", "actions": ["app.install"]})";
  auto s = sb.load({});
  REQUIRE_FALSE(s.isOk());
  CHECK_THAT(s.detail(), Catch::Contains("other actions"));
}

TEST_CASE("two plugins claiming the same action are refused", "[plugins][host]") {
  PluginSandbox sb;
  std::string dir = sb.copyPlugins();
  fs::copy_file(dir + "/keyturn_app.so", dir + "/keyturn_app2.so");
  fs::copy_file(dir + "/keyturn_app.json", dir + "/keyturn_app2.json");
  auto s = sb.load({});
  REQUIRE_FALSE(s.isOk());
  CHECK_THAT(s.detail(), Catch::Contains("two plugins claim action app.install"));
  CHECK(sb.host.actions().empty());
}

TEST_CASE("a group- or world-writable plugin file is refused", "[plugins][host]") {
  PluginSandbox sb;
  std::string dir = sb.copyPlugins();
  auto file = GENERATE(std::string("keyturn_script.so"), std::string("keyturn_script.json"));
  auto mode = GENERATE(0664, 0646);
  ::chmod((dir + "/" + file).c_str(), static_cast<mode_t>(mode));
  auto s = sb.load({});
  REQUIRE_FALSE(s.isOk());
  CHECK_THAT(s.detail(), Catch::Contains("writable"));
}

TEST_CASE("a bad plugin configuration fails the load", "[plugins][host]") {
  PluginSandbox sb;
  auto s = sb.load({{"wipe.strategy", "everything"}});
  REQUIRE_FALSE(s.isOk());
  CHECK(s.reason() == "bad_config");
}

TEST_CASE("plugin keys are read from an agent properties file", "[plugins][host]") {
  PluginSandbox sb;
  std::string f = sb.makeFile("agent.properties", "plugins.wipe.strategy = luks\nplugins.wipe.luks.devices = /dev/a, /dev/b\nserver.url = x\n");
  auto c = plugin::readPluginConfig(f);
  REQUIRE(c.isOk());
  CHECK(c.value().size() == 2);
  CHECK(c.value().at("wipe.strategy") == "luks");
  CHECK(c.value().at("wipe.luks.devices") == "/dev/a, /dev/b");
}
