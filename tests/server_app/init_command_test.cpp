// `keyturn-server init`: the data folder it makes, and that it never runs twice.
#include "app/init_command.h"

#include <openssl/x509v3.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <sstream>

#include "keyturn/crypto_util.h"
#include "keyturn/ed25519.h"
#include "keyturn/json.h"
#include "temp_dir.h"
#include "tls/certificate_authority.h"

using namespace keyturn;
using namespace keyturn::server;

namespace {

// Loads the configuration of `dir` after setting `key` to `value` in the file init wrote
// (the key must be there: init writes every setting with its default).
Result<ServerConfig> loadWith(const std::string& dir, const std::string& key, const std::string& value) {
  const std::string file = dir + "/keyturn-server.properties";
  std::string text = readFile(file, 1 << 20).value();
  auto at = text.find(key);
  REQUIRE(at != std::string::npos);
  text.replace(at, text.find('\n', at) - at, key + " = " + value);
  REQUIRE(writeFileAtomic(file, text, 0600).empty());
  return ServerConfig::load(dir);
}

}  // namespace
using keyturn::test::fileMode;
using keyturn::test::TempDir;

TEST_CASE("init makes a 0700 data folder with 0600 keys, certificates and a config", "[init]") {
  TempDir tmp;
  std::string dir = tmp / "data";
  auto config = InitCommand::initialize(dir, "contoso", "keyturn.contoso.test");
  REQUIRE(config);
  CHECK(fileMode(dir) == 0700);
  for (const char* key : {"issuer.key", "ca.key", "server.key", "keyturn-server.properties"})
    CHECK(fileMode(tmp / ("data/" + std::string(key))) == 0600);
  CHECK(fileMode(tmp / "data/ca.pem") == 0644);

  auto issuer = Ed25519PrivateKey::load(config->issuerKey);
  REQUIRE(issuer);
  auto pub = json::parseObject(readFile(tmp / "data/issuer.pub.json", 4096).value());
  REQUIRE(pub);
  CHECK(pub.value()->getValue<std::string>("id") == "issuer");
  CHECK(pub.value()->getValue<std::string>("kid") == issuer->publicKey().kid());
  CHECK(pub.value()->getValue<std::string>("x") == issuer->publicKey().x());

  auto ca = tls::CertificateAuthority::load(config->caKey, config->caCertificate);
  REQUIRE(ca);
  auto server = tls::Certificate::load(config->tlsCertificate);
  REQUIRE(server);
  CHECK(X509_check_host(server->handle(), "keyturn.contoso.test", 0, 0, nullptr) == 1);
  CHECK(X509_verify(server->handle(), X509_get0_pubkey(ca->certificate().handle())) == 1);

  auto loaded = ServerConfig::load(dir);
  REQUIRE(loaded);
  CHECK(loaded->tenant == "contoso");
  CHECK(loaded->hostname == "keyturn.contoso.test");
  CHECK(loaded->bind == "0.0.0.0:8443");
  CHECK(loaded->requestLifetimeDays == 30);
  CHECK(loaded->database == std::filesystem::absolute(tmp / "data/keyturn.db").string());
  CHECK(loaded->bundle == std::filesystem::absolute(tmp / "data/bundle.json").string());
  CHECK(std::filesystem::path(loaded->tlsKey).is_absolute());
}

TEST_CASE("init refuses a folder that already holds a config and keeps its keys", "[init]") {
  TempDir tmp;
  std::string dir = tmp / "data";
  REQUIRE(InitCommand::initialize(dir, "contoso", "localhost"));
  std::string issuerBefore = readFile(tmp / "data/issuer.key", 4096).value();
  std::string caBefore = readFile(tmp / "data/ca.key", 4096).value();
  auto again = InitCommand::initialize(dir, "fabrikam", "localhost");
  REQUIRE_FALSE(again);
  CHECK(again.reason() == "already_initialized");
  CHECK(readFile(tmp / "data/issuer.key", 4096).value() == issuerBefore);
  CHECK(readFile(tmp / "data/ca.key", 4096).value() == caBefore);
  CHECK(ServerConfig::load(dir)->tenant == "contoso");
}

