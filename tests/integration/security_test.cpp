// The negative stories a security reviewer tries first (issue 5) that no other
// integration test covers; docs/testing.md maps every story to the test that proves it.
// Real coordinator, real CLI, real agents; an attacker who holds the coordinator's data
// folder is played by editing its SQLite database directly.
#include <signal.h>

#include <catch2/catch.hpp>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "coordinator_db.h"
#include "fleet.h"
#include "keyturn/crypto_util.h"
#include "keyturn/ed25519.h"
#include "keyturn/json.h"
#include "keyturn/jws.h"
#include "keyturn/login.h"
#include "keyturn/token.h"

using namespace keyturn;
using namespace keyturn::test;
namespace fs = std::filesystem;


TEST_CASE("a rejected request can be neither completed nor approved afterwards, and issues no token",
          "[integration][security]") {
  Tenant t;
  t.enroll("laptop-1", R"({"ownership":"corporate","platform":"linux"})");
  std::string id = t.submit("alice", {"device.wipe", "--device", "laptop-1", "--param", "mode=full",
                                      "--justification", "Reported lost"});
  auto rejected = t.cli("bob", {"request", "reject", id, "--notes", "Found in the meeting room"});
  INFO(rejected.all());
  REQUIRE(rejected.exit == 0);

  auto completed = t.cli("alice", {"request", "complete", id});
  INFO(completed.all());
  CHECK(completed.exit == 1);
  CHECK_THAT(completed.err, Catch::Contains("wrong_state"));
  CHECK_THAT(completed.err, Catch::Contains("rejected"));
  // Nobody can revive it: not bob, who rejected it, and not dave, the other approver (to
  // whom a request he can no longer act on is not even shown).
  auto approved = t.cli("bob", {"request", "approve", id, "--notes", "changed my mind"});
  INFO(approved.all());
  CHECK(approved.exit == 1);
  CHECK_THAT(approved.err, Catch::Contains("wrong_state"));
  auto other = t.cli("dave", {"request", "approve", id, "--notes", "I disagree with bob"});
  INFO(other.all());
  CHECK(other.exit == 1);
  CHECK_THAT(other.err, Catch::Contains("not_found"));

  auto shown = jsonOf(t.cli("alice", {"request", "show", id, "-o", "json"}));
  CHECK(shown->getValue<std::string>("state") == "rejected");
  CHECK(shown->getArray("approvals")->size() == 0);
  // Nothing was queued for the device.
  auto polled = t.agent("laptop-1").send("GET", "/api/v1/agent/tokens?wait=0");
  INFO(polled.body);
  CHECK((polled.status == 304 || (polled.status == 200 && polled.json->getArray("tokens")->size() == 0)));
}

