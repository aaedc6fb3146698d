#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <sstream>

#include "params.h"
#include "plugin_fixture.h"

using namespace keyturn;
using namespace keyturn::test;

namespace {

std::string scriptParams(const std::string& interp, const std::string& body, int timeout,
                         const std::string& sha = "") {
  Poco::JSON::Object o;
  o.set("interpreter", interp);
  o.set("body", body);
  o.set("sha256", sha.empty() ? plugin::sha256Hex(body) : sha);
  o.set("timeout_s", timeout);
  std::ostringstream ss;
  o.stringify(ss);
  return ss.str();
}

bool aliveNotZombie(int pid) {
  std::string stat = readAll("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return false;
  auto close = stat.rfind(')');
  return close != std::string::npos && stat.size() > close + 2 && stat[close + 2] != 'Z';
}

// SIGKILL is delivered asynchronously: on a loaded machine the killed child may still be
// runnable for a moment after kill() returns. Wait (bounded) for it to die; a child that
// escaped the kill stays alive for its whole 30 s sleep and fails the test.
bool survivesKill(int pid) {
  for (int i = 0; i < 100; ++i) {
    if (!aliveNotZombie(pid)) return false;
    ::usleep(50 * 1000);
  }
  return true;
}

}  // namespace

TEST_CASE("a script runs and reports its exit code and output", "[plugins][script]") {
  PluginSandbox sb;
  REQUIRE(sb.load({}).isOk());
  auto o = sb.run("script.run", scriptParams("sh", "echo hello; exit 3", 2));
  CHECK_FALSE(o.succeeded());
  CHECK(o.exit_code == 3);
  CHECK(o.reason == "script_failed");
  CHECK(o.output == "hello\n");
  auto ok = sb.run("script.run", scriptParams("bash", "echo $((6*7))", 2));
  CHECK(ok.succeeded());
  CHECK(ok.output == "42\n");
  CHECK_THAT(ok.detail, Catch::Contains("not root"));  // the sandbox never switches user
}

TEST_CASE("a script whose body differs from sha256 is refused without running", "[plugins][script]") {
  PluginSandbox sb;
  REQUIRE(sb.load({}).isOk());
  std::string marker = sb.root + "/ran";
  auto o = sb.run("script.run", scriptParams("sh", "touch " + marker, 2, plugin::sha256Hex("something else")));
  CHECK(o.reason == "sha256_mismatch");
  CHECK_FALSE(std::filesystem::exists(marker));
}

TEST_CASE("a script past timeout_s is killed with its children", "[plugins][script]") {
  PluginSandbox sb;
  REQUIRE(sb.load({}).isOk());
  auto o = sb.run("script.run", scriptParams("sh", "/bin/sleep 30 & echo $!; /bin/sleep 30", 1));
  CHECK_FALSE(o.succeeded());
  CHECK(o.reason == "timeout");
  int child = std::stoi(o.output);
  CHECK_FALSE(survivesKill(child));
}

TEST_CASE("script output is capped at 64 KiB and flagged truncated", "[plugins][script]") {
  PluginSandbox sb;
  REQUIRE(sb.load({}).isOk());
  auto o = sb.run("script.run", scriptParams("sh", "/usr/bin/head -c 200000 /dev/zero", 2));
  CHECK(o.succeeded());
  CHECK(o.output.size() == 64 * 1024);
  CHECK(o.truncated);
}

TEST_CASE("malformed script params are refused naming the field", "[plugins][script]") {
  PluginSandbox sb;
  REQUIRE(sb.load({}).isOk());
  std::string sha = plugin::sha256Hex("x");
  using P = std::pair<std::string, std::string>;
  auto [params, field] = GENERATE_COPY(
      P{R"({"interpreter":"perl","body":"x","sha256":")" + sha + R"(","timeout_s":1})", "interpreter"},
      P{R"({"interpreter":"sh","body":1,"sha256":")" + sha + R"(","timeout_s":1})", "body"},
      P{R"({"interpreter":"sh","body":"x","sha256":"ABC","timeout_s":1})", "sha256"},
      P{R"({"interpreter":"sh","body":"x","sha256":")" + sha + R"(","timeout_s":0})", "timeout_s"},
      P{R"({"interpreter":"sh","body":"x","sha256":")" + sha + R"(","timeout_s":1.5})", "timeout_s"},
      P{R"({"interpreter":"sh","body":"x","sha256":")" + sha + R"(","user":"root"})", "user"});
  auto o = sb.run("script.run", params);
  CHECK(o.reason == "malformed");
  CHECK_THAT(o.detail, Catch::Contains("'" + field + "'"));
}
