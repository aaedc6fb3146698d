// The coordinator-compromise drill (issue 4, PROTOCOL.md §5): the attacker holds the
// coordinator — its database and issuer.key — but no admin's key. Three agents run as
// separate processes. Forged tokens are written straight into the coordinator's
// database and delivered by it, so what is proven is the agent's side whatever the
// coordinator would check at completion: every agent refuses, reports why to the
// coordinator and in its log, runs nothing, and keeps running (a genuine lock still runs
// afterwards). security_test.cpp holds the single-agent variants (a forged approval that
// the coordinator itself issues; a bundle signed by one admin).
#include <signal.h>

#include <catch2/catch.hpp>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include "coordinator_db.h"
#include "fleet.h"
#include "keyturn/crypto_util.h"
#include "keyturn/ed25519.h"
#include "keyturn/json.h"
#include "keyturn/jws.h"
#include "keyturn/merkle.h"
#include "keyturn/token.h"

using namespace keyturn;
using namespace keyturn::test;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kDevices = {"laptop-a", "laptop-b", "laptop-c"};

// One drill agent: sandboxed wipe, a fake lock command that appends to base/locked, and
// a short poll so that tokens written behind the coordinator's back arrive in seconds.
struct DrillAgent {
  DrillAgent(Tenant& t, const std::string& device) : home(t, device) {
    enrollOk(t, home);
    home.allowSandboxWipe();
    fs::create_directories(home.base + "/bin");
    std::string lock = home.base + "/bin/loginctl";
    std::ofstream(lock) << "#!/bin/sh\necho \"$*\" >> " << home.base << "/locked\n";
    fs::permissions(lock, fs::perms::owner_all);
    std::ofstream(home.config(), std::ios::app) << "plugins.lock.command = " << lock << " lock-sessions\n"
                                                << "agent.poll.wait_s = 2\n";
    process = startAgent(home);
  }
  bool locked() const { return fs::exists(home.base + "/locked"); }
  int countInLog(const std::string& needle) {
    std::string log = process->log();
    int n = 0;
    for (auto at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++n;
    return n;
  }

  AgentHome home;
  std::unique_ptr<AgentProcess> process;
};

std::vector<std::unique_ptr<DrillAgent>> drillFleet(Tenant& t) {
  std::vector<std::unique_ptr<DrillAgent>> fleet;
  for (const auto& d : kDevices) fleet.push_back(std::make_unique<DrillAgent>(t, d));
  return fleet;
}

// A wipe of all three devices requested by alice through the CLI: the coordinator holds
// its payload and alice's genuine requester signature, and waits for an approval.
std::string wipeRequest(Tenant& t, const std::string& why) {
  std::vector<std::string> args = {"device.wipe", "--device"};
  args.insert(args.end(), kDevices.begin(), kDevices.end());
  for (const char* a : {"--param", "mode=full", "--justification"}) args.push_back(a);
  args.push_back(why);
  return t.submit("alice", args);
}

// The request's payload with its genuine requester signature (as the coordinator stores them).
JwsEnvelope storedEnvelope(CoordinatorDb& db, const std::string& id, bool withRequester) {
  JwsEnvelope jws;
  jws.payloadB64 = db.run("SELECT payload_b64 FROM requests WHERE id = ?1", {id});
  REQUIRE(!jws.payloadB64.empty());
  if (withRequester) {
    auto row = db.rows("SELECT protected_b64, signature_b64 FROM request_signatures WHERE request_id = ?1 AND role = 'requester'",
                       {id});
    REQUIRE(row.size() == 1);
    JwsSignature s;
    s.protectedB64 = row[0][0];
    s.signatureB64 = row[0][1];
    jws.signatures.push_back(s);
  }
  return jws;
}

// What a compromised coordinator does: signs `base` for each target with its issuer key
// (a genuine issuer signature with the device's Merkle proof, valid for an hour) and
// queues the tokens, the request marked completed.
void issueBehindTheBack(Tenant& t, CoordinatorDb& db, const std::string& id, const JwsEnvelope& base) {
  auto issuer = Ed25519PrivateKey::load(t.data + "/issuer.key");
  REQUIRE(issuer);
  auto sorted = canonicalTargets(kDevices);
  REQUIRE(sorted);
  MerkleTree tree(sorted.value());
  auto now = static_cast<std::uint64_t>(std::time(nullptr));
  for (std::size_t i = 0; i < sorted->size(); ++i) {
    JwsEnvelope token = base;
    appendSignature(token, issuer.value(),
                    issuerHeader(issuer.value().publicKey().kid(), now, sorted.value()[i], i, tree.auditPath(i), now, now + 3600));
    db.run("UPDATE request_targets SET token = ?1, state = 'queued', updated = ?2 WHERE request_id = ?3 AND device_id = ?4",
           {token.serialize(), std::to_string(now), id, sorted.value()[i]});
  }
  db.run("UPDATE requests SET state = 'completed' WHERE id = ?1", {id});
}

}  // namespace

