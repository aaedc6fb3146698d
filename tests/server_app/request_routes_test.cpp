// The request workflow's HTTP routes on the real `keyturn-server` binary: bad
// input (401, 403, 404, 409, 413, 415, 400 shapes) and one happy path from
// submission to an issued token. Sessions and devices are arranged directly in
// the server's database (sessions stored hashed, as the login route stores
// them), so these tests do not depend on the login or enrollment routes.
#include <Poco/JSON/Object.h>
#include <signal.h>

#include <catch2/catch.hpp>
#include <ctime>

#include "app/auth.h"
#include "app/init_command.h"
#include "https_client.h"
#include "keyturn/base64url.h"
#include "keyturn/bundle.h"
#include "keyturn/crypto_util.h"
#include "keyturn/json.h"
#include "keyturn/jws.h"
#include "keyturn/merkle.h"
#include "keyturn/token.h"
#include "server_process.h"
#include "store/sqlite_store.h"
#include "temp_dir.h"

using namespace keyturn;
using namespace keyturn::test;

namespace {

Ed25519PrivateKey routeKey(std::uint8_t n) {
  std::array<std::uint8_t, 32> seed{};
  seed.fill(static_cast<std::uint8_t>(0x40 + n));
  return Ed25519PrivateKey::fromSeed(seed);
}

// alice requests; bob approves wipes (device-approvers); carol is in no
// approver group.
struct WorkflowServer {
  TempDir tmp;
  std::string dir = tmp / "data";
  server::ServerConfig config;
  std::unique_ptr<ServerProcess> process;
  int port = 0;
  Ed25519PrivateKey alice = routeKey(1), bob = routeKey(2), carol = routeKey(3);
  std::map<std::string, std::string> sessions;  // principal -> bearer token
  BundleDraft draft;                            // bundle v1 as drafted

  WorkflowServer() {
    auto c = server::InitCommand::initialize(dir, "contoso", "localhost");
    REQUIRE(c);
    config = c.value();
    config.bind = "127.0.0.1:8443";
    REQUIRE(config.save(dir));
    auto issuer = json::parseObject(readFile(dir + "/issuer.pub.json", 4096).value()).value();
    BundleDraft d;
    d.tenant = "contoso";
    d.version = 1;
    d.issued = static_cast<std::uint64_t>(std::time(nullptr)) - 60;
    d.expires = d.issued + 30 * 86400;
    d.issuersX = {issuer->getValue<std::string>("x")};
    d.principals = {{"alice", {"maa-admins", "device-admins"}, {alice.publicKey().x()}},
                    {"bob", {"maa-admins", "device-approvers"}, {bob.publicKey().x()}},
                    {"carol", {"helpdesk"}, {carol.publicKey().x()}}};
    d.updateGroup = "maa-admins";
    d.threshold = 1;
    d.policies = {{"wipe.lua",
                   "return { name = 'wipe', actions = { 'device.wipe' },\n"
                   "  evaluate = function(req, device) return { approvals = 1, "
                   "group = 'device-approvers' } end }\n"}};
    draft = d;
    JwsEnvelope jws = newJws(bundlePayloadJson(d));
    appendSignature(jws, alice, bundleSignatureHeader(alice.publicKey().kid(), d.issued));
    REQUIRE(writeFileAtomic(config.bundle, jws.serialize(), 0644).empty());
    {
      auto store = server::SqliteStore::open(config.database);
      REQUIRE(store);
      std::int64_t now = std::time(nullptr);
      for (const char* who : {"alice", "bob", "carol"}) {
        std::string token = std::string("test-session-") + who;
        sessions[who] = token;
        REQUIRE(store.value()->insertSession({server::secretHash(token), who, now, now + 900}));
      }
      for (const char* dev : {"dev-1", "dev-2"}) {
        server::DeviceRecord rec;
        rec.id = dev;
        rec.certFingerprint = std::string("fp-") + dev;
        rec.factsJson = "{\"ownership\":\"corporate\"}";
        rec.enrolledAt = now;
        REQUIRE(store.value()->insertDevice(rec, std::nullopt));
      }
    }
    start();
  }

  // Starts (or restarts) the server; returns its "listening" line.
  std::string start() {
    process = std::make_unique<ServerProcess>(
        std::vector<std::string>{"run", "--data", dir, "--port", "0", "--log-format", "json"});
    std::string line = process->waitForLine("listening");
    INFO(process->stderrText());
    REQUIRE(!line.empty());
    port = portFromLog(line);
    REQUIRE(port > 0);
    return line;
  }

