// app.install from an artifact end to end: `keyturn artifact upload`, a request approved
// and completed through the CLI, the real agent downloading the artifact over mutual TLS,
// checking it against the signed sha256 and size and handing it to the app plugin, whose
// `dpkg` is a fake on plugins.command_path (nothing is installed on this machine).
// A tampered, oversized or truncated copy on the coordinator is refused by the agent as
// artifact_mismatch before dpkg runs; a device without a token cannot fetch it. A
// coordinator that goes away before the download makes the token wait, not fail.
#include <signal.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include "agent_state.h"

#include "fleet.h"
#include "keyturn/crypto_util.h"
#include "keyturn/json.h"

using namespace keyturn;
using namespace keyturn::test;
namespace fs = std::filesystem;

namespace {

constexpr const char* kPolicy = R"(return {
  name = "integration",
  actions = { "device.wipe", "app.install" },
  evaluate = function(req, device)
    return { approvals = 1, group = "device-approvers" }
  end,
}
)";

struct Artifact {
  std::string sha256;
  std::int64_t size = 0;
};

// A fake dpkg in HOME/bin: records its arguments and copies the package it is given, so
// the test sees exactly which bytes would have been installed.
void installFakeDpkg(const AgentHome& a) {
  fs::create_directories(a.base + "/bin");
  std::string script = a.base + "/bin/dpkg";
  std::ofstream(script) << "#!/bin/sh\n"
                        << "echo \"$@\" >> " << a.base << "/dpkg.log\n"
                        << "/bin/cp \"$2\" " << a.base << "/installed.deb\n";
  fs::permissions(script, fs::perms::owner_all);
  std::ofstream(a.config(), std::ios::app) << "plugins.command_path = " << a.base << "/bin\n";
}

Artifact uploadArtifact(Tenant& t, const std::string& file) {
  auto up = t.cli("alice", {"artifact", "upload", file, "-o", "json"});
  INFO(up.all());
  REQUIRE(up.exit == 0);
  auto o = jsonOf(up);
  return {o->getValue<std::string>("sha256"), o->getValue<std::int64_t>("size")};
}

std::string approvedInstall(Tenant& t, const std::string& device, const Artifact& a) {
  std::string id = t.submit("alice", {"app.install", "--device", device, "--param", "name=tool", "--param",
                                      "source=artifact", "--param", "sha256=" + a.sha256, "--param",
                                      "size=" + std::to_string(a.size), "--justification", "Rolling out tool 1.0"});
  auto approved = t.cli("bob", {"request", "approve", id, "--notes", "Package reviewed"});
  INFO(approved.all());
  REQUIRE(approved.exit == 0);
  auto completed = t.cli("alice", {"request", "complete", id});
  INFO(completed.all());
  REQUIRE(completed.exit == 0);
  return id;
}

std::size_t filesIn(const std::string& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

TenantOptions withInstallPolicy(TempDir& dir) {
  fs::create_directories(dir / "policies");
  std::ofstream(dir / "policies/integration.lua") << kPolicy;
  TenantOptions o;
  o.policies = dir / "policies";
  return o;
}

}  // namespace

