#include "fleet.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "keyturn/crypto_util.h"
#include "keyturn/json.h"

namespace keyturn::test {

namespace fs = std::filesystem;

AgentHome::AgentHome(Tenant& t, const std::string& device, const std::string& factsJson) : id(device) {
  base = t.tmp / ("agent-" + device);
  fs::create_directories(base + "/wipe/sub");
  std::ofstream(base + "/wipe/secret.txt") << "customer data of " << device;
  std::ofstream(base + "/wipe/sub/more.txt") << "more data";
  std::ofstream(base + "/facts.json")
      << (factsJson.empty()
              ? "{\"id\":" + json::quote(device) + ",\"ownership\":\"corporate\",\"groups\":[\"lab\"]}"
              : factsJson);
}

bool AgentHome::wiped() const {
  return !fs::exists(base + "/wipe/secret.txt") && !fs::exists(base + "/wipe/sub/more.txt");
}

void AgentHome::allowSandboxWipe() const {
  std::ofstream(config(), std::ios::app) << "plugins.wipe.strategy = paths\n"
                                         << "plugins.wipe.paths = " << base << "/wipe\n";
}

std::string enrollmentCode(Tenant& t) {
  auto code = t.cli("alice", {"device", "enroll-code", "-o", "json"});
  INFO(code.all());
  REQUIRE(code.exit == 0);
  return jsonOf(code)->getValue<std::string>("code");
}

ProgramRun agentCommand(const std::vector<std::string>& args) {
  return runProgram(agentBinary(), args, {});
}

ProgramRun enroll(Tenant& t, const AgentHome& a, const std::string& expectSha) {
  return agentCommand({"enroll", "--server", t.url(), "--ca", t.ca, "--code", enrollmentCode(t), "--facts",
                       a.base + "/facts.json", "--config", a.config(), "--state", a.state(), "--plugins",
                       agentPluginDir(), "--expect-bundle-sha256", expectSha});
}

void enrollOk(Tenant& t, const AgentHome& a) {
  auto enrolled = enroll(t, a, bundleSha(t));
  INFO(enrolled.all());
  REQUIRE(enrolled.exit == 0);
}

std::string bundleSha(const Tenant& t) {
  return toHex(sha256(readFile(t.data + "/bundle.json", 1 << 23).value()));
}

namespace {

Poco::JSON::Object::Ptr targetOf(Tenant& t, const std::string& id, const std::string& device) {
  auto shown = t.cli("alice", {"request", "show", id, "-o", "json"});
  if (shown.exit != 0) return nullptr;
  auto targets = jsonOf(shown)->getArray("targets");
  for (std::size_t i = 0; targets && i < targets->size(); ++i) {
    auto target = targets->getObject(static_cast<unsigned>(i));
    if (target->getValue<std::string>("device") == device) return target;
  }
  return nullptr;
}

}  // namespace

std::string targetState(Tenant& t, const std::string& id, const std::string& device) {
  auto target = targetOf(t, id, device);
  return target ? target->getValue<std::string>("state") : "";
}

std::string targetOutput(Tenant& t, const std::string& id, const std::string& device) {
  auto target = targetOf(t, id, device);
  if (!target || target->isNull("result")) return "";
  auto result = target->getObject("result");
  return result && result->has("output") ? result->getValue<std::string>("output") : "";
}

std::string waitForTarget(Tenant& t, const std::string& id, const std::string& device, const std::string& want,
                          int seconds) {
  std::string state;
  for (int i = 0; i < seconds * 4; ++i) {
    state = targetState(t, id, device);
    if (state == want) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return state;
}

std::string approvedWipe(Tenant& t, const std::string& device, const std::string& why) {
  std::string id = t.submit("alice", {"device.wipe", "--device", device, "--param", "mode=full",
                                      "--justification", why});
  auto approved = t.cli("bob", {"request", "approve", id, "--notes", "Checked with the service desk"});
  INFO(approved.all());
  REQUIRE(approved.exit == 0);
  auto completed = t.cli("alice", {"request", "complete", id});
  INFO(completed.all());
  REQUIRE(completed.exit == 0);
  return id;
}

std::unique_ptr<AgentProcess> startAgent(const AgentHome& a) {
  auto p = std::make_unique<AgentProcess>(
      std::vector<std::string>{"run", "--config", a.config(), "--log-format", "json"});
  INFO(p->log());
  REQUIRE(p->waitForLine("\"connected\""));
  return p;
}

}  // namespace keyturn::test
