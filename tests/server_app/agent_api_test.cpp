// The agent-facing API over the real server with real client certificates:
// enrollment with a single-use code, mutual TLS on every agent route, removal
// revoking at once, the bundle chain, the token long poll (prompt wake-up, 304
// when idle), idempotent results and facts.
#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>
#include <thread>

#include "api_server.h"
#include "keyturn/crypto_util.h"
#include "keyturn/json.h"
#include "tls/certificate_authority.h"
#include "tls/tls_key.h"

using namespace keyturn;
using namespace keyturn::test;

namespace {

std::string errorOf(const HttpReply &r) {
  return parseBody(r)->getValue<std::string>("error");
}

// A completed request for `device` with one queued token, written straight to
// the store (the workflow's own tests cover how a real completion gets there).
void queueToken(ApiServer &server, const std::string &requestId,
                const std::string &device) {
  auto store = server.openStore();
  std::int64_t t = std::time(nullptr);
  server::RequestRecord r;
  r.id = requestId;
  r.tenant = "contoso";
  r.action = "device.lock";
  r.paramsJson = "{}";
  r.requester = "alice";
  r.justification = "test";
  r.created = t;
  r.expires = t + 86400;
  r.bundleVersion = 1;
  r.targetCount = 1;
  r.targetRoot = "root-" + requestId;
  r.payloadB64 = "e30";
  r.state = server::state::kApproved;
  r.requirementsJson = "[]";
  r.updated = t;
  server::SignatureRecord requester{requestId, "requester", "alice", "k",
                                    t,         "cA",        "cw",    ""};
  REQUIRE(store->insertRequest(r, {device}, requester, std::nullopt));
  server::SignatureRecord completer{requestId, "completer", "alice", "k",
                                    t,         "cA",        "cw",    ""};
  std::string token = "{\"payload\":\"e30\",\"signatures\":[],\"request\":" +
                      json::quote(requestId) + "}";
  REQUIRE(store->completeRequest(completer, {{device, token}}, std::nullopt));
}

} // namespace

TEST_CASE("enrollment: a code enrolls one device, which gets its certificate, "
          "the CA and bundle v1",
          "[api][agent]") {
  ApiServer server;
  auto key = tls::TlsKey::generate();
  std::string code = server.enrollmentCode();
  std::string body =
      "{\"code\":" + json::quote(code) +
      ",\"device_id\":\"laptop-17\",\"public_key\":" +
      json::quote(key->publicPem()) +
      ",\"facts\":{\"ownership\":\"corporate\",\"groups\":[\"berlin\"]}}";
  HttpReply r = server.send("POST", "/api/v1/agent/enroll", body);
  REQUIRE(r.status == 201);
  auto o = parseBody(r);
  CHECK(o->getValue<std::string>("device") == "laptop-17");
  auto cert =
      tls::Certificate::fromPem(o->getValue<std::string>("certificate"));
  REQUIRE(cert);
  CHECK(cert->deviceId() == std::optional<std::string>("laptop-17"));
  CHECK(o->getValue<std::string>("ca") ==
        readFile(server.config.caCertificate, 65536).value());
  auto bundles = o->getArray("bundles");
  REQUIRE(bundles->size() == 1);
  CHECK(json::stringify(bundles->get(0)) ==
        json::stringify(
            json::parseObject(readFile(server.config.bundle, 1 << 20).value())
                .value()));

  SECTION("the same code again is refused, and the refusal is audited") {
    std::string again = "{\"code\":" + json::quote(code) +
                        ",\"device_id\":\"laptop-18\",\"public_key\":" +
                        json::quote(key->publicPem()) + "}";
    HttpReply reused = server.send("POST", "/api/v1/agent/enroll", again);
    CHECK(reused.status == 403);
    CHECK(errorOf(reused) == "invalid_enrollment_code");
    HttpReply unknown = server.send("POST", "/api/v1/agent/enroll",
                                    "{\"code\":\"nope\",\"public_key\":" +
                                        json::quote(key->publicPem()) + "}");
    CHECK(unknown.status == 403);
    CHECK(errorOf(unknown) == "invalid_enrollment_code");
    auto audit =
        server.sendAs(server.aliceSession, "GET", "/api/v1/audit?limit=1000");
    CHECK_THAT(audit.body, Catch::Contains("enrollment.refused"));
    CHECK_THAT(audit.body, Catch::Contains("device.enrolled"));
  }
  SECTION("a taken id is refused only with a valid code; a bad key does not "
          "use the code up") {
    std::string taken =
        "{\"code\":\"nope\",\"device_id\":\"laptop-17\",\"public_key\":" +
        json::quote(key->publicPem()) + "}";
    CHECK(errorOf(server.send("POST", "/api/v1/agent/enroll", taken)) ==
          "invalid_enrollment_code");
    std::string fresh = server.enrollmentCode();
    HttpReply badKey =
        server.send("POST", "/api/v1/agent/enroll",
                    "{\"code\":" + json::quote(fresh) +
                        ",\"public_key\":\"-----BEGIN PUBLIC KEY-----\"}");
    CHECK(badKey.status == 400);
    CHECK_THAT(parseBody(badKey)->getValue<std::string>("detail"),
               Catch::Contains("public_key"));
    std::string again = "{\"code\":" + json::quote(fresh) +
                        ",\"device_id\":\"laptop-17\",\"public_key\":" +
                        json::quote(key->publicPem()) + "}";
    HttpReply conflict = server.send("POST", "/api/v1/agent/enroll", again);
    CHECK(conflict.status == 409);
    CHECK(errorOf(conflict) == "device_exists");
  }
  SECTION("the device list shows it, filtered by the groups in its facts") {
    auto all =
        parseBody(server.sendAs(server.aliceSession, "GET", "/api/v1/devices"));
    REQUIRE(all->getArray("devices")->size() == 1);
    auto d = all->getArray("devices")->getObject(0);
    CHECK(d->getValue<std::string>("id") == "laptop-17");
    CHECK(d->getValue<std::string>("state") == "active");
    CHECK(d->getValue<std::string>("ownership") == "corporate");
    CHECK(parseBody(server.sendAs(server.aliceSession, "GET",
                                  "/api/v1/devices?group=berlin"))
              ->getArray("devices")
              ->size() == 1);
    CHECK(parseBody(server.sendAs(server.aliceSession, "GET",
                                  "/api/v1/devices?group=paris"))
              ->getArray("devices")
              ->size() == 0);
    CHECK(server.sendAs(server.aliceSession, "GET", "/api/v1/devices/laptop-17")
              .status == 200);
    CHECK(server.sendAs(server.aliceSession, "GET", "/api/v1/devices/nope")
              .status == 404);
  }
}