TEST_CASE("init tightens an existing empty folder to 0700", "[init]") {
  TempDir tmp;
  std::filesystem::create_directories(tmp / "open");
  std::filesystem::permissions(tmp / "open", std::filesystem::perms::all);
  REQUIRE(InitCommand::initialize(tmp / "open", "contoso", "localhost"));
  CHECK(fileMode(tmp / "open") == 0700);
}

TEST_CASE("init refuses a bad tenant or hostname before writing anything", "[init]") {
  TempDir tmp;
  auto badTenant = InitCommand::initialize(tmp / "a", "con toso", "localhost");
  REQUIRE_FALSE(badTenant);
  CHECK(badTenant.reason() == "usage");
  auto badHost = InitCommand::initialize(tmp / "b", "contoso", "-bad,DNS:x");
  REQUIRE_FALSE(badHost);
  CHECK(badHost.reason() == "usage");
  CHECK_FALSE(std::filesystem::exists(tmp / "a"));
  CHECK_FALSE(std::filesystem::exists(tmp / "b"));
}

TEST_CASE("init's command line prints the ceremony and exits 1 on a second run", "[init]") {
  TempDir tmp;
  std::string dir = tmp / "data";
  std::vector<std::string> words{"keyturn-server", "init",    "--data",     dir,
                                 "--tenant",       "contoso", "--hostname", "localhost"};
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  std::ostringstream out, err;
  CHECK(InitCommand::run(static_cast<int>(argv.size()), argv.data(), out, err) == 0);
  CHECK_THAT(out.str(), Catch::Contains("keyturn bundle sign"));
  CHECK_THAT(out.str(), Catch::Contains(dir + "/bundle.json"));
  std::ostringstream out2, err2;
  CHECK(InitCommand::run(static_cast<int>(argv.size()), argv.data(), out2, err2) == 1);
  CHECK_THAT(err2.str(), Catch::Contains("already_initialized"));
  std::ostringstream out3, err3;
  char* missing[] = {argv[0], argv[1], argv[2], argv[3]};
  CHECK(InitCommand::run(4, missing, out3, err3) == 2);
}

TEST_CASE("keyturn.artifacts.retention_s defaults to 30 days, 0 turns pruning off, a negative value is refused",
          "[init][artifacts]") {
  TempDir tmp;
  std::string dir = tmp / "data";
  auto config = InitCommand::initialize(dir, "contoso", "keyturn.contoso.test");
  REQUIRE(config);
  CHECK(ServerConfig::load(dir)->artifactRetentionSeconds == 30 * 86400);
  CHECK(loadWith(dir, "keyturn.artifacts.retention_s", "0")->artifactRetentionSeconds == 0);
  auto negative = loadWith(dir, "keyturn.artifacts.retention_s", "-1");
  REQUIRE_FALSE(negative);
  CHECK(negative.reason() == "malformed");
  CHECK_THAT(negative.detail(), Catch::Contains("keyturn.artifacts.retention_s"));
}

TEST_CASE("keyturn.agents.redelivery_s is written by init as 60, can be shortened, and 0 or a day and more is refused",
          "[init][agent]") {
  TempDir tmp;
  std::string dir = tmp / "data";
  REQUIRE(InitCommand::initialize(dir, "contoso", "keyturn.contoso.test"));
  CHECK_THAT(readFile(dir + "/keyturn-server.properties", 1 << 20).value(),
             Catch::Contains("keyturn.agents.redelivery_s: 60"));
  CHECK(ServerConfig::load(dir)->redeliverySeconds == 60);
  CHECK(loadWith(dir, "keyturn.agents.redelivery_s", "5")->redeliverySeconds == 5);
  for (const char* bad : {"0", "-3", "86401", "soon"}) {
    INFO(bad);
    auto refused = loadWith(dir, "keyturn.agents.redelivery_s", bad);
    REQUIRE_FALSE(refused);
    CHECK(refused.reason() == "malformed");
    CHECK_THAT(refused.detail(), Catch::Contains("keyturn.agents.redelivery_s"));
  }
}
