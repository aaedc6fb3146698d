// The seed scenario of issue 3 through the real CLI: a protected wipe requested with a
// justification, approved by a second admin with notes, completed by the requester,
// and a token issued for exactly the targeted devices; and a policy change proposed,
// approved and published as the next trust bundle.
#include <Poco/JSON/Array.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "keyturn/bundle.h"
#include "keyturn/crypto_util.h"
#include "keyturn/json.h"
#include "keyturn/merkle.h"
#include "keyturn/token.h"
#include "tenant.h"

using namespace keyturn;
using namespace keyturn::test;

namespace {

const char* kCorporate = R"({"ownership":"corporate","platform":"linux","groups":["lab"]})";

// The tokens queued for a device, as its agent fetches them over mutual TLS.
std::vector<Token> fetchTokens(Tenant& t, const std::string& device) {
  ApiReply r = t.agent(device).send("GET", "/api/v1/agent/tokens?wait=0");
  INFO(device << ": " << r.status << " " << r.body);
  std::vector<Token> out;
  if (r.status == 304) return out;
  REQUIRE(r.status == 200);
  auto tokens = r.json->getArray("tokens");
  REQUIRE(tokens);
  for (std::size_t i = 0; i < tokens->size(); ++i) {
    auto parsed = parseToken(json::stringify(tokens->get(static_cast<unsigned>(i))));
    REQUIRE(parsed);
    out.push_back(parsed.value());
  }
  return out;
}

}  // namespace

TEST_CASE(
    "a protected wipe requested with justification, approved with notes and completed issues "
    "a token for exactly the targeted devices",
    "[integration][workflow]") {
  Tenant t;
  for (const char* d : {"laptop-1", "laptop-2", "laptop-3"}) t.enroll(d, kCorporate);

  // alice asks, with a justification, for two of the three devices.
  auto submitted =
      t.cli("alice", {"request", "submit", "device.wipe", "--device", "laptop-2", "laptop-1",
                      "--param", "mode=full", "--justification", "Stolen from the Leeds office"});
  INFO(submitted.all());
  REQUIRE(submitted.exit == 0);
  std::string id = submitted.out.substr(0, submitted.out.find('\n'));
  CHECK(validRequestId(id));
  CHECK_THAT(submitted.out, Catch::Contains("needs 1 approval(s) from device-approvers"));

  // bob sees it among the requests he can approve, with its targets checked locally.
  auto received = t.cli("bob", {"request", "list", "--received"});
  CHECK(received.exit == 0);
  CHECK_THAT(received.out, Catch::Contains(id));
  auto shown = t.cli("bob", {"request", "show", id});
  INFO(shown.all());
  CHECK(shown.exit == 0);
  CHECK_THAT(shown.out, Catch::Contains("targets match the signed Merkle root"));
  CHECK_THAT(shown.out, Catch::Contains("Stolen from the Leeds office"));

  auto approved = t.cli(
      "bob", {"request", "approve", id, "--notes", "Confirmed with the service desk ticket 4711"});
  INFO(approved.all());
  REQUIRE(approved.exit == 0);
  CHECK_THAT(approved.out, Catch::Contains("state now approved"));

  auto completed = t.cli("alice", {"request", "complete", id, "-o", "json"});
  INFO(completed.all());
  REQUIRE(completed.exit == 0);
  CHECK(jsonOf(completed)->getValue<std::string>("state") == "completed");

  // The approval and its notes are on the record.
  auto json = t.cli("alice", {"request", "show", id, "-o", "json"});
  REQUIRE(json.exit == 0);
  auto r = jsonOf(json);
  CHECK(r->getValue<bool>("targets_match"));
  auto approvals = r->getArray("approvals");
  REQUIRE(approvals->size() == 1);
  CHECK(approvals->getObject(0)->getValue<std::string>("principal") == "bob");
  CHECK(approvals->getObject(0)->getValue<std::string>("notes") ==
        "Confirmed with the service desk ticket 4711");

  // Exactly the targeted devices get a token, each naming itself, and laptop-3 nothing.
  for (const char* d : {"laptop-1", "laptop-2"}) {
    auto tokens = fetchTokens(t, d);
    REQUIRE(tokens.size() == 1);
    const Token& tok = tokens[0];
    CHECK(tok.payload.id == id);
    CHECK(tok.payload.action == "device.wipe");
    CHECK(tok.payload.targetCount == 2);
    int issuers = 0, approvers = 0, completers = 0;
    for (const auto& s : tok.signatures) {
      if (s.role == SignerRole::kIssuer) {
        ++issuers;
        CHECK(s.device == d);
        CHECK(
            verifyAuditPath(d, s.index, tok.payload.targetCount, s.proof, tok.payload.targetRoot));
      }
      approvers += s.role == SignerRole::kApprover;
      completers += s.role == SignerRole::kCompleter;
    }
    CHECK(issuers == 1);
    CHECK(approvers == 1);
    CHECK(completers == 1);
  }
  CHECK(fetchTokens(t, "laptop-3").empty());
}

TEST_CASE("a request over a device group is resolved by the coordinator at submission",
          "[integration][workflow]") {
  Tenant t;
  t.enroll("kiosk-1", R"({"ownership":"corporate","groups":["kiosks"]})");
  t.enroll("kiosk-2", R"({"ownership":"corporate","groups":["kiosks"]})");
  t.enroll("desk-1", R"({"ownership":"corporate","groups":["desks"]})");
  std::string id =
      t.submit("alice", {"device.wipe", "--group", "kiosks", "--justification", "Kiosk refresh"});
  auto shown = t.cli("alice", {"request", "show", id, "-o", "json"});
  REQUIRE(shown.exit == 0);
  auto r = jsonOf(shown);
  CHECK(r->getValue<int>("target_count") == 2);
  CHECK(r->getValue<bool>("targets_match"));
  auto missing = t.cli("alice", {"request", "submit", "device.wipe", "--group", "nobody-here",
                                 "--justification", "x"});
  CHECK(missing.exit == 1);
  CHECK_THAT(missing.err, Catch::Contains("no device in group \"nobody-here\""));
}

