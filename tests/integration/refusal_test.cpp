// Each refusal of issue 3, with the exit status and message a person gets from the CLI,
// and, for what the CLI never sends, the coordinator's answer to a raw HTTPS client.
#include <Poco/Net/SSLException.h>
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <thread>

#include "keyturn/crypto_util.h"
#include "keyturn/ed25519.h"
#include "keyturn/json.h"
#include "keyturn/jws.h"
#include "keyturn/token.h"
#include "tenant.h"

using namespace keyturn;
using namespace keyturn::test;

namespace {

const char* kCorporate = R"({"ownership":"corporate","platform":"linux"})";

std::string wipe(Tenant& t, const std::string& device = "laptop-1") {
  return t.submit("alice",
                  {"device.wipe", "--device", device, "--justification", "Lost on the train"});
}

// A request signed by alice with the data folder's real tenant and bundle version,
// built by hand so a test can break one thing in it.
std::string signedPayload(Tenant& t, const std::string& payload) {
  auto key = Ed25519PrivateKey::load(t.key("alice"));
  REQUIRE(key);
  JwsEnvelope jws = newJws(payload);
  appendSignature(
      jws, key.value(),
      requesterHeader(key->publicKey().kid(), static_cast<std::uint64_t>(std::time(nullptr))));
  return jws.serialize();
}

RequestDraft draft(const std::vector<std::string>& targets) {
  RequestDraft d;
  d.tenant = "contoso";
  d.id = "r-raw-" + std::to_string(std::time(nullptr));
  d.action = "device.wipe";
  d.targets = targets;
  d.requester = "alice";
  d.justification = "JUSTIFICATION";
  d.bundle = 1;
  d.created = static_cast<std::uint64_t>(std::time(nullptr));
  d.expires = d.created + 86400;
  return d;
}

}  // namespace

TEST_CASE(
    "the coordinator refuses a self-approval sent through the CLI, even by a member of the "
    "approver group",
    "[integration][refusal]") {
  Tenant t;
  t.enroll("laptop-1", kCorporate);
  // bob is in device-approvers; his own request he may not approve.
  std::string id =
      t.submit("bob", {"device.wipe", "--device", "laptop-1", "--justification", "Lost"});
  auto r = t.cli("bob", {"request", "approve", id, "--notes", "mine anyway"});
  CHECK(r.exit == 1);
  CHECK_THAT(r.err, Catch::Contains("self_approval"));
  CHECK_THAT(r.err, Catch::Contains("cannot approve their own request"));
  auto show = t.cli("bob", {"request", "show", id, "-o", "json"});
  CHECK(jsonOf(show)->getArray("approvals")->size() == 0);
}

TEST_CASE("an approver outside the required group is refused and told which group is needed",
          "[integration][refusal]") {
  Tenant t;
  t.enroll("laptop-1", kCorporate);
  std::string id = wipe(t);
  auto r = t.cli("carol", {"request", "approve", id, "--notes", "looks fine"});
  INFO(r.all());
  CHECK(r.exit == 1);
  CHECK_THAT(r.err, Catch::Contains("not_an_approver"));
  CHECK_THAT(r.err, Catch::Contains("device-approvers"));
}

TEST_CASE("an approval or rejection without notes is refused", "[integration][refusal]") {
  Tenant t;
  t.enroll("laptop-1", kCorporate);
  std::string id = wipe(t);
  auto noOption = t.cli("bob", {"request", "approve", id});
  CHECK(noOption.exit == 2);
  CHECK_THAT(noOption.err, Catch::Contains("--notes is required"));
  // Empty notes reach the coordinator, which refuses them.
  auto empty = t.cli("bob", {"request", "approve", id, "--notes", ""});
  INFO(empty.all());
  CHECK(empty.exit == 1);
  CHECK_THAT(empty.err, Catch::Contains("notes"));
  auto reject = t.cli("bob", {"request", "reject", id, "--notes", ""});
  CHECK(reject.exit == 1);
  auto show = t.cli("alice", {"request", "show", id, "-o", "json"});
  CHECK(jsonOf(show)->getValue<std::string>("state") == "needs_approval");
}