TEST_CASE(
    "compromise drill: tokens forged with the issuer key alone, or approved by a key not in the bundle, are "
    "refused by every agent, which reports why, wipes nothing and keeps working",
    "[integration][security][drill]") {
  Tenant t;
  auto fleet = drillFleet(t);
  auto issuer = Ed25519PrivateKey::load(t.data + "/issuer.key");
  REQUIRE(issuer);
  const std::string aliceKid = kidOf(t.tmp / "keys/alice.pub.json");
  const std::string bobKid = kidOf(t.tmp / "keys/bob.pub.json");
  auto now = static_cast<std::uint64_t>(std::time(nullptr));

  // One at a time: the coordinator refuses a second pending wipe of the same devices,
  // and each forged request is "completed" before the next is submitted.
  CoordinatorDb db(t.data + "/keyturn.db");
  // (i) requester, approver and completer "alice", "bob", "alice" under their real kids,
  // all signed with the issuer key.
  std::string forgedAll = wipeRequest(t, "Drill: every signature forged with the issuer key");
  JwsEnvelope a = storedEnvelope(db, forgedAll, false);
  appendSignature(a, issuer.value(), requesterHeader(aliceKid, now));
  appendSignature(a, issuer.value(), approverHeader(bobKid, now));
  appendSignature(a, issuer.value(), completerHeader(aliceKid, now));
  issueBehindTheBack(t, db, forgedAll, a);
  // (i) no requester, approver or completer at all: the issuer's word only.
  std::string issuerOnly = wipeRequest(t, "Drill: the issuer's signature alone");
  issueBehindTheBack(t, db, issuerOnly, storedEnvelope(db, issuerOnly, false));
  // (ii) alice's genuine request, an approval by the attacker's own key (its kid is in no
  // bundle), and alice's genuine completion (she was shown an approved request).
  std::string rogueApproval = wipeRequest(t, "Drill: an approval by a key not in the bundle");
  JwsEnvelope c = storedEnvelope(db, rogueApproval, true);
  auto rogue = Ed25519PrivateKey::generate();
  appendSignature(c, rogue, approverHeader(rogue.publicKey().kid(), now));
  auto alice = Ed25519PrivateKey::load(t.key("alice"));
  REQUIRE(alice);
  appendSignature(c, alice.value(), completerHeader(aliceKid, now + 1));
  issueBehindTheBack(t, db, rogueApproval, c);

  const std::vector<std::pair<std::string, std::string>> cases = {
      {forgedAll, "bad_signature"}, {issuerOnly, "requester_mismatch"}, {rogueApproval, "unknown_key"}};
  for (const auto& [id, reason] : cases) {
    for (std::size_t i = 0; i < kDevices.size(); ++i) {
      INFO(kDevices[i] << " on " << id << ", expecting " << reason << "\n" << fleet[i]->process->log());
      CHECK(waitForTarget(t, id, kDevices[i], "failed") == "failed");
      CHECK_THAT(targetOutput(t, id, kDevices[i]), Catch::Contains("refused by the agent: " + reason));
      CHECK(fleet[i]->countInLog("\"reason\":\"" + reason + "\"") == 1);
    }
  }
  for (auto& a : fleet) {
    INFO(a->home.id << "\n" << a->process->log());
    CHECK_FALSE(a->home.wiped());
    CHECK(a->countInLog("\"token refused\"") == 3);
    CHECK(a->countInLog("\"executing\"") == 0);
  }

  // Every agent still runs and still obeys a genuine request (a lock needs no approval).
  std::vector<std::string> lockArgs = {"device.lock", "--device"};
  lockArgs.insert(lockArgs.end(), kDevices.begin(), kDevices.end());
  lockArgs.insert(lockArgs.end(), {"--justification", "Drill over: lock the screens"});
  std::string lock = t.submit("alice", lockArgs);
  REQUIRE(t.cli("alice", {"request", "complete", lock}).exit == 0);
  for (std::size_t i = 0; i < kDevices.size(); ++i) {
    INFO(fleet[i]->process->log());
    CHECK(waitForTarget(t, lock, kDevices[i], "succeeded") == "succeeded");
    CHECK(fleet[i]->locked());
    CHECK_FALSE(fleet[i]->home.wiped());
    CHECK(fleet[i]->process->stop(SIGTERM) == 0);
  }
}