TEST_CASE(
    "an approval forged into the coordinator's database: the coordinator refuses to complete it "
    "(bad_signature, audited, no token), and a token forced into the queue is refused by the agent",
    "[integration][security][tamper]") {
  Tenant t;
  AgentHome a(t, "laptop-1");
  enrollOk(t, a);
  a.allowSandboxWipe();
  auto agent = startAgent(a);
  std::string id = t.submit("alice", {"device.wipe", "--device", "laptop-1", "--param", "mode=full",
                                      "--justification", "Stolen from the Leeds office"});

  // The attacker holds the data folder (the database and issuer.key) but no admin's
  // key. They add an approval "by bob" — his kid is public in the bundle — signed with
  // the only key they have, and mark the request approved.
  CoordinatorDb db(t.data + "/keyturn.db");
  // The stored request as the coordinator keeps it: its payload and requester signature.
  auto parsed = parseJws(
      "{\"payload\":" + json::quote(db.run("SELECT payload_b64 FROM requests WHERE id = ?1", {id})) +
          ",\"signatures\":[{\"protected\":" +
          json::quote(db.run("SELECT protected_b64 FROM request_signatures WHERE request_id = ?1", {id})) +
          ",\"signature\":" +
          json::quote(db.run("SELECT signature_b64 FROM request_signatures WHERE request_id = ?1", {id})) + "}]}",
      4);
  REQUIRE(parsed);
  JwsEnvelope jws = parsed.value();
  auto issuer = Ed25519PrivateKey::load(t.data + "/issuer.key");
  REQUIRE(issuer);
  std::string bobKid = kidOf(t.tmp / "keys/bob.pub.json");
  auto now = static_cast<std::uint64_t>(std::time(nullptr));
  appendSignature(jws, issuer.value(), approverHeader(bobKid, now));
  const JwsSignature forged = jws.signatures.back();
  db.run(
      "INSERT INTO request_signatures (request_id, role, principal, kid, at, protected_b64, "
      "signature_b64, notes) VALUES (?1, 'approver', 'bob', ?2, ?3, ?4, ?5, 'forged')",
      {id, bobKid, std::to_string(now), forged.protectedB64, forged.signatureB64});
  db.run("UPDATE requests SET state = 'approved' WHERE id = ?1", {id});

  // Layer 1, the coordinator: completion re-verifies every stored signature against the
  // bundle in force and refuses, naming the approval and the check. Nothing is issued.
  auto completed = t.cli("alice", {"request", "complete", id});
  INFO(completed.all());
  CHECK(completed.exit == 1);
  CHECK_THAT(completed.err, Catch::Contains("bad_signature"));
  CHECK_THAT(completed.err, Catch::Contains("approver signature 1 (principal \"bob\""));
  CHECK(db.run("SELECT state FROM requests WHERE id = ?1", {id}) == "approved");
  CHECK(db.run("SELECT COUNT(*) FROM request_targets WHERE request_id = ?1 AND token IS NOT NULL", {id}) ==
        "0");
  std::string refusal = db.run(
      "SELECT detail_json FROM audit WHERE event = 'request.refused' AND subject = ?1 AND actor = 'alice'"
      " ORDER BY seq DESC LIMIT 1",
      {id});
  CHECK_THAT(refusal, Catch::Contains("\"operation\":\"complete\""));
  CHECK_THAT(refusal, Catch::Contains("\"reason\":\"bad_signature\""));
  CHECK_THAT(refusal, Catch::Contains("principal \\\"bob\\\""));
  // The running agent got nothing to refuse: its log shows no token at all yet.
  CHECK_THAT(agent->log(), !Catch::Contains("\"token refused\""));

  // Layer 2, the agent: the attacker issues the token themselves with issuer.key — with
  // a completion signature of alice's (as her CLI sent it) — and queues it. The agent
  // checks every signature against its own bundle: refused, reported, nothing runs.
  JwsEnvelope token = jws;
  auto alice = Ed25519PrivateKey::load(t.key("alice"));
  REQUIRE(alice);
  appendSignature(token, alice.value(), completerHeader(alice->publicKey().kid(), now + 1));
  appendSignature(token, issuer.value(),
                  issuerHeader(issuer->publicKey().kid(), now + 1, "laptop-1", 0, {}, now + 1,
                               now + 3600));
  db.run("UPDATE request_targets SET token = ?1, state = 'queued', updated = ?2 WHERE request_id = ?3",
         {token.serialize(), std::to_string(now + 1), id});
  db.run("UPDATE requests SET state = 'completed' WHERE id = ?1", {id});
  std::string state = waitForTarget(t, id, "laptop-1", "failed");
  INFO(agent->log());
  CHECK(state == "failed");
  CHECK_THAT(targetOutput(t, id, "laptop-1"), Catch::Contains("refused by the agent: bad_signature"));
  CHECK_THAT(agent->log(), Catch::Contains("\"token refused\""));
  CHECK_THAT(agent->log(), Catch::Contains("bad_signature"));
  CHECK_FALSE(a.wiped());
  CHECK(agent->stop(SIGTERM) == 0);
}

