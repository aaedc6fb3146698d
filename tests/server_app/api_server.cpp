#include "api_server.h"

#include <catch2/catch.hpp>
#include <ctime>

#include "app/init_command.h"
#include "keyturn/bundle.h"
#include "keyturn/crypto_util.h"
#include "keyturn/json.h"
#include "keyturn/jws.h"
#include "keyturn/login.h"
#include "tls/tls_key.h"

namespace keyturn::test {

Ed25519PrivateKey testKey(std::uint8_t n) {
  std::array<std::uint8_t, 32> seed{};
  seed.fill(n);
  return Ed25519PrivateKey::fromSeed(seed);
}

namespace {

std::string bundleV1(const std::string &issuerX) {
  auto alice = testKey(1), bob = testKey(2), carol = testKey(3);
  BundleDraft d;
  d.tenant = "contoso";
  d.version = 1;
  d.issued = static_cast<std::uint64_t>(std::time(nullptr)) - 60;
  d.expires = d.issued + 30 * 86400;
  d.issuersX = {issuerX};
  d.principals = {
      {"alice", {"maa-admins", "device-admins"}, {alice.publicKey().x()}},
      {"bob", {"maa-admins"}, {bob.publicKey().x()}},
      {"carol", {"helpdesk"}, {carol.publicKey().x()}}};
  d.updateGroup = "maa-admins";
  d.threshold = 1;
  d.roles = {{"devices.enroll", {"device-admins"}},
             {"audit.read", {"maa-admins"}},
             {"artifacts.write", {"device-admins"}}};
  JwsEnvelope jws = newJws(bundlePayloadJson(d));
  appendSignature(jws, alice,
                  bundleSignatureHeader(alice.publicKey().kid(), d.issued));
  return jws.serialize();
}

} // namespace

Poco::JSON::Object::Ptr parseBody(const HttpReply &reply) {
  auto o = json::parseObject(reply.body);
  INFO("HTTP " << reply.status << ": " << reply.body);
  REQUIRE(o);
  return o.value();
}

ApiServer::ApiServer(const std::function<void(server::ServerConfig &)> &configure) {
  dir = tmp / "data";
  auto c = server::InitCommand::initialize(dir, "contoso", "localhost");
  REQUIRE(c);
  config = c.value();
  config.bind = "127.0.0.1:8443";
  config.artifactMaxBytes = kArtifactMaxBytes;
  if (configure) configure(config);
  REQUIRE(config.save(dir));
  auto issuer =
      json::parseObject(readFile(dir + "/issuer.pub.json", 4096).value())
          .value();
  REQUIRE(writeFileAtomic(config.bundle,
                          bundleV1(issuer->getValue<std::string>("x")), 0644)
              .empty());
  process = std::make_unique<ServerProcess>(std::vector<std::string>{
      "run", "--data", dir, "--port", "0", "--log-format", "json"});
  std::string line = process->waitForLine("listening");
  INFO(process->stderrText());
  REQUIRE(!line.empty());
  port = portFromLog(line);
  REQUIRE(port > 0);
  REQUIRE(line.find("\"bundle_version\":1") != std::string::npos);
  aliceSession = login("alice", testKey(1));
}

ApiServer::~ApiServer() = default;

HttpReply ApiServer::send(const std::string &method, const std::string &path,
                          const std::string &body, const Headers &headers) {
  return HttpsClient(config.caCertificate, port)
      .send(method, path, body, headers);
}

HttpReply ApiServer::sendAs(const std::string &session,
                            const std::string &method, const std::string &path,
                            const std::string &body) {
  return send(method, path, body, {{"Authorization", "Bearer " + session}});
}

HttpReply ApiServer::agent(const EnrolledAgent &a, const std::string &method,
                           const std::string &path, const std::string &body,
                           const Headers &headers) {
  return HttpsClient(config.caCertificate, port, a.certFile, a.keyFile)
      .send(method, path, body, headers);
}

std::string ApiServer::login(const std::string &principal,
                             const Ed25519PrivateKey &key) {
  HttpReply c = send("POST", "/api/v1/login/challenge",
                     "{\"principal\":" + json::quote(principal) + "}");
  REQUIRE(c.status == 200);
  auto challenge = parseBody(c);
  std::string proof =
      signLogin(key, challenge->getValue<std::string>("tenant"), principal,
                challenge->getValue<std::string>("challenge"),
                challenge->getValue<std::string>("audience"),
                static_cast<std::uint64_t>(std::time(nullptr)));
  HttpReply s = send("POST", "/api/v1/login", proof);
  INFO(s.body);
  REQUIRE(s.status == 200);
  return parseBody(s)->getValue<std::string>("session");
}

std::string ApiServer::enrollmentCode() {
  HttpReply r =
      sendAs(aliceSession, "POST", "/api/v1/devices/enrollment-codes", "{}");
  INFO(r.body);
  REQUIRE(r.status == 201);
  return parseBody(r)->getValue<std::string>("code");
}

EnrolledAgent ApiServer::enroll(const std::string &deviceId,
                                const std::string &factsJson) {
  auto key = tls::TlsKey::generate();
  REQUIRE(key);
  EnrolledAgent a{deviceId, tmp / (deviceId + ".pem"),
                  tmp / (deviceId + ".key")};
  REQUIRE(key->save(a.keyFile));
  std::string body = "{\"code\":" + json::quote(enrollmentCode()) +
                     ",\"device_id\":" + json::quote(deviceId) +
                     ",\"public_key\":" + json::quote(key->publicPem()) +
                     (factsJson.empty() ? "" : ",\"facts\":" + factsJson) + "}";
  HttpReply r = send("POST", "/api/v1/agent/enroll", body);
  INFO(r.body);
  REQUIRE(r.status == 201);
  REQUIRE(writeFileAtomic(a.certFile,
                          parseBody(r)->getValue<std::string>("certificate"),
                          0644)
              .empty());
  return a;
}

std::unique_ptr<server::SqliteStore> ApiServer::openStore() {
  auto store = server::SqliteStore::open(config.database);
  REQUIRE(store);
  return std::move(store).value();
}

} // namespace keyturn::test