  HttpReply as(const std::string& who, const std::string& method, const std::string& path,
               const std::string& body = "", Headers headers = {}) {
    if (!who.empty()) headers["Authorization"] = "Bearer " + sessions.at(who);
    return HttpsClient(config.caCertificate, port).send(method, path, body, headers);
  }

  // A wipe of `targets`, signed by alice, as the CLI submits it.
  std::string submitBody(const std::string& id, const std::vector<std::string>& targets,
                         const std::vector<std::string>& listed) {
    auto now = static_cast<std::uint64_t>(std::time(nullptr));
    RequestDraft d{"contoso",        id,      "device.wipe",   "{\"mode\":\"full\"}",
                   targets,          "alice", "Laptop stolen", now,
                   now + 30 * 86400, 1};
    JwsEnvelope jws = newJws(requestPayloadJson(d).value());
    appendSignature(jws, alice, requesterHeader(alice.publicKey().kid(), now));
    std::string list = "[";
    for (const auto& t : listed) list += (list.size() > 1 ? "," : "") + json::quote(t);
    return "{\"token\":" + jws.serialize() + ",\"targets\":" + list + "]}";
  }

  // {"protected","signature","notes"} over the request's payload.
  static std::string signedBody(const Ed25519PrivateKey& key, const std::string& header,
                                const std::string& payloadB64, const std::string& notes) {
    std::string p = base64url::encode(header);
    Signature sig = key.sign(p + "." + payloadB64);
    std::string out = "{\"protected\":" + json::quote(p) +
                      ",\"signature\":" + json::quote(base64url::encode(sig.data(), sig.size()));
    if (!notes.empty()) out += ",\"notes\":" + json::quote(notes);
    return out + "}";
  }
};

Poco::JSON::Object::Ptr body(const HttpReply& reply) {
  INFO("HTTP " << reply.status << ": " << reply.body);
  auto o = json::parseObject(reply.body);
  REQUIRE(o);
  return o.value();
}

std::string error(const HttpReply& reply) {
  INFO("HTTP " << reply.status << ": " << reply.body);
  auto o = body(reply);
  CHECK(o->size() == 2);  // the one error shape: error and detail
  return o->getValue<std::string>("error");
}

}  // namespace

TEST_CASE(
    "request routes: no session is 401, another's request is 404, bad "
    "input is 400/413/415",
    "[requests][http]") {
  WorkflowServer s;
  HttpReply anon = s.as("", "GET", "/api/v1/requests");
  CHECK(anon.status == 401);
  CHECK(error(anon) == "unauthenticated");
  HttpReply bogus = s.as("", "GET", "/api/v1/requests", "", {{"Authorization", "Bearer nope"}});
  CHECK(bogus.status == 401);

  HttpReply missing = s.as("alice", "GET", "/api/v1/requests/r-none");
  CHECK(missing.status == 404);
  CHECK(error(missing) == "not_found");

  HttpReply text =
      s.as("alice", "POST", "/api/v1/requests", "{}", {{"Content-Type", "text/plain"}});
  CHECK(text.status == 415);
  CHECK(error(text) == "unsupported_media_type");

  // Over the 64 KiB limit of an approval (small enough that the client finishes
  // sending before the server answers and closes).
  HttpReply big =
      s.as("alice", "POST", "/api/v1/requests/r-none/approve", std::string(80 * 1024, ' '));
  CHECK(big.status == 413);
  CHECK(error(big) == "too_large");

  HttpReply notJson = s.as("alice", "POST", "/api/v1/requests", "{\"token\":");
  CHECK(notJson.status == 400);
  CHECK(error(notJson) == "malformed");

  HttpReply noTargets = s.as("alice", "POST", "/api/v1/requests", "{\"token\":{}}");
  CHECK(noTargets.status == 400);
  CHECK_THAT(body(noTargets)->getValue<std::string>("detail"), Catch::Contains("targets"));

  HttpReply unknown =
      s.as("alice", "POST", "/api/v1/requests", "{\"token\":{},\"targets\":[],\"x\":1}");
  CHECK(unknown.status == 400);
  CHECK_THAT(body(unknown)->getValue<std::string>("detail"), Catch::Contains("x"));

  HttpReply badView = s.as("alice", "GET", "/api/v1/requests?view=everything");
  CHECK(badView.status == 400);
  HttpReply all = s.as("bob", "GET", "/api/v1/requests?view=all");
  CHECK(all.status == 403);
  CHECK(error(all) == "forbidden");
}

