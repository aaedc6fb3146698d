// `keyturn-server run` as a real process on an ephemeral port, talked to over HTTPS:
// health, the bundle gate on /api/v1, the JSON error shape, the TLS floor, and a clean
// stop on SIGTERM.
#include <Poco/JSON/Object.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <ctime>

#include "app/init_command.h"
#include "https_client.h"
#include "keyturn/bundle.h"
#include "keyturn/crypto_util.h"
#include "keyturn/json.h"
#include "keyturn/jws.h"
#include "server_process.h"
#include "temp_dir.h"
#include "tls/certificate_authority.h"

using namespace keyturn;
using namespace keyturn::test;

namespace {

// A data folder from init, bound to loopback only, and the server running on it.
struct RunningServer {
  TempDir tmp;
  std::string dir = tmp / "data";
  server::ServerConfig config;
  std::unique_ptr<ServerProcess> process;
  int port = 0;

  explicit RunningServer(const std::string& logFormat = "json") {
    auto c = server::InitCommand::initialize(dir, "contoso", "localhost");
    REQUIRE(c);
    config = c.value();
    config.bind = "127.0.0.1:8443";
    REQUIRE(config.save(dir));
    process = std::make_unique<ServerProcess>(
        std::vector<std::string>{"run", "--data", dir, "--port", "0", "--log-format", logFormat});
    std::string line = process->waitForLine("listening");
    INFO(process->stderrText());
    REQUIRE(!line.empty());
    port = logFormat == "json" ? portFromLog(line) : 0;
    if (port == 0) {
      std::size_t at = line.find("port=");
      if (at != std::string::npos) port = std::atoi(line.c_str() + at + 5);
    }
    REQUIRE(port > 0);
  }
  HttpReply send(const std::string& method, const std::string& path) {
    return HttpsClient(config.caCertificate, port).send(method, path);
  }
};

Poco::JSON::Object::Ptr parseBody(const HttpReply& reply) {
  auto o = json::parseObject(reply.body);
  INFO(reply.body);
  REQUIRE(o);
  return o.value();
}

// Bundle v1 for the tenant, one admin (threshold 1), the data folder's issuer key.
std::string signedBundle(const std::string& tenant, const std::string& issuerPubJson) {
  auto alice = Ed25519PrivateKey::generate();
  auto issuerPub = json::parseObject(issuerPubJson).value();
  BundleDraft d;
  d.tenant = tenant;
  d.version = 1;
  d.issued = static_cast<std::uint64_t>(std::time(nullptr));
  d.expires = d.issued + 30 * 86400;
  d.issuersX = {issuerPub->getValue<std::string>("x")};
  d.principals = {{"alice", {"maa-admins"}, {alice.publicKey().x()}}};
  d.updateGroup = "maa-admins";
  d.threshold = 1;
  d.policies = {{"apps.lua",
                 "return { name = \"apps\", actions = { \"app.install\" },\n"
                 "  evaluate = function(req, device) return { approvals = 1, group = "
                 "\"maa-admins\" } end }\n"}};
  JwsEnvelope jws = newJws(bundlePayloadJson(d));
  appendSignature(jws, alice, bundleSignatureHeader(alice.publicKey().kid(), d.issued));
  return jws.serialize();
}

}  // namespace

TEST_CASE("healthz answers 200 with JSON status and bundle version 0 before the ceremony",
          "[run]") {
  RunningServer server;
  HttpReply reply = server.send("GET", "/healthz");
  CHECK(reply.status == 200);
  CHECK(reply.contentType == "application/json");
  auto body = parseBody(reply);
  CHECK(body->getValue<std::string>("status") == "ok");
  CHECK(body->getValue<int>("bundle_version") == 0);
}

TEST_CASE("every /api/v1 route answers 503 no_trust_bundle until bundle v1 is in place", "[run]") {
  RunningServer server;
  for (const char* method : {"GET", "POST"}) {
    HttpReply reply = server.send(method, "/api/v1/requests");
    CHECK(reply.status == 503);
    auto body = parseBody(reply);
    CHECK(body->getValue<std::string>("error") == "no_trust_bundle");
    CHECK_THAT(body->getValue<std::string>("detail"), Catch::Contains("ceremony"));
  }
}

TEST_CASE("a bundle accepted in the data folder opens /api/v1 without a restart", "[run]") {
  RunningServer server;
  CHECK(server.send("GET", "/api/v1/requests").status == 503);
  std::string pub = readFile(server.dir + "/issuer.pub.json", 4096).value();
  REQUIRE(writeFileAtomic(server.config.bundle, signedBundle("contoso", pub), 0644).empty());
  CHECK(parseBody(server.send("GET", "/healthz"))->getValue<int>("bundle_version") == 1);
  HttpReply reply = server.send("GET", "/api/v1/requests");
  CHECK(reply.status == 401);  // the gate is open: the route now asks who is calling
  CHECK(parseBody(reply)->getValue<std::string>("error") == "unauthenticated");
}