TEST_CASE(
    "compromise drill: a bundle signed by one admin is refused by every agent once, shown in status, not "
    "re-verified on every poll, and a properly signed bundle of the same version is still taken",
    "[integration][security][drill][bundle]") {
  Tenant t;
  auto fleet = drillFleet(t);

  // alice alone signs a v2 under which a wipe needs nobody; the attacker publishes it.
  fs::create_directories(t.tmp / "policies-v2");
  std::ofstream(t.tmp / "policies-v2/integration.lua")
      << "return { name = \"integration\", actions = { \"device.wipe\", \"device.restart\" },\n"
         "  evaluate = function(req, device) return nil end }\n";
  fs::create_directories(t.data + "/bundles");
  const std::string forged = t.data + "/bundles/v2-forged.json";
  auto drafted = t.cli("", {"bundle", "new", "--roster", t.tmp / "roster.json", "--policies", t.tmp / "policies-v2",
                            "--version", "2", "--out", forged});
  INFO(drafted.all());
  REQUIRE(drafted.exit == 0);
  // The same draft, to be signed properly later.
  const std::string proper = t.data + "/bundles/v2.json";
  fs::copy_file(forged, proper);
  REQUIRE(t.cli("", {"bundle", "sign", "--bundle", forged, "--key", t.key("alice")}).exit == 0);
  const std::string forgedSha = toHex(sha256(readFile(forged, 1 << 23).value()));
  {
    CoordinatorDb db(t.data + "/keyturn.db");
    db.run("INSERT INTO bundles (version, sha256, file, published_at) VALUES (2, ?1, ?2, ?3)",
           {forgedSha, forged, std::to_string(std::time(nullptr))});
  }
  for (auto& a : fleet) {
    INFO(a->home.id << "\n" << a->process->log());
    REQUIRE(a->process->waitForLine("\"bundle update refused; keeping the current bundle\""));
    CHECK(a->countInLog("threshold_not_met") == 1);
    auto status = agentCommand({"status", "--config", a->home.config(), "-o", "json"});
    REQUIRE(status.exit == 0);
    auto s = jsonOf(status);
    CHECK(s->getObject("bundle")->getValue<int>("version") == 1);
    auto refused = s->getObject("refused_bundle");
    REQUIRE(refused);
    CHECK(refused->getValue<int>("version") == 2);
    CHECK(refused->getValue<std::string>("reason") == "threshold_not_met");
    CHECK(refused->getValue<std::string>("sha256") == forgedSha);
    auto text = agentCommand({"status", "--config", a->home.config()});
    CHECK_THAT(text.out, Catch::Contains("refused       bundle v2 (threshold_not_met"));
  }

  // Each token that arrives under the idle tag idle-v2 makes the agent fetch the chain
  // again; the refused bytes are recognised by their digest: not verified, not logged.
  std::vector<std::string> lockArgs = {"device.lock", "--device"};
  lockArgs.insert(lockArgs.end(), kDevices.begin(), kDevices.end());
  lockArgs.insert(lockArgs.end(), {"--justification", "Lock while the bundle is investigated"});
  for (int round = 0; round < 3; ++round) {
    std::string lock = t.submit("alice", lockArgs);
    REQUIRE(t.cli("alice", {"request", "complete", lock}).exit == 0);
    for (std::size_t i = 0; i < kDevices.size(); ++i)
      CHECK(waitForTarget(t, lock, kDevices[i], "succeeded") == "succeeded");
  }
  for (auto& a : fleet) {
    INFO(a->home.id << "\n" << a->process->log());
    CHECK(a->countInLog("\"bundle update refused; keeping the current bundle\"") == 1);
    CHECK(a->countInLog("\"tokens received\"") >= 3);
    CHECK(a->countInLog("\"bundle updated\"") == 0);
  }

  // bob adds his signature to a copy of the same draft: a different file, a valid v2.
  REQUIRE(t.cli("", {"bundle", "sign", "--bundle", proper, "--key", t.key("alice")}).exit == 0);
  REQUIRE(t.cli("", {"bundle", "sign", "--bundle", proper, "--key", t.key("bob")}).exit == 0);
  {
    CoordinatorDb db(t.data + "/keyturn.db");
    db.run("UPDATE bundles SET sha256 = ?1, file = ?2 WHERE version = 2",
           {toHex(sha256(readFile(proper, 1 << 23).value())), proper});
  }
  // The next token makes each agent fetch the chain; it takes the new v2 first.
  std::string lock = t.submit("alice", lockArgs);
  REQUIRE(t.cli("alice", {"request", "complete", lock}).exit == 0);
  for (std::size_t i = 0; i < kDevices.size(); ++i) {
    auto& a = fleet[i];
    INFO(a->home.id << "\n" << a->process->log());
    CHECK(waitForTarget(t, lock, kDevices[i], "succeeded") == "succeeded");
    CHECK(a->process->waitForLine("\"bundle updated\""));
    auto s = jsonOf(agentCommand({"status", "--config", a->home.config(), "-o", "json"}));
    CHECK(s->getObject("bundle")->getValue<int>("version") == 2);
    CHECK(s->isNull("refused_bundle"));
    CHECK(a->process->stop(SIGTERM) == 0);
  }
}