TEST_CASE("a request without a justification is refused", "[integration][refusal]") {
  Tenant t;
  t.enroll("laptop-1", kCorporate);
  auto r = t.cli("alice", {"request", "submit", "device.wipe", "--device", "laptop-1"});
  CHECK(r.exit == 2);
  CHECK_THAT(r.err, Catch::Contains("--justification is required"));
  // Signed by alice with an empty justification, sent as is: the coordinator refuses it.
  auto payload = requestPayloadJson(draft({"laptop-1"}));
  REQUIRE(payload);
  std::string emptied = payload.value();
  emptied.replace(emptied.find("\"JUSTIFICATION\""), 15, "\"\"");
  auto reply =
      t.api().send("POST", "/api/v1/requests",
                   "{\"token\":" + signedPayload(t, emptied) + ",\"targets\":[\"laptop-1\"]}",
                   t.session("alice"));
  INFO(reply.body);
  CHECK(reply.status == 400);
  CHECK((reply.error() == "justification_required" || reply.error() == "malformed"));
  CHECK_THAT(reply.body, Catch::Contains("justification"));
}

TEST_CASE("completion before approval is refused", "[integration][refusal]") {
  Tenant t;
  t.enroll("laptop-1", kCorporate);
  std::string id = wipe(t);
  auto r = t.cli("alice", {"request", "complete", id});
  INFO(r.all());
  CHECK(r.exit == 1);
  CHECK_THAT(r.err, Catch::Contains("not_approved"));
}

TEST_CASE("completion by someone other than the requester is refused", "[integration][refusal]") {
  Tenant t;
  t.enroll("laptop-1", kCorporate);
  std::string id = wipe(t);
  REQUIRE(t.cli("bob", {"request", "approve", id, "--notes", "ok"}).exit == 0);
  auto r = t.cli("bob", {"request", "complete", id});
  INFO(r.all());
  CHECK(r.exit == 1);
  CHECK((r.err.find("not_requester") != std::string::npos ||
         r.err.find("requester_mismatch") != std::string::npos));
  auto show = t.cli("alice", {"request", "show", id, "-o", "json"});
  CHECK(jsonOf(show)->getValue<std::string>("state") == "approved");
}

TEST_CASE("a second approval by the same admin is refused", "[integration][refusal]") {
  Tenant t;
  t.enroll("laptop-1", kCorporate);
  // device.restart needs two device-approvers, so the request stays open after bob.
  std::string id =
      t.submit("alice", {"device.restart", "--device", "laptop-1", "--justification", "Patch day"});
  REQUIRE(t.cli("bob", {"request", "approve", id, "--notes", "first"}).exit == 0);
  auto again = t.cli("bob", {"request", "approve", id, "--notes", "second"});
  INFO(again.all());
  CHECK(again.exit == 1);
  CHECK_THAT(again.err, Catch::Contains("already_approved"));
  REQUIRE(t.cli("dave", {"request", "approve", id, "--notes", "second person"}).exit == 0);
  CHECK(jsonOf(t.cli("alice", {"request", "show", id, "-o", "json"}))
            ->getValue<std::string>("state") == "approved");
}

TEST_CASE("an approval after the request expired is refused", "[integration][refusal]") {
  Tenant t;
  t.enroll("laptop-1", kCorporate);
  std::string id = t.submit("alice", {"device.wipe", "--device", "laptop-1", "--justification",
                                      "Short-lived", "--expires-in", "2"});
  std::this_thread::sleep_for(std::chrono::seconds(3));
  auto r = t.cli("bob", {"request", "approve", id, "--notes", "too late"});
  INFO(r.all());
  CHECK(r.exit == 1);
  CHECK_THAT(r.err, Catch::Contains("request_expired"));
}