TEST_CASE(
    "request routes: submit, refusals, approve with notes, complete, and "
    "the token is queued",
    "[requests][http]") {
  WorkflowServer s;
  // A target list that does not match the signed root.
  HttpReply mismatch = s.as("alice", "POST", "/api/v1/requests",
                            s.submitBody("r-http", {"dev-1", "dev-2"}, {"dev-1"}));
  CHECK(mismatch.status == 422);
  CHECK(error(mismatch) == "targets_mismatch");

  HttpReply created = s.as("alice", "POST", "/api/v1/requests",
                           s.submitBody("r-http", {"dev-1", "dev-2"}, {"dev-2", "dev-1"}));
  REQUIRE(created.status == 201);
  auto request = body(created);
  CHECK(request->getValue<std::string>("state") == "needs_approval");
  CHECK(request->getArray("targets")->size() == 2);
  auto requirement = request->getArray("requirements")->getObject(0);
  CHECK(requirement->getValue<std::string>("group") == "device-approvers");
  CHECK(requirement->getValue<int>("have") == 0);
  std::string payload = request->getValue<std::string>("payload");

  // The same signed request sent again (a replay) creates nothing.
  HttpReply replayed = s.as("alice", "POST", "/api/v1/requests",
                            s.submitBody("r-http", {"dev-1", "dev-2"}, {"dev-2", "dev-1"}));
  CHECK(replayed.status == 409);
  CHECK(error(replayed) == "duplicate_request");

  HttpReply again = s.as("alice", "POST", "/api/v1/requests",
                         s.submitBody("r-http-2", {"dev-1", "dev-2"}, {"dev-1", "dev-2"}));
  CHECK(again.status == 409);
  CHECK(error(again) == "duplicate_request");

  // bob sees it under "received", carol cannot see it at all.
  auto received = body(s.as("bob", "GET", "/api/v1/requests?view=received"));
  CHECK(received->getArray("requests")->size() == 1);
  CHECK(s.as("carol", "GET", "/api/v1/requests/r-http").status == 404);

  auto approveBody = [&](const Ed25519PrivateKey& k, const std::string& notes) {
    return WorkflowServer::signedBody(k, approverHeader(k.publicKey().kid(), std::time(nullptr)),
                                      payload, notes);
  };
  HttpReply self =
      s.as("alice", "POST", "/api/v1/requests/r-http/approve", approveBody(s.alice, "mine"));
  CHECK(self.status == 403);
  CHECK(error(self) == "self_approval");
  HttpReply outsider =
      s.as("carol", "POST", "/api/v1/requests/r-http/approve", approveBody(s.carol, "ok"));
  CHECK(outsider.status == 403);
  CHECK(error(outsider) == "not_an_approver");
  HttpReply noNotes =
      s.as("bob", "POST", "/api/v1/requests/r-http/approve", approveBody(s.bob, ""));
  CHECK(noNotes.status == 400);
  CHECK(error(noNotes) == "malformed");  // the member is missing
  HttpReply blankNotes =
      s.as("bob", "POST", "/api/v1/requests/r-http/approve", approveBody(s.bob, " "));
  CHECK(blankNotes.status == 400);
  CHECK(error(blankNotes) == "notes_required");

  auto completeBody = [&](const Ed25519PrivateKey& k) {
    return WorkflowServer::signedBody(k, completerHeader(k.publicKey().kid(), std::time(nullptr)),
                                      payload, "");
  };
  HttpReply early =
      s.as("alice", "POST", "/api/v1/requests/r-http/complete", completeBody(s.alice));
  CHECK(early.status == 409);
  CHECK(error(early) == "not_approved");

  HttpReply approved = s.as("bob", "POST", "/api/v1/requests/r-http/approve",
                            approveBody(s.bob, "Confirmed by phone"));
  REQUIRE(approved.status == 200);
  CHECK(body(approved)->getValue<std::string>("state") == "approved");
  HttpReply twice =
      s.as("bob", "POST", "/api/v1/requests/r-http/approve", approveBody(s.bob, "again"));
  CHECK(twice.status == 409);

  HttpReply byBob = s.as("bob", "POST", "/api/v1/requests/r-http/complete", completeBody(s.bob));
  CHECK(byBob.status == 403);
  CHECK(error(byBob) == "not_requester");
  HttpReply cancelByBob = s.as("bob", "POST", "/api/v1/requests/r-http/cancel");
  CHECK(cancelByBob.status == 403);

  HttpReply done = s.as("alice", "POST", "/api/v1/requests/r-http/complete", completeBody(s.alice));
  REQUIRE(done.status == 200);
  auto completed = body(done);
  CHECK(completed->getValue<std::string>("state") == "completed");
  CHECK(completed->getArray("approvals")->getObject(0)->getValue<std::string>("notes") ==
        "Confirmed by phone");
  auto targets = completed->getArray("targets");
  REQUIRE(targets->size() == 2);
  CHECK(targets->getObject(0)->getValue<std::string>("state") == "queued");

  HttpReply cancelDone = s.as("alice", "POST", "/api/v1/requests/r-http/cancel");
  CHECK(cancelDone.status == 409);
  CHECK(error(cancelDone) == "wrong_state");

  // The tokens are in the database, one per target, each for its own device.
  auto store = server::SqliteStore::open(s.config.database);
  REQUIRE(store);
  for (const char* dev : {"dev-1", "dev-2"}) {
    auto queued = store.value()->queuedTokens(dev, 0);
    REQUIRE(queued);
    REQUIRE(queued->size() == 1);
    auto token = parseToken(*queued->front().token);
    REQUIRE(token);
    CHECK(token->signatures.back().role == SignerRole::kIssuer);
    CHECK(token->signatures.back().device == dev);
  }
  auto mine = body(s.as("alice", "GET", "/api/v1/requests?view=mine&state=completed"));
  CHECK(mine->getArray("requests")->size() == 1);
  CHECK(mine->getObject("counts")->getValue<int>("mine") == 1);
}

