// The agent daemon end to end: the real coordinator on loopback and real `keyturn-agent`
// processes, each with its own configuration, state folder and sandboxed wipe (the
// `paths` strategy on a temporary folder: nothing on the machine is touched).
#include <openssl/crypto.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <Poco/Environment.h>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "child_processes.h"
#include "fleet.h"
#include "keyturn/crypto_util.h"
#include "keyturn/json.h"

using namespace keyturn;
using namespace keyturn::test;
namespace fs = std::filesystem;

namespace {

// True once `pid` has no child process; false if one is still there after 10 s.
bool becomesOneProcess(pid_t pid) {
  for (int i = 0; i < 200; ++i) {
    if (childrenOf(pid).empty()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace

TEST_CASE(
    "two enrolled agents: a completed wipe runs on exactly the targeted one and its result reaches "
    "the coordinator",
    "[integration][agent]") {
  Tenant t;
  AgentHome one(t, "laptop-1"), two(t, "laptop-2");
  for (AgentHome* a : {&one, &two}) {
    auto enrolled = enroll(t, *a, bundleSha(t));
    INFO(enrolled.all());
    REQUIRE(enrolled.exit == 0);
    auto answer = jsonOf(enrolled);
    CHECK(answer->getValue<std::string>("device") == a->id);
    CHECK(answer->getValue<int>("version") == 1);
    struct stat st{};
    REQUIRE(::stat((a->state() + "/device.key").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    // The administrator's part: what a wipe may erase on this machine.
    std::ofstream(a->config(), std::ios::app) << "plugins.wipe.strategy = paths\n"
                                              << "plugins.wipe.paths = " << a->base << "/wipe\n";
  }
  // The coordinator knows both, with the facts each agent reported.
  auto devices = t.cli("alice", {"device", "list", "-o", "json"});
  CHECK_THAT(devices.out, Catch::Contains("laptop-1"));
  CHECK_THAT(devices.out, Catch::Contains("laptop-2"));

  auto agentOne = startAgent(one);
  auto agentTwo = startAgent(two);

  std::string id = approvedWipe(t, "laptop-1", "Stolen from the Leeds office");
  std::string state = waitForTarget(t, id, "laptop-1", "succeeded");
  INFO("laptop-1 log:\n" << agentOne->log() << "\nlaptop-2 log:\n" << agentTwo->log());
  REQUIRE(state == "succeeded");
  CHECK(one.wiped());
  CHECK_FALSE(two.wiped());
  CHECK_THAT(agentOne->log(), Catch::Contains("\"token accepted\""));
  CHECK_THAT(agentTwo->log(), !Catch::Contains(id));

  // status reads the same state the daemon writes.
  auto status = agentCommand({"status", "--config", one.config(), "-o", "json"});
  INFO(status.all());
  REQUIRE(status.exit == 0);
  auto s = jsonOf(status);
  CHECK(s->getValue<bool>("enrolled"));
  CHECK(s->getObject("bundle")->getValue<int>("version") == 1);
  CHECK(s->getValue<int>("executed") == 1);
  CHECK(s->getValue<int>("outbox") == 0);
  CHECK(s->getValue<int>("inbox") == 0);

  CHECK(agentOne->stop(SIGTERM) == 0);
  CHECK(agentTwo->stop(SIGTERM) == 0);
}

TEST_CASE("an agent that was offline runs its token when it comes back, and reports the result",
          "[integration][agent]") {
  Tenant t;
  AgentHome a(t, "laptop-7");
  auto enrolled = enroll(t, a, bundleSha(t));
  INFO(enrolled.all());
  REQUIRE(enrolled.exit == 0);
  std::ofstream(a.config(), std::ios::app) << "plugins.wipe.strategy = paths\nplugins.wipe.paths = " << a.base
                                           << "/wipe\n";
  // Completed while no agent runs: the token waits on the coordinator.
  std::string id = approvedWipe(t, "laptop-7", "Left in a taxi");
  CHECK(targetState(t, id, "laptop-7") == "queued");
  auto agent = startAgent(a);
  std::string state = waitForTarget(t, id, "laptop-7", "succeeded");
  INFO(agent->log());
  CHECK(state == "succeeded");
  CHECK(a.wiped());
  CHECK(agent->stop(SIGTERM) == 0);
}

TEST_CASE("enrollment refuses a first bundle whose digest differs from the expected one and writes no configuration",
          "[integration][agent]") {
  Tenant t;
  AgentHome a(t, "laptop-5");
  auto enrolled = enroll(t, a, std::string(64, '0'));
  INFO(enrolled.all());
  CHECK(enrolled.exit == 1);
  CHECK_THAT(enrolled.out, Catch::Contains("digest_mismatch"));
  CHECK_FALSE(fs::exists(a.config()));
  // A wrong code is refused with the coordinator's reason.
  auto bad = agentCommand({"enroll", "--server", t.url(), "--ca", t.ca, "--code", "not-a-code", "--config",
                           a.base + "/other.conf", "--state", a.base + "/other-state"});
  CHECK(bad.exit == 1);
  CHECK_THAT(bad.out, Catch::Contains("invalid_enrollment_code"));
}

TEST_CASE(
    "a bundle published while an agent runs reaches it, in order, before a token requested under it",
    "[integration][agent][bundle]") {
  Tenant t;
  AgentHome a(t, "laptop-3");
  auto enrolled = enroll(t, a, bundleSha(t));
  INFO(enrolled.all());
  REQUIRE(enrolled.exit == 0);
  std::ofstream(a.config(), std::ios::app) << "plugins.wipe.strategy = paths\nplugins.wipe.paths = " << a.base
                                           << "/wipe\n";
  auto agent = startAgent(a);

  // v2 makes wipes stricter: two device-approvers instead of one.
  fs::create_directories(t.tmp / "policies-v2");
  std::ofstream(t.tmp / "policies-v2/integration.lua")
      << "return { name = \"integration\", actions = { \"device.wipe\", \"device.restart\" },\n"
         "  evaluate = function(req, device) return { approvals = 2, group = \"device-approvers\" } end }\n";
  std::string v2 = t.tmp / "bundle-v2.json";
  auto drafted = t.cli("", {"bundle", "new", "--roster", t.tmp / "roster.json", "--policies",
                            t.tmp / "policies-v2", "--version", "2", "--out", v2});
  INFO(drafted.all());
  REQUIRE(drafted.exit == 0);
  auto proposed = t.cli("alice", {"bundle", "propose", "--bundle", v2, "--current", t.data + "/bundle.json",
                                  "--justification", "Wipes need two people from now on"});
  INFO(proposed.all());
  REQUIRE(proposed.exit == 0);
  std::string proposal = proposed.out.substr(0, proposed.out.find('\n'));
  REQUIRE(t.cli("bob", {"request", "approve", proposal, "--notes", "Agreed"}).exit == 0);
  auto published = t.cli("alice", {"request", "complete", proposal});
  INFO(published.all());
  REQUIRE(published.exit == 0);

  // The held poll ends when the idle tag changes; the agent fetches and applies v2.
  INFO(agent->log());
  REQUIRE(agent->waitForLine("\"bundle updated\""));
  auto status = agentCommand({"status", "--config", a.config(), "-o", "json"});
  REQUIRE(status.exit == 0);
  CHECK(jsonOf(status)->getObject("bundle")->getValue<int>("version") == 2);

  // A wipe under v2, approved by two device-approvers, runs.
  std::string id = t.submit("alice", {"device.wipe", "--device", "laptop-3", "--param", "mode=full",
                                      "--justification", "Stolen at the airport"});
  REQUIRE(t.cli("bob", {"request", "approve", id, "--notes", "Confirmed"}).exit == 0);
  REQUIRE(t.cli("dave", {"request", "approve", id, "--notes", "Confirmed too"}).exit == 0);
  auto completed = t.cli("alice", {"request", "complete", id});
  INFO(completed.all());
  REQUIRE(completed.exit == 0);
  CHECK(waitForTarget(t, id, "laptop-3", "succeeded") == "succeeded");
  CHECK(a.wiped());
  std::string log = agent->log();
  CHECK(log.find("\"bundle updated\"") < log.find("\"token accepted\""));
  CHECK(agent->stop(SIGTERM) == 0);
}

TEST_CASE(
    "an agent killed with -9 while a script runs reports it interrupted after its restart and never runs "
    "it again",
    "[integration][agent][crash]") {
  Tenant t;
  AgentHome a(t, "laptop-4");
  auto enrolled = enroll(t, a, bundleSha(t));
  INFO(enrolled.all());
  REQUIRE(enrolled.exit == 0);
  if (::geteuid() == 0) std::ofstream(a.config(), std::ios::app) << "plugins.script.user = root\n";
  std::string marker = a.base + "/runs.log", pidFile = a.base + "/script.pid";
  std::string body = "echo $$ > " + pidFile + "\necho started >> " + marker + "\nsleep 30\necho finished >> " +
                     marker + "\n";
  std::ofstream(a.base + "/params.json") << "{\"interpreter\":\"sh\",\"body\":" << json::quote(body)
                                         << ",\"sha256\":\"" << toHex(sha256(body)) << "\",\"timeout_s\":60}";
  auto agent = startAgent(a);
  std::string id = t.submit("alice", {"script.run", "--device", "laptop-4", "--params-file", a.base + "/params.json",
                                      "--justification", "Collect the crash logs"});
  auto completed = t.cli("alice", {"request", "complete", id});
  INFO(completed.all());
  REQUIRE(completed.exit == 0);
  for (int i = 0; i < 80 && !fs::exists(pidFile); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  INFO(agent->log());
  REQUIRE(fs::exists(pidFile));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  agent->stop(SIGKILL);
  // The script is its own process group (the plugin's doing): end it as a power loss would.
  int pid = std::atoi(readFile(pidFile, 64).value_or("0").c_str());
  REQUIRE(pid > 1);
  ::kill(-pid, SIGKILL);

  auto restarted = startAgent(a);
  std::string state = waitForTarget(t, id, "laptop-4", "interrupted");
  INFO(restarted->log());
  CHECK(state == "interrupted");
  CHECK_THAT(restarted->log(), Catch::Contains("\"interrupted\""));
  CHECK(readFile(marker, 1024).value_or("") == "started\n");  // ran once, never again
  CHECK(restarted->stop(SIGTERM) == 0);
}

TEST_CASE("an agent whose device key others can read refuses to start, naming the file",
          "[integration][agent]") {
  Tenant t;
  AgentHome a(t, "laptop-6");
  auto enrolled = enroll(t, a, bundleSha(t));
  INFO(enrolled.all());
  REQUIRE(enrolled.exit == 0);
  ::chmod((a.state() + "/device.key").c_str(), 0644);
  auto run = runProgram(agentBinary(), {"run", "--config", a.config()}, {}, 30);
  CHECK(run.exit == 78);
  CHECK_THAT(run.err, Catch::Contains("insecure_permissions"));
  CHECK_THAT(run.err, Catch::Contains("device.key"));
  // Enrolling again over an enrolled machine is refused.
  auto again = enroll(t, a, bundleSha(t));
  CHECK(again.exit == 1);
  CHECK_THAT(again.out, Catch::Contains("already_enrolled"));
}

TEST_CASE("an agent keeps running while the coordinator is down and catches up when it is back",
          "[integration][agent]") {
  Tenant t;
  AgentHome a(t, "laptop-8");
  auto enrolled = enroll(t, a, bundleSha(t));
  INFO(enrolled.all());
  REQUIRE(enrolled.exit == 0);
  std::ofstream(a.config(), std::ios::app) << "plugins.wipe.strategy = paths\nplugins.wipe.paths = " << a.base
                                           << "/wipe\n";
  std::string id = approvedWipe(t, "laptop-8", "Reported stolen");
  REQUIRE(t.server->stop(SIGTERM) == 0);

  AgentProcess agent({"run", "--config", a.config(), "--log-format", "json"});
  INFO(agent.log());
  REQUIRE(agent.waitForLine("\"coordinator unreachable\""));
  REQUIRE(agent.waitForLine("\"retrying later\""));

  t.server = std::make_unique<ServerProcess>(std::vector<std::string>{
      "run", "--data", t.data, "--port", std::to_string(t.port), "--log-format", "json"});
  REQUIRE(!t.server->waitForLine("\"listening\"").empty());
  CHECK(waitForTarget(t, id, "laptop-8", "succeeded", 60) == "succeeded");
  CHECK(a.wiped());
  CHECK(agent.stop(SIGTERM) == 0);
}

TEST_CASE(
    "keyturn-agent version names the OpenSSL, Poco, SQLite and Lua it runs with and where each is",
    "[integration][agent]") {
  auto run = agentCommand({"version", "-o", "json"});
  INFO(run.all());
  REQUIRE(run.exit == 0);
  auto answer = jsonOf(run);
  CHECK(answer->getValue<std::string>("agent") == KEYTURN_PROJECT_VERSION);
  // The agent's copies are the versions of Debian's packages this build compiled against
  // (the static agent's Poco is built from the same source package, scripts/static-deps).
  auto v = Poco::Environment::libraryVersion();
  std::map<std::string, std::string> expected{
      {"OpenSSL", OpenSSL_version(OPENSSL_FULL_VERSION_STRING)},
      {"Poco", std::to_string(v >> 24) + "." + std::to_string((v >> 16) & 0xFF) + "." +
                   std::to_string((v >> 8) & 0xFF)},
      {"SQLite", sqlite3_libversion()},
      {"Lua", "5.4."}};
  auto libs = answer->getArray("libraries");
  REQUIRE(libs->size() == expected.size());
  for (std::size_t i = 0; i < libs->size(); ++i) {
    auto lib = libs->getObject(i);
    std::string name = lib->getValue<std::string>("name");
    std::string version = lib->getValue<std::string>("version");
    std::string from = lib->getValue<std::string>("from");
    INFO(name << " " << version << " from " << from);
    REQUIRE(expected.count(name) == 1);
    // The upstream version; a built-in copy adds the Debian revision it was built from
    // ("3.0.19-1~deb12u2", checked against dpkg by the static linkage test).
    CHECK(version.rfind(expected[name], 0) == 0);
    // Built in, or a shared library file that exists.
    CHECK((from == "keyturn-agent" || (!from.empty() && from.front() == '/' && fs::exists(from))));
  }

  auto text = agentCommand({"version"});
  REQUIRE(text.exit == 0);
  CHECK_THAT(text.out, Catch::StartsWith(std::string("keyturn-agent ") + KEYTURN_PROJECT_VERSION + "\n"));
  CHECK_THAT(text.out, Catch::Contains("  OpenSSL " + expected["OpenSSL"]));  // then a revision if built in

  auto bad = agentCommand({"version", "-o", "yaml"});
  CHECK(bad.exit == 2);
  CHECK_THAT(bad.err, Catch::Contains("-o must be text or json"));
}

TEST_CASE(
    "an idle agent is one process: its policy worker is released after start and after a token, and "
    "forked again for the next token",
    "[integration][agent]") {
  Tenant t;
  AgentHome a(t, "laptop-1");
  enrollOk(t, a);
  std::ofstream(a.config(), std::ios::app) << "plugins.wipe.strategy = paths\n"
                                           << "plugins.wipe.paths = " << a.base << "/wipe\n";
  auto agent = startAgent(a);
  // Startup verified the bundle and loaded its policies in a worker; idle, it is gone.
  CHECK(becomesOneProcess(agent->pid()));
  // A protected wipe: its policy evaluation needs a worker again.
  std::string id = approvedWipe(t, "laptop-1", "Reassigned to another employee");
  std::string state = waitForTarget(t, id, "laptop-1", "succeeded");
  INFO(agent->log());
  REQUIRE(state == "succeeded");
  CHECK(a.wiped());
  CHECK(becomesOneProcess(agent->pid()));
}

TEST_CASE("the coordinator shows the libraries each agent runs with, as the agent itself reports them",
          "[integration][agent]") {
  Tenant t;
  AgentHome a(t, "laptop-1");
  enrollOk(t, a);
  auto own = agentCommand({"version", "-o", "json"});
  REQUIRE(own.exit == 0);
  std::string expected = json::stringify(jsonOf(own)->get("libraries"));
  auto agent = startAgent(a);  // its facts report, libraries included, precedes "connected"

  auto list = t.cli("alice", {"device", "list", "-o", "json"});
  INFO(list.all() << "\n" << agent->log());
  REQUIRE(list.exit == 0);
  auto device = jsonOf(list)->getArray("devices")->getObject(0);
  REQUIRE(device->getValue<std::string>("id") == "laptop-1");
  CHECK(json::stringify(device->get("agent_libraries")) == expected);
  auto text = t.cli("alice", {"device", "list"});
  CHECK_THAT(text.out, Catch::Contains(std::string("openssl=") + OpenSSL_version(OPENSSL_FULL_VERSION_STRING)));
}