TEST_CASE("a bundle for another tenant keeps /api/v1 closed", "[run]") {
  RunningServer server;
  std::string pub = readFile(server.dir + "/issuer.pub.json", 4096).value();
  REQUIRE(writeFileAtomic(server.config.bundle, signedBundle("fabrikam", pub), 0644).empty());
  HttpReply reply = server.send("GET", "/api/v1/requests");
  CHECK(reply.status == 503);
  CHECK_THAT(parseBody(reply)->getValue<std::string>("detail"), Catch::Contains("fabrikam"));
  CHECK(parseBody(server.send("GET", "/healthz"))->getValue<int>("bundle_version") == 0);
}

TEST_CASE("unknown routes get 404 and wrong methods 405, in the one JSON error shape", "[run]") {
  RunningServer server;
  HttpReply missing = server.send("GET", "/nope?x=1");
  CHECK(missing.status == 404);
  CHECK(missing.contentType == "application/json");
  auto body = parseBody(missing);
  CHECK(body->getValue<std::string>("error") == "not_found");
  CHECK(body->getValue<std::string>("detail") == "no route for /nope");
  CHECK(body->size() == 2);

  HttpReply wrong = server.send("DELETE", "/healthz");
  CHECK(wrong.status == 405);
  CHECK(wrong.allow == "GET");
  CHECK(parseBody(wrong)->getValue<std::string>("error") == "method_not_allowed");
}

TEST_CASE("TLS 1.1 and 1.0 are refused, TLS 1.2 and 1.3 are served", "[run][tls]") {
  RunningServer server;
  CHECK(tlsHandshake(server.port, TLS1_2_VERSION));
  CHECK(tlsHandshake(server.port, TLS1_3_VERSION));
  CHECK_FALSE(tlsHandshake(server.port, TLS1_1_VERSION));
  CHECK_FALSE(tlsHandshake(server.port, TLS1_VERSION));
}

TEST_CASE("TLS 1.2 without ECDHE and AEAD is refused", "[run][tls]") {
  RunningServer server;
  CHECK(tlsHandshake(server.port, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256"));
  CHECK(tlsHandshake(server.port, TLS1_2_VERSION, "ECDHE-ECDSA-CHACHA20-POLY1305"));
  CHECK_FALSE(tlsHandshake(server.port, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA"));
  CHECK_FALSE(tlsHandshake(server.port, TLS1_2_VERSION, "AES128-GCM-SHA256"));
}

TEST_CASE("a client certificate is optional, but one from another CA is refused", "[run][tls]") {
  RunningServer server;
  auto ours = tls::CertificateAuthority::load(server.config.caKey, server.config.caCertificate);
  auto theirs = tls::CertificateAuthority::create("Keyturn CA contoso");
  REQUIRE(ours);
  REQUIRE(theirs);
  auto deviceKey = tls::TlsKey::generate();
  REQUIRE(deviceKey->save(server.tmp / "device.key"));
  auto good = ours->issueClientCertificate("laptop-17", deviceKey->publicPem());
  auto bad = theirs->issueClientCertificate("laptop-17", deviceKey->publicPem());
  REQUIRE(good->save(server.tmp / "good.pem"));
  REQUIRE(bad->save(server.tmp / "bad.pem"));
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    INFO("TLS version " << std::hex << version);
    CHECK(tlsHandshake(server.port, version));
    CHECK(
        tlsHandshake(server.port, version, "", server.tmp / "good.pem", server.tmp / "device.key"));
    CHECK_FALSE(
        tlsHandshake(server.port, version, "", server.tmp / "bad.pem", server.tmp / "device.key"));
  }
}

TEST_CASE("each request is logged as one JSON line with method, path, status and ms", "[run]") {
  RunningServer server;
  server.send("GET", "/healthz");
  std::string line = server.process->waitForLine("\"path\":\"/healthz\"");
  auto entry = json::parseObject(line);
  INFO(line);
  REQUIRE(entry);
  CHECK(entry.value()->getValue<std::string>("level") == "info");
  CHECK(entry.value()->getValue<std::string>("msg") == "request");
  CHECK(entry.value()->getValue<std::string>("method") == "GET");
  CHECK(entry.value()->getValue<int>("status") == 200);
  CHECK(entry.value()->has("ms"));
  CHECK(entry.value()->has("ts"));
}

TEST_CASE("the server stops cleanly on SIGTERM, after serving", "[run]") {
  RunningServer server("text");
  CHECK(server.send("GET", "/healthz").status == 200);
  CHECK(server.process->stop(SIGTERM) == 0);
  CHECK_THAT(server.process->stderrText(), Catch::Contains("stopped"));
}

TEST_CASE("run refuses a folder without a config, with exit code 78", "[run]") {
  TempDir tmp;
  ServerProcess process({"run", "--data", tmp / "empty", "--log-format", "json"});
  CHECK(process.wait() == 78);
  CHECK_THAT(process.stderrText(), Catch::Contains("not_initialized"));
}

TEST_CASE("run refuses a group-readable server key", "[run]") {
  TempDir tmp;
  std::string dir = tmp / "data";
  auto config = server::InitCommand::initialize(dir, "contoso", "localhost");
  REQUIRE(config);
  ::chmod(config->tlsKey.c_str(), 0640);
  ServerProcess process({"run", "--data", dir, "--port", "0"});
  CHECK(process.wait() == 78);
  CHECK_THAT(process.stderrText(), Catch::Contains("insecure_permissions"));
}