TEST_CASE(
    "a bundle v2 signed by one admin only, slipped in by the coordinator, is refused by the agent, "
    "which keeps v1 and goes on working",
    "[integration][security][tamper][bundle]") {
  Tenant t;
  AgentHome a(t, "laptop-2");
  enrollOk(t, a);
  a.allowSandboxWipe();
  auto agent = startAgent(a);

  // alice alone drafts v2 under which a wipe needs nobody's approval, and signs it.
  fs::create_directories(t.tmp / "policies-v2");
  std::ofstream(t.tmp / "policies-v2/integration.lua")
      << "return { name = \"integration\", actions = { \"device.wipe\", \"device.restart\" },\n"
         "  evaluate = function(req, device) return nil end }\n";
  std::string v2 = t.data + "/bundles/v2.json";
  fs::create_directories(t.data + "/bundles");
  auto drafted = t.cli("", {"bundle", "new", "--roster", t.tmp / "roster.json", "--policies",
                            t.tmp / "policies-v2", "--version", "2", "--out", v2});
  INFO(drafted.all());
  REQUIRE(drafted.exit == 0);
  REQUIRE(t.cli("", {"bundle", "sign", "--bundle", v2, "--key", t.key("alice")}).exit == 0);
  // The kit already says an agent would refuse it.
  auto shown = t.cli("", {"bundle", "show", "--bundle", v2});
  CHECK(shown.exit != 0);
  CHECK_THAT(shown.out, Catch::Contains("NOT met"));

  // The front door is closed (a proposal needs the other admins); the attacker writes it
  // into the coordinator's published chain directly.
  std::string bytes = readFile(v2, 1 << 23).value();
  {
    CoordinatorDb db(t.data + "/keyturn.db");
    db.run("INSERT INTO bundles (version, sha256, file, published_at) VALUES (2, ?1, ?2, ?3)",
           {toHex(sha256(bytes)), v2, std::to_string(std::time(nullptr))});
  }
  // The idle tag becomes idle-v2; the agent fetches the chain and refuses the update.
  INFO(agent->log());
  REQUIRE(agent->waitForLine("\"bundle update refused; keeping the current bundle\""));
  CHECK_THAT(agent->log(), Catch::Contains("threshold_not_met"));
  CHECK_THAT(agent->log(), !Catch::Contains("\"bundle updated\""));
  auto status = agentCommand({"status", "--config", a.config(), "-o", "json"});
  REQUIRE(status.exit == 0);
  CHECK(jsonOf(status)->getObject("bundle")->getValue<int>("version") == 1);

  // v1 still rules on the device: a wipe approved by bob under v1 runs.
  std::string id = approvedWipe(t, "laptop-2", "Left in a taxi");
  CHECK(waitForTarget(t, id, "laptop-2", "succeeded") == "succeeded");
  CHECK(a.wiped());
  CHECK(agent->stop(SIGTERM) == 0);
}

TEST_CASE("a stolen admin session token is refused once its 15 minutes are over, and the key holder logs in again",
          "[integration][security][session]") {
  // libfaketime moves the coordinator's wall clock (not its monotonic clock) without
  // changing the binary: it re-reads the offset from `clock` on every time call.
  const std::string faketime = KEYTURN_FAKETIME_LIBRARY;
  INFO("libfaketime is needed for this test (scripts/setup-deps installs it)");
  REQUIRE(!faketime.empty());
  REQUIRE(fs::exists(faketime));
  Tenant t;
  std::string clock = t.tmp / "clock";
  auto setClock = [&](const std::string& offset) { std::ofstream(clock, std::ios::trunc) << offset << "\n"; };
  setClock("+0");
  const std::map<std::string, std::string> fake{{"LD_PRELOAD", faketime},
                                                {"FAKETIME_TIMESTAMP_FILE", clock},
                                                {"FAKETIME_NO_CACHE", "1"},
                                                {"FAKETIME_DONT_FAKE_MONOTONIC", "1"}};
  REQUIRE(t.server->stop(SIGTERM) == 0);
  t.server = std::make_unique<ServerProcess>(
      KEYTURN_SERVER_BINARY,
      std::vector<std::string>{"run", "--data", t.data, "--port", std::to_string(t.port), "--log-format", "json"},
      fake);
  INFO(t.server->stderrText());
  REQUIRE(!t.server->waitForLine("\"listening\"").empty());

  t.login("alice");
  std::string stolen = t.session("alice");
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  auto profile = json::parseObject(readFile(t.home("alice") + "/.config/keyturn/profile.json", 1 << 20).value());
  REQUIRE(profile);
  std::int64_t expires = profile.value()->getValue<std::int64_t>("expires");
  CHECK(expires <= now + kMaxSessionSeconds);
  CHECK(expires > now + kMaxSessionSeconds - 60);

  // The thief has the bearer token only, from another machine (a raw HTTPS client).
  auto use = [&] { return t.api().send("GET", "/api/v1/requests?view=mine", "", stolen); };
  CHECK(use().status == 200);
  setClock("+14m");  // using it does not extend it
  CHECK(use().status == 200);
  setClock("+16m");
  auto refused = use();
  INFO(refused.body);
  CHECK(refused.status == 401);
  CHECK(refused.error() == "unauthenticated");

  // alice's CLI, on the same clock, logs in again with her key and carries on; the
  // stolen token stays dead.
  auto mine = t.cli("alice", {"request", "list", "--mine"}, fake);
  INFO(mine.all());
  CHECK(mine.exit == 0);
  CHECK(t.session("alice") != stolen);
  CHECK(use().status == 401);
}
