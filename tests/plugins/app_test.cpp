#include <catch2/catch.hpp>
#include <filesystem>
#include <sstream>

#include "params.h"
#include "plugin_fixture.h"

using namespace keyturn;
using namespace keyturn::test;

TEST_CASE("apt install pins the version, noninteractively", "[plugins][app]") {
  PluginSandbox sb;
  REQUIRE(sb.load({}).isOk());
  auto o = sb.run("app.install", R"({"name":"htop","version":"3.2.2-2","source":"apt"})");
  REQUIRE(o.succeeded());
  CHECK(sb.log() == "apt-get install -y htop=3.2.2-2\n");
  CHECK(readAll(std::filesystem::path(sb.root).parent_path() / "env.log") == "DEBIAN_FRONTEND=noninteractive\n");
}

TEST_CASE("uninstall removes the package with apt-get", "[plugins][app]") {
  PluginSandbox sb;
  REQUIRE(sb.load({}).isOk());
  REQUIRE(sb.run("app.uninstall", R"({"name":"htop"})").succeeded());
  CHECK(sb.log() == "apt-get remove -y htop\n");
}

TEST_CASE("a verified artifact is installed with dpkg", "[plugins][app]") {
  PluginSandbox sb;
  REQUIRE(sb.load({}).isOk());
  std::string deb = sb.makeFile("dl/tool.deb", "DEBDATA");
  std::string params = R"({"name":"tool","source":"artifact","sha256":")" + plugin::sha256Hex("DEBDATA") + R"(","size":7})";
  REQUIRE(sb.run("app.install", params, deb).succeeded());
  CHECK(sb.log() == "dpkg -i " + deb + "\n");
}

TEST_CASE("an artifact of the wrong size or hash is refused before dpkg runs", "[plugins][app]") {
  PluginSandbox sb;
  REQUIRE(sb.load({}).isOk());
  std::string deb = sb.makeFile("dl/tool.deb", "DEBDATA");
  auto [sha, size] = GENERATE(std::make_pair(plugin::sha256Hex("DEBDATA"), 8),
                              std::make_pair(plugin::sha256Hex("DEBDATX"), 7));
  std::string params = R"({"name":"tool","source":"artifact","sha256":")" + sha + R"(","size":)" + std::to_string(size) + "}";
  auto o = sb.run("app.install", params, deb);
  CHECK(o.reason == "artifact_mismatch");
  CHECK(sb.log().empty());
}

TEST_CASE("malformed app params are refused naming the field", "[plugins][app]") {
  PluginSandbox sb;
  REQUIRE(sb.load({}).isOk());
  using P = std::tuple<std::string, std::string, std::string>;
  auto [action, params, field] = GENERATE(
      P{"app.install", R"({"name":"-oAPT::x=y","version":"1","source":"apt"})", "name"},
      P{"app.install", R"({"name":"htop","version":"-1","source":"apt"})", "version"},
      P{"app.install", R"({"name":"htop","source":"apt"})", "version"},
      P{"app.install", R"({"name":"htop","version":"1","source":"snap"})", "source"},
      P{"app.install", R"({"name":"htop","version":"1","source":"apt","force":true})", "force"},
      P{"app.install", R"({"name":"tool","source":"artifact","sha256":"00","size":1})", "sha256"},
      P{"app.install", R"({"name":"tool","source":"artifact","sha256":"0000000000000000000000000000000000000000000000000000000000000000","size":"1"})", "size"},
      P{"app.uninstall", R"({"name":"Bad Name"})", "name"});
  auto o = sb.run(action, params);
  CHECK(o.reason == "malformed");
  CHECK_THAT(o.detail, Catch::Contains("'" + field + "'"));
  CHECK(sb.log().empty());
}