TEST_CASE(
    "bundle proposals over HTTP: proposed, approved by another admin, "
    "published, restored at restart",
    "[requests][http][bundle]") {
  WorkflowServer s;
  BundleDraft next = s.draft;
  next.version = 2;
  next.principals.pop_back();  // carol leaves
  JwsEnvelope jws = newJws(bundlePayloadJson(next));
  appendSignature(jws, s.alice,
                  bundleSignatureHeader(s.alice.publicKey().kid(), std::time(nullptr)));
  std::string proposal =
      "{\"bundle\":" + jws.serialize() + ",\"justification\":\"Carol moved teams\"}";

  HttpReply noJustification =
      s.as("alice", "POST", "/api/v1/bundle-proposals", "{\"bundle\":" + jws.serialize() + "}");
  CHECK(noJustification.status == 400);
  HttpReply created = s.as("alice", "POST", "/api/v1/bundle-proposals", proposal);
  REQUIRE(created.status == 201);
  auto request = body(created);
  std::string id = request->getValue<std::string>("id");
  CHECK(request->getValue<std::string>("action") == "maa.bundle.update");
  CHECK(request->getValue<std::string>("state") == "needs_approval");
  auto removed = request->getObject("diff")->getArray("principals")->getObject(0);
  CHECK(removed->getValue<std::string>("id") == "carol");
  CHECK(removed->getValue<std::string>("change") == "removed");
  std::string payload = request->getValue<std::string>("payload");

  // Threshold 1, but nobody publishes alone.
  HttpReply alone = s.as("alice", "POST", "/api/v1/requests/" + id + "/complete", "{}");
  CHECK(alone.status == 409);
  CHECK(error(alone) == "not_approved");
  HttpReply self =
      s.as("alice", "POST", "/api/v1/requests/" + id + "/approve",
           WorkflowServer::signedBody(
               s.alice, bundleSignatureHeader(s.alice.publicKey().kid(), std::time(nullptr)),
               payload, "me"));
  CHECK(self.status == 403);
  CHECK(error(self) == "self_approval");
  HttpReply approved =
      s.as("bob", "POST", "/api/v1/requests/" + id + "/approve",
           WorkflowServer::signedBody(
               s.bob, bundleSignatureHeader(s.bob.publicKey().kid(), std::time(nullptr)), payload,
               "HR confirmed"));
  REQUIRE(approved.status == 200);
  CHECK(body(approved)->getValue<std::string>("state") == "approved");
  HttpReply published = s.as("alice", "POST", "/api/v1/requests/" + id + "/complete");
  REQUIRE(published.status == 200);
  CHECK(body(published)->getValue<std::string>("state") == "completed");
  CHECK(body(s.as("", "GET", "/healthz"))->getValue<int>("bundle_version") == 2);
  auto v2 = readFile(s.dir + "/bundles/v2.json", kMaxBundleBytes);
  REQUIRE(v2.has_value());
  // Any admin reads the bundle in force, byte for byte, with its digest as ETag.
  HttpReply current = s.as("bob", "GET", "/api/v1/bundle");
  REQUIRE(current.status == 200);
  CHECK(current.body == *v2);
  CHECK(current.etag == "\"" + toHex(sha256(*v2)) + "\"");
  CHECK(s.as("", "GET", "/api/v1/bundle").status == 401);
  // carol is no longer a principal: her session ends at once.
  HttpReply gone = s.as("carol", "GET", "/api/v1/requests");
  CHECK(gone.status == 401);
  CHECK(error(gone) == "unknown_principal");

  REQUIRE(s.process->stop(SIGTERM) == 0);
  std::string line = s.start();
  CHECK(line.find("\"bundle_version\":2") != std::string::npos);
  CHECK(s.as("carol", "GET", "/api/v1/requests").status == 401);
}