TEST_CASE("a request whose target list does not match its signed root is refused",
          "[integration][refusal]") {
  Tenant t;
  for (const char* d : {"laptop-1", "laptop-2"}) t.enroll(d, kCorporate);
  auto d = draft({"laptop-1"});
  d.justification = "Only laptop-1";
  auto payload = requestPayloadJson(d);
  REQUIRE(payload);
  // Signed over [laptop-1], sent with [laptop-2].
  auto reply = t.api().send(
      "POST", "/api/v1/requests",
      "{\"token\":" + signedPayload(t, payload.value()) + ",\"targets\":[\"laptop-2\"]}",
      t.session("alice"));
  INFO(reply.body);
  CHECK(reply.status == 422);
  CHECK(reply.error() == "targets_mismatch");
  // Nothing was stored: alice has no request.
  auto mine = t.cli("alice", {"request", "list", "--mine", "-o", "json"});
  CHECK(jsonOf(mine)->getArray("requests")->size() == 0);
}

TEST_CASE("an agent without a valid client certificate is refused", "[integration][refusal]") {
  Tenant t;
  t.enroll("laptop-1", kCorporate);
  // No certificate at all.
  auto none = t.api().send("GET", "/api/v1/agent/tokens?wait=0");
  CHECK(none.status == 401);
  CHECK(none.error() == "device_certificate_required");
  // A certificate from another coordinator's CA fails the handshake.
  TempDir other;
  auto init = runProgram(
      KEYTURN_SERVER_BINARY,
      {"init", "--data", other / "data", "--tenant", "contoso", "--hostname", "localhost"}, {});
  REQUIRE(init.exit == 0);
  ApiClient foreign(t.ca, t.port, other / "data/server.pem", other / "data/server.key");
  bool refused = false;
  try {
    auto r = foreign.send("GET", "/api/v1/agent/tokens?wait=0");
    refused = r.status == 401 || r.status == 403;
  } catch (const Poco::Exception&) {
    refused = true;
  }
  CHECK(refused);
  // The enrolled device's own certificate works.
  auto mine = t.agent("laptop-1").send("GET", "/api/v1/agent/tokens?wait=0");
  CHECK((mine.status == 200 || mine.status == 304));
  // Once removed, it no longer does.
  auto removed = t.cli("alice", {"device", "remove", "laptop-1"});
  INFO(removed.all());
  REQUIRE(removed.exit == 0);
  auto revoked = t.agent("laptop-1").send("GET", "/api/v1/agent/tokens?wait=0");
  CHECK(revoked.status == 403);
  CHECK(revoked.error() == "device_removed");
}

TEST_CASE(
    "an approver's CLI refuses to sign when the coordinator shows other targets than the "
    "requester signed",
    "[integration][refusal]") {
  Tenant t;
  for (const char* d : {"laptop-1", "laptop-2"}) t.enroll(d, kCorporate);
  std::string id = wipe(t, "laptop-1");
  // A compromised coordinator swaps the target in its database.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((t.data + "/keyturn.db").c_str(), &db) == SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  std::string sql =
      "UPDATE request_targets SET device_id = 'laptop-2' WHERE request_id = '" + id + "'";
  CHECK(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  CHECK(sqlite3_changes(db) == 1);
  sqlite3_close(db);

  auto shown = t.cli("bob", {"request", "show", id});
  CHECK(shown.exit == 1);
  CHECK_THAT(shown.out, Catch::Contains("TARGETS DO NOT MATCH"));
  auto approve = t.cli("bob", {"request", "approve", id, "--notes", "looks fine"});
  INFO(approve.all());
  CHECK(approve.exit == 1);
  CHECK_THAT(approve.err, Catch::Contains("targets_mismatch"));
  // Nothing was signed or sent.
  auto after = t.cli("alice", {"request", "show", id, "-o", "json"});
  auto r = jsonOf(after);
  CHECK(r->getArray("approvals")->size() == 0);
  CHECK_FALSE(r->getValue<bool>("targets_match"));
}