TEST_CASE(
    "an uploaded artifact is downloaded, verified and handed to dpkg by the agent, and a tampered, oversized or "
    "truncated copy is refused before dpkg runs",
    "[integration][agent][artifacts]") {
  TempDir policyDir;
  Tenant t(withInstallPolicy(policyDir));
  AgentHome a(t, "laptop-1");
  enrollOk(t, a);
  installFakeDpkg(a);
  auto agent = startAgent(a);

  const std::string package = "!<arch>\ndebian-binary   tool 1.0 for the test\n";
  std::ofstream(t.tmp / "tool_1.0_amd64.deb") << package;
  Artifact art = uploadArtifact(t, t.tmp / "tool_1.0_amd64.deb");
  CHECK(art.sha256 == toHex(sha256(package)));
  CHECK(art.size == static_cast<std::int64_t>(package.size()));
  auto listed = t.cli("carol", {"artifact", "list"});
  CHECK_THAT(listed.out, Catch::Contains(art.sha256));

  SECTION("the verified artifact is installed and the downloaded copy removed") {
    std::string id = approvedInstall(t, "laptop-1", art);
    std::string state = waitForTarget(t, id, "laptop-1", "succeeded");
    INFO(agent->log());
    REQUIRE(state == "succeeded");
    CHECK(readFile(a.base + "/installed.deb", 1 << 20).value_or("") == package);
    CHECK_THAT(readFile(a.base + "/dpkg.log", 1 << 20).value_or(""), Catch::StartsWith("-i " + a.state() + "/artifacts/"));
    // The private download folder: 0700, empty after the action.
    struct stat st{};
    REQUIRE(::stat((a.state() + "/artifacts").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    CHECK(filesIn(a.state() + "/artifacts") == 0);
  }

  SECTION("a copy changed on the coordinator is refused as artifact_mismatch and dpkg never runs") {
    std::string stored = t.data + "/artifacts/" + art.sha256;
    std::string tampered = package;
    tampered[10] = 'X';  // same size, other bytes
    std::ofstream(stored, std::ios::trunc) << tampered;
    std::string id = approvedInstall(t, "laptop-1", art);
    std::string state = waitForTarget(t, id, "laptop-1", "failed");
    INFO(agent->log());
    REQUIRE(state == "failed");
    CHECK_THAT(targetOutput(t, id, "laptop-1"), Catch::Contains("artifact_mismatch") && Catch::Contains("SHA-256"));
    CHECK_FALSE(fs::exists(a.base + "/dpkg.log"));
    CHECK(filesIn(a.state() + "/artifacts") == 0);

    // Oversized: the agent stops reading at params.size and refuses.
    std::ofstream(stored, std::ios::trunc) << package << "trailing bytes an attacker appended";
    std::string big = approvedInstall(t, "laptop-1", art);
    REQUIRE(waitForTarget(t, big, "laptop-1", "failed") == "failed");
    CHECK_THAT(targetOutput(t, big, "laptop-1"), Catch::Contains("artifact_mismatch") && Catch::Contains("more than"));

    // Truncated.
    std::ofstream(stored, std::ios::trunc) << package.substr(0, 5);
    std::string cut = approvedInstall(t, "laptop-1", art);
    REQUIRE(waitForTarget(t, cut, "laptop-1", "failed") == "failed");
    CHECK_THAT(targetOutput(t, cut, "laptop-1"), Catch::Contains("artifact_mismatch"));
    CHECK_FALSE(fs::exists(a.base + "/dpkg.log"));

    // The agent kept running: repaired (uploaded again), the same artifact installs.
    Artifact again = uploadArtifact(t, t.tmp / "tool_1.0_amd64.deb");
    CHECK(again.sha256 == art.sha256);
    std::string ok = approvedInstall(t, "laptop-1", art);
    CHECK(waitForTarget(t, ok, "laptop-1", "succeeded") == "succeeded");
    CHECK(readFile(a.base + "/installed.deb", 1 << 20).value_or("") == package);
  }

  SECTION("an artifact no open token of the device names is not served to it") {
    t.enroll("laptop-2", "{\"ownership\":\"corporate\"}");
    auto stranger = t.agent("laptop-2").send("GET", "/api/v1/agent/artifacts/" + art.sha256);
    CHECK(stranger.status == 403);
    CHECK(stranger.error() == "forbidden");
    // Once a token issued to laptop-2 installs it (queued: no agent runs there), it may.
    std::string id = approvedInstall(t, "laptop-2", art);
    CHECK(targetState(t, id, "laptop-2") == "queued");
    auto nowAllowed = t.agent("laptop-2").send("GET", "/api/v1/agent/artifacts/" + art.sha256);
    CHECK(nowAllowed.status == 200);
    CHECK(nowAllowed.body == package);
    auto audit = t.cli("carol", {"audit", "list", "--limit", "1000", "-o", "json"});
    CHECK_THAT(audit.out, Catch::Contains("artifact.refused") && Catch::Contains("artifact.fetched"));
  }
  CHECK(agent->stop(SIGTERM) == 0);
}

TEST_CASE("a running agent reports its program and trust bundle versions, shown by keyturn device list",
          "[integration][agent][devices]") {
  Tenant t;
  AgentHome a(t, "laptop-3");
  enrollOk(t, a);
  auto before = t.cli("alice", {"device", "list", "-o", "json"});
  auto d0 = jsonOf(before)->getArray("devices")->getObject(0);
  CHECK(d0->isNull("bundle_version"));
  auto agent = startAgent(a);
  auto list = t.cli("alice", {"device", "list", "-o", "json"});
  auto d = jsonOf(list)->getArray("devices")->getObject(0);
  CHECK(d->getValue<std::string>("id") == "laptop-3");
  CHECK(d->getValue<int>("bundle_version") == 1);
  CHECK(d->getValue<std::string>("agent_version") == KEYTURN_PROJECT_VERSION);
  auto text = t.cli("alice", {"device", "list"});
  CHECK_THAT(text.out, Catch::Contains("bundle=v1") && Catch::Contains(std::string("agent=") + KEYTURN_PROJECT_VERSION));
  CHECK(agent->stop(SIGTERM) == 0);
}

TEST_CASE(
    "an app.install whose coordinator is gone before the artifact is downloaded waits in the agent's inbox and "
    "installs once the coordinator is back",
    "[integration][agent][artifacts]") {
  TempDir policyDir;
  Tenant t(withInstallPolicy(policyDir));
  AgentHome a(t, "laptop-1");
  enrollOk(t, a);
  installFakeDpkg(a);
  // Short retry windows so the test sees several of them within seconds.
  std::ofstream(a.config(), std::ios::app) << "agent.artifacts.retry_s = 1\nagent.backoff.max_s = 1\n";
  const std::string package = "!<arch>\ndebian-binary   tool 2.0 for the outage test\n";
  std::ofstream(t.tmp / "tool_2.0_amd64.deb") << package;
  Artifact art = uploadArtifact(t, t.tmp / "tool_2.0_amd64.deb");
  std::string id = approvedInstall(t, "laptop-1", art);

  // The agent received the token (polled with its own certificate, stored in its inbox
  // as the daemon stores it), then the coordinator went away before the download.
  ApiClient device(t.ca, t.port, a.state() + "/device.pem", a.state() + "/device.key");
  auto polled = device.send("GET", "/api/v1/agent/tokens?wait=0");
  REQUIRE(polled.status == 200);
  auto tokens = polled.json->getArray("tokens");
  REQUIRE(tokens);
  REQUIRE(tokens->size() == 1);
  {
    auto state = agent::AgentState::open(a.state() + "/agent.db");
    REQUIRE(state);
    REQUIRE(state.value()->addToInbox(json::stringify(tokens->get(0)), std::time(nullptr)));
  }
  REQUIRE(t.server->stop(SIGTERM) == 0);

  auto agent = std::make_unique<AgentProcess>(
      std::vector<std::string>{"run", "--config", a.config(), "--log-format", "json"});
  INFO(agent->log());
  REQUIRE(agent->waitForLine("token kept for later"));
  // Several retry windows pass: the token keeps waiting, nothing is installed or failed.
  std::this_thread::sleep_for(std::chrono::seconds(4));
  std::string log = agent->log();
  CHECK(log.find("coordinator unreachable") != std::string::npos);
  CHECK(log.find("artifact_unavailable") == std::string::npos);
  CHECK(log.find("\"executing\"") == std::string::npos);
  CHECK_FALSE(fs::exists(a.base + "/dpkg.log"));

  // The coordinator comes back on the same port with the same data.
  t.server = std::make_unique<ServerProcess>(std::vector<std::string>{
      "run", "--data", t.data, "--port", std::to_string(t.port), "--log-format", "json"});
  REQUIRE_FALSE(t.server->waitForLine("\"listening\"").empty());
  std::string state = waitForTarget(t, id, "laptop-1", "succeeded");
  INFO(agent->log());
  REQUIRE(state == "succeeded");
  CHECK(readFile(a.base + "/installed.deb", 1 << 20).value_or("") == package);
  CHECK(filesIn(a.state() + "/artifacts") == 0);
  CHECK(agent->stop(SIGTERM) == 0);
}
