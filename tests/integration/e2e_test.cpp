// The seed story of issue 5 end to end, under the policies Keyturn ships (policies/):
// one coordinator, three real agents whose own facts differ — a corporate laptop, an
// employee's personal (BYOD) laptop and a kiosk — a policy change proposed by alice,
// approved by bob and completed by alice, then protected actions that the policies treat
// differently per device, each run (or not) by the agent it targets, and the audit
// chain verified at the end.
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "fleet.h"
#include "keyturn/crypto_util.h"
#include "keyturn/json.h"

using namespace keyturn;
using namespace keyturn::test;
namespace fs = std::filesystem;

namespace {

ProgramRun ok(const ProgramRun& r) {
  INFO(r.all());
  REQUIRE(r.exit == 0);
  return r;
}

std::string firstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string requestState(Tenant& t, const std::string& id) {
  return jsonOf(ok(t.cli("alice", {"request", "show", id, "-o", "json"})))->getValue<std::string>("state");
}

}  // namespace

TEST_CASE(
    "seed story: a policy change, then corporate, personal and kiosk devices each treated as the shipped "
    "policies say, by their own agents, with a verified audit chain",
    "[integration][e2e][seed]") {
  // The shipped policies; carol and dave are the HR wipe approvers.
  TenantOptions options;
  options.policies = KEYTURN_SOURCE_DIR "/policies";
  options.extraGroups = {{"carol", {"hr-wipe-approvers"}}, {"dave", {"hr-wipe-approvers"}}};
  Tenant t(options);

  AgentHome laptop(t, "laptop-1", R"({"id":"laptop-1","ownership":"corporate","groups":["finance"]})");
  AgentHome byod(t, "byod-1", R"({"id":"byod-1","ownership":"personal","groups":["sales"]})");
  AgentHome kiosk(t, "kiosk-1", R"({"id":"kiosk-1","ownership":"corporate","groups":["kiosks"]})");
  for (AgentHome* a : {&laptop, &byod, &kiosk}) {
    enrollOk(t, *a);
    a->allowSandboxWipe();
  }
  // The kiosk's lock command leaves a mark instead of locking this machine's sessions.
  std::ofstream(kiosk.config(), std::ios::app) << "plugins.lock.command = /usr/bin/touch " << kiosk.base
                                               << "/locked\n";
  auto laptopAgent = startAgent(laptop);
  auto byodAgent = startAgent(byod);
  auto kioskAgent = startAgent(kiosk);
  auto logs = [&] {
    return "laptop-1:\n" + laptopAgent->log() + "\nbyod-1:\n" + byodAgent->log() + "\nkiosk-1:\n" +
           kioskAgent->log() + "\ncoordinator:\n" + t.server->stderrText();
  };

  // 1. The policy change (maa.bundle.update): personal devices also need a privacy
  //    officer from now on (policies/examples/byod_stricter.lua); carol becomes one.
  fs::create_directories(t.tmp / "policies-v2");
  for (const auto& e : fs::directory_iterator(KEYTURN_SOURCE_DIR "/policies")) {
    std::string name = e.path().filename();
    if (e.is_regular_file() && e.path().extension() == ".lua" && name.find("_test.lua") == std::string::npos)
      fs::copy_file(e.path(), t.tmp / ("policies-v2/" + name));
  }
  fs::copy_file(KEYTURN_SOURCE_DIR "/policies/examples/byod_stricter.lua", t.tmp / "policies-v2/byod_stricter.lua");
  auto groups = t.groups;
  groups["carol"].push_back("privacy-officers");
  std::ofstream(t.tmp / "roster-v2.json") << Tenant::roster(t.data + "/issuer.pub.json", groups);
  std::string v2 = t.tmp / "bundle-v2.json";
  ok(t.cli("", {"bundle", "new", "--roster", t.tmp / "roster-v2.json", "--policies", t.tmp / "policies-v2",
                "--version", "2", "--out", v2}));
  auto proposed = ok(t.cli("alice", {"bundle", "propose", "--bundle", v2, "--justification",
                                     "Works council agreement: BYOD actions need a privacy officer"}));
  CHECK_THAT(proposed.all(), Catch::Contains("bundle v1 -> v2"));
  CHECK_THAT(proposed.all(), Catch::Contains("byod-stricter"));
  std::string change = firstLine(proposed.out);
  // alice cannot approve her own change; bob does, with notes; alice publishes.
  auto self = t.cli("alice", {"request", "approve", change, "--notes", "mine"});
  CHECK(self.exit == 1);
  CHECK_THAT(self.err, Catch::Contains("self_approval"));
  ok(t.cli("bob", {"request", "approve", change, "--notes", "Read the policy and its tests; matches the agreement"}));
  ok(t.cli("alice", {"request", "complete", change}));
  CHECK(t.api().send("GET", "/healthz").json->getValue<int>("bundle_version") == 2);
  INFO(logs());
  for (auto* agent : {laptopAgent.get(), byodAgent.get(), kioskAgent.get()})
    REQUIRE(agent->waitForLine("\"bundle updated\""));

  // 2. Corporate laptop: one device-approver. The wipe runs there and nowhere else.
  auto submitted = ok(t.cli("alice", {"request", "submit", "device.wipe", "--device", "laptop-1", "--param",
                                      "mode=full", "--justification", "Stolen from the Leeds office, INC-4711"}));
  CHECK_THAT(submitted.out, Catch::Contains("needs 1 approval(s) from device-approvers"));
  CHECK_THAT(submitted.out, !Catch::Contains("privacy-officers"));
  std::string wipeLaptop = firstLine(submitted.out);
  ok(t.cli("bob", {"request", "approve", wipeLaptop, "--notes", "Confirmed with the service desk"}));
  ok(t.cli("alice", {"request", "complete", wipeLaptop}));
  CHECK(waitForTarget(t, wipeLaptop, "laptop-1", "succeeded") == "succeeded");
  CHECK(laptop.wiped());
  CHECK_FALSE(byod.wiped());
  CHECK_FALSE(kiosk.wiped());

  // 3. Personal laptop: two HR wipe approvers and a privacy officer.
  submitted = ok(t.cli("alice", {"request", "submit", "device.wipe", "--device", "byod-1", "--param", "mode=full",
                                 "--justification", "Employee left; BYOD exit agreement signed"}));
  CHECK_THAT(submitted.out, Catch::Contains("2 approval(s) from hr-wipe-approvers"));
  CHECK_THAT(submitted.out, Catch::Contains("privacy-officers"));
  std::string wipeByod = firstLine(submitted.out);
  // bob may approve a corporate wipe, not this one.
  auto bob = t.cli("bob", {"request", "approve", wipeByod, "--notes", "fine by me"});
  CHECK(bob.exit == 1);
  CHECK_THAT(bob.err, Catch::Contains("not_an_approver"));
  CHECK_THAT(bob.err, Catch::Contains("hr-wipe-approvers"));
  ok(t.cli("carol", {"request", "approve", wipeByod, "--notes", "HR and privacy: exit agreement on file"}));
  CHECK(requestState(t, wipeByod) == "needs_approval");
  auto early = t.cli("alice", {"request", "complete", wipeByod});
  CHECK(early.exit == 1);
  CHECK_THAT(early.err, Catch::Contains("not_approved"));
  CHECK_FALSE(byod.wiped());
  ok(t.cli("dave", {"request", "approve", wipeByod, "--notes", "Second HR approver"}));
  CHECK(requestState(t, wipeByod) == "approved");
  ok(t.cli("alice", {"request", "complete", wipeByod}));
  CHECK(waitForTarget(t, wipeByod, "byod-1", "succeeded") == "succeeded");
  CHECK(byod.wiped());
  CHECK_FALSE(kiosk.wiped());

  // 4. Kiosk: locking is the unprotected first response (no approval); it runs at once.
  submitted = ok(t.cli("alice", {"request", "submit", "device.lock", "--device", "kiosk-1", "--param",
                                 "message=Out of order", "--justification", "Screen vandalised"}));
  std::string lockKiosk = firstLine(submitted.out);
  CHECK(requestState(t, lockKiosk) == "approved");
  ok(t.cli("alice", {"request", "complete", lockKiosk}));
  CHECK(waitForTarget(t, lockKiosk, "kiosk-1", "succeeded") == "succeeded");
  CHECK(fs::exists(kiosk.base + "/locked"));
  CHECK_FALSE(kiosk.wiped());
  // Each agent ran exactly its own tokens.
  CHECK_THAT(laptopAgent->log(), !Catch::Contains(wipeByod));
  CHECK_THAT(kioskAgent->log(), !Catch::Contains(wipeLaptop));
  CHECK_THAT(byodAgent->log(), !Catch::Contains(lockKiosk));

  // 5. The audit log has the whole story and its chain verifies, online and offline.
  ok(t.cli("alice", {"audit", "verify"}));
  std::string exported = t.tmp / "audit.jsonl";
  ok(t.cli("alice", {"audit", "export", "--out", exported}));
  std::string audit = readFile(exported, 1 << 24).value();
  for (const char* event : {"bundle.proposed", "bundle.published", "request.submitted", "request.approved",
                            "request.refused", "request.completed", "device.result"})
    CHECK_THAT(audit, Catch::Contains(event));
  CHECK_THAT(audit, Catch::Contains("Confirmed with the service desk"));
  ok(t.cli("", {"audit", "verify", "--file", exported}));

  for (auto* agent : {laptopAgent.get(), byodAgent.get(), kioskAgent.get()}) CHECK(agent->stop(SIGTERM) == 0);
}