TEST_CASE("enrollment codes need the role devices.enroll", "[api][agent]") {
  ApiServer server;
  std::string bob = server.login("bob", testKey(2));
  HttpReply r =
      server.sendAs(bob, "POST", "/api/v1/devices/enrollment-codes", "{}");
  CHECK(r.status == 403);
  CHECK(errorOf(r) == "forbidden");
  CHECK(server.send("POST", "/api/v1/devices/enrollment-codes", "{}").status ==
        401);
  HttpReply tooLong = server.sendAs(server.aliceSession, "POST",
                                    "/api/v1/devices/enrollment-codes",
                                    "{\"expires_in_s\":999999999}");
  CHECK(tooLong.status == 400);
}

TEST_CASE("agent routes: the issued certificate works, none gets 401, another "
          "CA's is refused",
          "[api][agent]") {
  ApiServer server;
  EnrolledAgent a = server.enroll("laptop-17");
  HttpReply ok = server.agent(a, "GET", "/api/v1/agent/bundles?after=0");
  REQUIRE(ok.status == 200);
  CHECK(parseBody(ok)->getArray("bundles")->size() == 1);
  CHECK(parseBody(server.agent(a, "GET", "/api/v1/agent/bundles?after=1"))
            ->getArray("bundles")
            ->size() == 0);

  HttpReply none = server.send("GET", "/api/v1/agent/bundles");
  CHECK(none.status == 401);
  CHECK(errorOf(none) == "device_certificate_required");

  // Same device id and key, but a certificate from a CA the server does not
  // trust: the handshake itself fails (or, if it did not, the route would
  // refuse it).
  auto theirs = tls::CertificateAuthority::create("Keyturn CA contoso");
  auto key = tls::TlsKey::fromPem(readFile(a.keyFile, 65536).value());
  REQUIRE(theirs->issueClientCertificate("laptop-17", key->publicPem())
              ->save(server.tmp / "evil.pem"));
  EnrolledAgent evil{"laptop-17", server.tmp / "evil.pem", a.keyFile};
  bool refused = false;
  try {
    refused = server.agent(evil, "GET", "/api/v1/agent/bundles").status == 401;
  } catch (const Poco::Exception &) {
    refused = true;
  }
  CHECK(refused);

  // A certificate of our CA for the right id but not the enrolled one.
  auto ours = tls::CertificateAuthority::load(server.config.caKey,
                                              server.config.caCertificate);
  REQUIRE(ours->issueClientCertificate("laptop-17", key->publicPem())
              ->save(server.tmp / "other.pem"));
  HttpReply other =
      server.agent({"laptop-17", server.tmp / "other.pem", a.keyFile}, "GET",
                   "/api/v1/agent/bundles");
  CHECK(other.status == 403);
  CHECK(errorOf(other) == "unknown_device");
}

