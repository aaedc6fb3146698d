#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "plugin_fixture.h"

using namespace keyturn;
using namespace keyturn::test;
namespace fs = std::filesystem;

TEST_CASE("an unconfigured wipe is refused and touches nothing", "[plugins][device]") {
  PluginSandbox sb;
  REQUIRE(sb.load({}).isOk());
  auto o = sb.run("device.wipe", R"({"mode":"full"})");
  CHECK_FALSE(o.succeeded());
  CHECK(o.reason == "wipe_not_configured");
  CHECK(sb.log().empty());
}

TEST_CASE("a paths wipe overwrites then removes exactly the configured paths", "[plugins][device]") {
  PluginSandbox sb;
  std::string a = sb.makeFile("data/a.txt", "secret-a");
  std::string b = sb.makeFile("data/dir/b.txt", "secret-b");
  std::string keep = sb.makeFile("keep.txt", "stay");
  // A hard link lets the test see the overwritten bytes after the unlink.
  fs::create_hard_link(a, sb.root + "/a.witness");
  REQUIRE(sb.load({{"wipe.strategy", "paths"}, {"wipe.paths", a + "," + sb.root + "/data/dir," + sb.root + "/gone"}}).isOk());
  auto o = sb.run("device.wipe", R"({"mode":"full"})");
  REQUIRE(o.succeeded());
  CHECK_FALSE(fs::exists(a));
  CHECK_FALSE(fs::exists(sb.root + "/data/dir"));
  CHECK(fs::exists(keep));
  CHECK(readAll(sb.root + "/a.witness") == std::string(8, '\0'));
}

TEST_CASE("a paths wipe refuses a path outside the sandbox root", "[plugins][device]") {
  PluginSandbox sb;
  std::string outside = fs::path(sb.root).parent_path() / "outside.txt";
  { std::ofstream(outside) << "x"; }
  // Also through a symlinked folder inside the root that points out of it.
  fs::create_directory_symlink(fs::path(sb.root).parent_path(), sb.root + "/link");
  const int which = GENERATE(0, 1, 2);
  const std::string target = which == 0 ? outside : which == 1 ? sb.root + "/link/outside.txt"
                                                               : sb.root + "/../outside.txt";
  REQUIRE(sb.load({{"wipe.strategy", "paths"}, {"wipe.paths", target}}).isOk());
  auto o = sb.run("device.wipe", R"({"mode":"full"})");
  CHECK_FALSE(o.succeeded());
  CHECK(o.reason == "sandbox_escape");
  CHECK(readAll(outside) == "x");
}

TEST_CASE("a luks wipe erases each device then powers off", "[plugins][device]") {
  PluginSandbox sb;
  REQUIRE(sb.load({{"wipe.strategy", "luks"}, {"wipe.luks.devices", "/dev/sda3, /dev/nvme0n1p2"}}).isOk());
  auto o = sb.run("device.wipe", R"({"mode":"full"})");
  REQUIRE(o.succeeded());
  CHECK(sb.log() ==
        "cryptsetup erase --batch-mode /dev/sda3\n"
        "cryptsetup erase --batch-mode /dev/nvme0n1p2\n"
        "systemctl poweroff\n");
}

TEST_CASE("a command wipe runs the administrator's command line", "[plugins][device]") {
  PluginSandbox sb;
  REQUIRE(sb.load({{"wipe.strategy", "command"}, {"wipe.command", "systemctl start wipe-disk.service"}}).isOk());
  REQUIRE(sb.run("device.wipe", R"({"mode":"full"})").succeeded());
  CHECK(sb.log() == "systemctl start wipe-disk.service\n");
}

TEST_CASE("retire removes the managed data and the agent's enrollment", "[plugins][device]") {
  PluginSandbox sb;
  std::string data = sb.makeFile("managed/x", "1");
  std::string key = sb.makeFile("state/device.key", "k");
  std::string other = sb.makeFile("state/other", "o");
  REQUIRE(sb.load({{"retire.paths", sb.root + "/managed," + key}}).isOk());
  REQUIRE(sb.run("device.retire", "{}").succeeded());
  CHECK_FALSE(fs::exists(data));
  CHECK_FALSE(fs::exists(key));
  CHECK(fs::exists(other));
  CHECK(sb.run("device.retire", "{}").succeeded());  // idempotent
}

TEST_CASE("lock runs loginctl lock-sessions by default", "[plugins][device]") {
  PluginSandbox sb;
  REQUIRE(sb.load({}).isOk());
  auto o = sb.run("device.lock", R"({"message":"call IT"})");
  REQUIRE(o.succeeded());
  CHECK(o.exit_code == 0);
  CHECK(sb.log() == "loginctl lock-sessions\n");
}

TEST_CASE("restart reboots now, or hands a delay to shutdown in minutes", "[plugins][device]") {
  PluginSandbox sb;
  REQUIRE(sb.load({}).isOk());
  REQUIRE(sb.run("device.restart", R"({"delay_s":0})").succeeded());
  REQUIRE(sb.run("device.restart", R"({"delay_s":90})").succeeded());
  REQUIRE(sb.run("device.restart", "{}").succeeded());
  CHECK(sb.log() == "systemctl reboot\nshutdown -r +2\nsystemctl reboot\n");
}

TEST_CASE("malformed device params are refused naming the field", "[plugins][device]") {
  PluginSandbox sb;
  REQUIRE(sb.load({{"wipe.strategy", "luks"}, {"wipe.luks.devices", "/dev/x"}}).isOk());
  using P = std::pair<std::string, std::string>;
  auto [action, params] = GENERATE(P{"device.wipe", "{}"}, P{"device.wipe", R"({"mode":"quick"})"},
                                   P{"device.wipe", R"({"mode":"full","extra":1})"},
                                   P{"device.restart", R"({"delay_s":"5"})"},
                                   P{"device.restart", R"({"delay_s":-1})"},
                                   P{"device.lock", R"({"message":5})"}, P{"device.retire", R"({"x":1})"});
  auto o = sb.run(action, params);
  CHECK_FALSE(o.succeeded());
  CHECK(o.reason == "malformed");
  CHECK_THAT(o.detail, Catch::Contains("'"));
  CHECK(sb.log().empty());
}