TEST_CASE(
    "a policy change proposed by alice, approved by bob with notes and completed by alice "
    "publishes bundle v2",
    "[integration][workflow][bundle]") {
  Tenant t;
  namespace fs = std::filesystem;
  // The next bundle: the same roster, one more policy (restarts need 1 approval now).
  fs::create_directories(t.tmp / "policies-v2");
  fs::copy_file(t.tmp / "policies/integration.lua", t.tmp / "policies-v2/integration.lua");
  std::ofstream(t.tmp / "policies-v2/lock.lua")
      << "return { name = \"lock\", actions = { \"device.lock\" },\n"
         "  evaluate = function(req, device) return { approvals = 1, group = \"device-approvers\" "
         "} end }\n";
  std::string v2 = t.tmp / "bundle-v2.json";
  auto drafted = t.cli("", {"bundle", "new", "--roster", t.tmp / "roster.json", "--policies",
                            t.tmp / "policies-v2", "--version", "2", "--out", v2});
  INFO(drafted.all());
  REQUIRE(drafted.exit == 0);
  // What a lock needs under the bundle in force, asked of the coordinator: nothing yet.
  std::string facts = t.tmp / "laptop-facts.json";
  std::ofstream(facts) << "{\"id\":\"laptop-1\",\"ownership\":\"corporate\"}";
  std::vector<std::string> simulate = {"policy", "simulate", "--server", "--action", "device.lock",
                                       "--device-facts", facts, "--requester", "alice"};
  auto before = t.cli("alice", simulate);
  INFO(before.all());
  REQUIRE(before.exit == 0);
  CHECK_THAT(before.out, !Catch::Contains("lock (lock.lua)"));

  // No --current: the diff starts from the coordinator's bundle in force.
  auto proposed = t.cli("alice", {"bundle", "propose", "--bundle", v2, "--justification",
                                  "Locking needs a second person from now on"});
  INFO(proposed.all());
  REQUIRE(proposed.exit == 0);
  CHECK_THAT(proposed.all(), Catch::Contains("bundle v1 -> v2"));
  CHECK_THAT(proposed.all(), Catch::Contains("added lock"));
  std::string id = proposed.out.substr(0, proposed.out.find('\n'));

  auto approved =
      t.cli("bob", {"request", "approve", id, "--notes", "Reviewed the lock policy with security"});
  INFO(approved.all());
  REQUIRE(approved.exit == 0);
  auto completed = t.cli("alice", {"request", "complete", id});
  INFO(completed.all() << t.server->stderrText());
  REQUIRE(completed.exit == 0);

  auto health = t.api().send("GET", "/healthz");
  CHECK(health.json->getValue<int>("bundle_version") == 2);
  auto after = t.cli("alice", simulate);
  INFO(after.all());
  REQUIRE(after.exit == 0);
  CHECK_THAT(after.out, Catch::Contains("lock (lock.lua) matched"));
  CHECK_THAT(after.out, Catch::Contains("1 approval from device-approvers"));
  // Agents get the new bundle in the chain, signed by alice and bob.
  t.enroll("laptop-9", kCorporate);
  auto chain = t.agent("laptop-9").send("GET", "/api/v1/agent/bundles?after=1");
  INFO(chain.body);
  REQUIRE(chain.status == 200);
  auto bundles = chain.json->getArray("bundles");
  REQUIRE(bundles->size() == 1);
  auto b = TrustBundle::parse(json::stringify(bundles->get(0)));
  REQUIRE(b);
  CHECK(b->version == 2);
  CHECK(b->signatures.size() == 2);
}

TEST_CASE("a rejection's notes reach the requester, and the requester can cancel a pending request",
          "[integration][workflow]") {
  Tenant t;
  t.enroll("laptop-1", kCorporate);
  t.enroll("laptop-2", kCorporate);
  std::string rejected =
      t.submit("alice", {"device.wipe", "--device", "laptop-1", "--justification", "Suspicious"});
  auto no = t.cli("bob", {"request", "reject", rejected, "--notes", "The user still has it"});
  INFO(no.all());
  REQUIRE(no.exit == 0);
  auto shown = t.cli("alice", {"request", "show", rejected});
  CHECK_THAT(shown.out, Catch::Contains("rejected"));
  CHECK_THAT(shown.out, Catch::Contains("bob at "));
  CHECK_THAT(shown.out, Catch::Contains("The user still has it"));

  std::string pending =
      t.submit("alice", {"device.wipe", "--device", "laptop-2", "--justification", "Typo ticket"});
  // Only the requester cancels.
  auto notMine = t.cli("bob", {"request", "cancel", pending});
  CHECK(notMine.exit == 1);
  auto cancelled = t.cli("alice", {"request", "cancel", pending, "-o", "json"});
  INFO(cancelled.all());
  REQUIRE(cancelled.exit == 0);
  CHECK(jsonOf(cancelled)->getValue<std::string>("state") == "cancelled");
  auto list = t.cli("alice", {"request", "list", "--mine", "--state", "cancelled", "-o", "json"});
  REQUIRE(list.exit == 0);
  auto requests = jsonOf(list)->getArray("requests");
  REQUIRE(requests->size() == 1);
  CHECK(requests->getObject(0)->getValue<std::string>("id") == pending);
  // Nothing was issued for either.
  CHECK(fetchTokens(t, "laptop-1").empty());
  CHECK(fetchTokens(t, "laptop-2").empty());
}