TEST_CASE("removing a device revokes its certificate at once", "[api][agent]") {
  ApiServer server;
  EnrolledAgent a = server.enroll("laptop-17");
  CHECK(server.agent(a, "GET", "/api/v1/agent/tokens?wait=0").status == 200);
  std::string bob = server.login("bob", testKey(2));
  CHECK(server.sendAs(bob, "DELETE", "/api/v1/devices/laptop-17").status ==
        403);
  HttpReply removed =
      server.sendAs(server.aliceSession, "DELETE", "/api/v1/devices/laptop-17");
  CHECK(removed.status == 200);
  HttpReply after = server.agent(a, "GET", "/api/v1/agent/tokens?wait=0");
  CHECK(after.status == 403);
  CHECK(errorOf(after) == "device_removed");
  CHECK(parseBody(server.sendAs(server.aliceSession, "GET", "/api/v1/devices"))
            ->getArray("devices")
            ->size() == 0);
  CHECK(
      server.sendAs(server.aliceSession, "DELETE", "/api/v1/devices/laptop-17")
          .status == 409);
}

TEST_CASE("tokens: an idle poll is 304 with the ETag, a queued token wakes a "
          "held poll promptly",
          "[api][agent]") {
  ApiServer server;
  EnrolledAgent a = server.enroll("laptop-17");
  HttpReply first = server.agent(a, "GET", "/api/v1/agent/tokens?wait=0");
  REQUIRE(first.status == 200);
  CHECK(parseBody(first)->getArray("tokens")->size() == 0);
  REQUIRE(!first.etag.empty());
  HttpReply idle = server.agent(a, "GET", "/api/v1/agent/tokens?wait=0", "",
                                {{"If-None-Match", first.etag}});
  CHECK(idle.status == 304);
  CHECK(idle.body.empty());

  auto started = std::chrono::steady_clock::now();
  std::thread completer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    queueToken(server, "r-1", "laptop-17");
  });
  HttpReply held = server.agent(a, "GET", "/api/v1/agent/tokens?wait=20", "",
                                {{"If-None-Match", first.etag}});
  completer.join();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();
  REQUIRE(held.status == 200);
  auto tokens = parseBody(held)->getArray("tokens");
  REQUIRE(tokens->size() == 1);
  CHECK(tokens->getObject(0)->getValue<std::string>("request") == "r-1");
  CHECK(seconds >= 1.4);
  CHECK(seconds < 4.0); // not the 20 s the poll could have been held
  // Delivered once: the next idle poll is 304 again.
  CHECK(server
            .agent(a, "GET", "/api/v1/agent/tokens?wait=0", "",
                   {{"If-None-Match", first.etag}})
            .status == 304);
  CHECK_THAT(
      server.sendAs(server.aliceSession, "GET", "/api/v1/audit?limit=1000")
          .body,
      Catch::Contains("token.delivered"));
}

TEST_CASE("idle polls answered from memory: a removal is refused at once, a token "
          "queued by another process still arrives",
          "[api][agent]") {
  ApiServer server;
  EnrolledAgent a = server.enroll("laptop-17");
  EnrolledAgent b = server.enroll("laptop-18");
  auto idlePoll = [&](const EnrolledAgent &agent, const std::string &tag) {
    return server.agent(agent, "GET", "/api/v1/agent/tokens?wait=0", "",
                        {{"If-None-Match", tag}});
  };
  std::string tagA = server.agent(a, "GET", "/api/v1/agent/tokens?wait=0").etag;
  std::string tagB = server.agent(b, "GET", "/api/v1/agent/tokens?wait=0").etag;
  REQUIRE(!tagA.empty());
  // The first idle poll reads the store, the next ones within a second may not.
  for (int i = 0; i < 3; ++i) {
    CHECK(idlePoll(a, tagA).status == 304);
    CHECK(idlePoll(b, tagB).status == 304);
  }
  // A removal through this server is seen by the very next poll.
  REQUIRE(server.sendAs(server.aliceSession, "DELETE", "/api/v1/devices/laptop-17")
              .status == 200);
  HttpReply removed = idlePoll(a, tagA);
  CHECK(removed.status == 403);
  CHECK(errorOf(removed) == "device_removed");
  // A token written by another connection to the database (as another coordinator
  // process would) is not notified in this one: it arrives once the remembered idle
  // answer is a second old.
  queueToken(server, "r-1", "laptop-18");
  auto queued = std::chrono::steady_clock::now();
  HttpReply got;
  for (int i = 0; i < 100; ++i) {
    got = idlePoll(b, tagB);
    if (got.status != 304)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - queued)
                       .count();
  REQUIRE(got.status == 200);
  auto tokens = parseBody(got)->getArray("tokens");
  REQUIRE(tokens->size() == 1);
  CHECK(tokens->getObject(0)->getValue<std::string>("request") == "r-1");
  CHECK(seconds < 3.0); // about one second, never the agent's next long poll
}