TEST_CASE("request listing over HTTP: 250 requests come in capped pages with a cursor, counts over all",
          "[requests][http][pagination]") {
  WorkflowServer s;
  {
    // Completed requests written straight into the store (the listing reads rows only).
    auto store = server::SqliteStore::open(s.config.database);
    REQUIRE(store);
    const std::int64_t base = std::time(nullptr) - 10'000;
    for (int i = 0; i < 250; ++i) {
      server::RequestRecord r;
      r.id = "r-page-" + std::to_string(1000 + i);
      r.tenant = "contoso";
      r.action = "device.wipe";
      r.paramsJson = "{}";
      r.requester = "alice";
      r.justification = "bulk";
      r.created = base + i / 2;  // pairs share a second: the id orders them
      r.expires = base + 30 * 86400;
      r.bundleVersion = 1;
      r.targetCount = 1;
      r.targetRoot = "root-" + std::to_string(i);
      r.payloadB64 = "e30";
      r.state = server::state::kCompleted;
      r.requirementsJson = "[]";
      r.updated = r.created;
      REQUIRE(store.value()->insertRequest(
          r, {"dev-1"}, {r.id, "requester", "alice", "kid", r.created, "e30", "c2ln", ""},
          std::nullopt));
    }
  }
  std::vector<std::string> seen;
  std::vector<std::size_t> sizes;
  std::string path = "/api/v1/requests?view=mine";
  for (int page = 0; page < 10; ++page) {
    auto o = body(s.as("alice", "GET", path));
    auto list = o->getArray("requests");
    sizes.push_back(list->size());
    for (std::size_t i = 0; i < list->size(); ++i) seen.push_back(list->getObject(i)->getValue<std::string>("id"));
    CHECK(o->getObject("counts")->getValue<int>("mine") == 250);
    if (o->isNull("next")) break;
    path = "/api/v1/requests?view=mine&cursor=" + o->getValue<std::string>("next");
  }
  CHECK(sizes == std::vector<std::size_t>{100, 100, 50});  // the default page is 100
  REQUIRE(seen.size() == 250);
  // Newest first, each once: r-page-1249 down to r-page-1000.
  for (std::size_t i = 0; i < seen.size(); ++i) CHECK(seen[i] == "r-page-" + std::to_string(1249 - i));

  auto big = body(s.as("alice", "GET", "/api/v1/requests?view=mine&limit=500"));
  CHECK(big->getArray("requests")->size() == 250);
  CHECK(big->isNull("next"));
  HttpReply tooBig = s.as("alice", "GET", "/api/v1/requests?view=mine&limit=501");
  CHECK(tooBig.status == 400);
  CHECK_THAT(tooBig.body, Catch::Contains("limit"));
  HttpReply badCursor = s.as("alice", "GET", "/api/v1/requests?view=mine&cursor=not-a-cursor");
  CHECK(badCursor.status == 400);
  CHECK(error(badCursor) == "malformed");
  CHECK_THAT(badCursor.body, Catch::Contains("cursor"));
}