TEST_CASE(
    "results: the same result twice is recorded once, a different one is 409",
    "[api][agent]") {
  ApiServer server;
  EnrolledAgent a = server.enroll("laptop-17");
  queueToken(server, "r-1", "laptop-17");
  REQUIRE(server.agent(a, "GET", "/api/v1/agent/tokens?wait=0").status == 200);
  std::string result = "{\"results\":[{\"request\":\"r-1\",\"state\":"
                       "\"succeeded\",\"exit_code\":0,"
                       "\"output\":\"locked\",\"at\":1764300000}]}";
  HttpReply once = server.agent(a, "POST", "/api/v1/agent/results", result);
  REQUIRE(once.status == 200);
  CHECK(parseBody(once)->getArray("results")->getObject(0)->getValue<bool>(
      "recorded"));
  HttpReply twice = server.agent(a, "POST", "/api/v1/agent/results", result);
  REQUIRE(twice.status == 200);
  CHECK_FALSE(
      parseBody(twice)->getArray("results")->getObject(0)->getValue<bool>(
          "recorded"));
  std::string differs = "{\"results\":[{\"request\":\"r-1\",\"state\":"
                        "\"failed\",\"at\":1764300000}]}";
  HttpReply conflict =
      server.agent(a, "POST", "/api/v1/agent/results", differs);
  CHECK(conflict.status == 409);
  auto store = server.openStore();
  auto targets = store->targets("r-1");
  REQUIRE(targets);
  CHECK(targets->at(0).state == "succeeded");

  HttpReply bad = server.agent(
      a, "POST", "/api/v1/agent/results",
      "{\"results\":[{\"request\":\"r-1\",\"state\":\"done\",\"at\":1}]}");
  CHECK(bad.status == 400);
  CHECK_THAT(parseBody(bad)->getValue<std::string>("detail"),
             Catch::Contains("state"));
}

TEST_CASE("facts: a device reports its facts, which the device list shows",
          "[api][agent]") {
  ApiServer server;
  EnrolledAgent a = server.enroll("laptop-17");
  HttpReply put = server.agent(a, "PUT", "/api/v1/agent/facts",
                               "{\"platform\":\"linux\",\"ownership\":"
                               "\"personal\",\"groups\":[\"sales\"],"
                               "\"tags\":{\"floor\":\"3\"}}");
  CHECK(put.status == 204);
  auto d = parseBody(
      server.sendAs(server.aliceSession, "GET", "/api/v1/devices/laptop-17"));
  CHECK(d->getValue<std::string>("platform") == "linux");
  CHECK(d->getValue<std::string>("ownership") == "personal");
  CHECK(d->getValue<Poco::Int64>("last_seen") > 0);
  CHECK(parseBody(server.sendAs(server.aliceSession, "GET",
                                "/api/v1/devices?group=sales"))
            ->getArray("devices")
            ->size() == 1);
  HttpReply unknown =
      server.agent(a, "PUT", "/api/v1/agent/facts", "{\"owner\":\"x\"}");
  CHECK(unknown.status == 400);
  CHECK_THAT(parseBody(unknown)->getValue<std::string>("detail"),
             Catch::Contains("owner"));
  HttpReply big =
      server.agent(a, "PUT", "/api/v1/agent/facts",
                   "{\"platform\":\"" + std::string(40000, 'x') + "\"}");
  CHECK(big.status == 413);
}

TEST_CASE("tokens: a token delivered without a result is sent again after keyturn.agents.redelivery_s, "
          "not before",
          "[api][agent]") {
  ApiServer server([](server::ServerConfig &c) { c.redeliverySeconds = 1; });
  EnrolledAgent a = server.enroll("laptop-17");
  queueToken(server, "r-1", "laptop-17");
  auto tokensIn = [&](const HttpReply &reply) {
    REQUIRE(reply.status == 200);
    return parseBody(reply)->getArray("tokens")->size();
  };
  CHECK(tokensIn(server.agent(a, "GET", "/api/v1/agent/tokens?wait=0")) == 1);
  // Delivered just now: not again while the lease runs.
  CHECK(tokensIn(server.agent(a, "GET", "/api/v1/agent/tokens?wait=0")) == 0);
  // The lease is whole seconds of the clock: 2.1 s is past a 1 s lease whatever the
  // fraction of a second the delivery fell on, and far short of the default 60 s.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  HttpReply again = server.agent(a, "GET", "/api/v1/agent/tokens?wait=0");
  REQUIRE(tokensIn(again) == 1);
  CHECK(parseBody(again)->getArray("tokens")->getObject(0)->getValue<std::string>("request") == "r-1");
}
