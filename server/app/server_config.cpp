#include "app/server_config.h"

#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/NumberParser.h>
#include <Poco/String.h>
#include <Poco/Util/PropertyFileConfiguration.h>

#include <filesystem>
#include <sstream>

#include "app/web_assets.h"
#include "keyturn/crypto_util.h"

namespace keyturn::server {

std::string configPath(const std::string& dataDir) {
  return (std::filesystem::path(dataDir) / kConfigFileName).string();
}

ServerConfig ServerConfig::defaultsFor(const std::string& dataDir, const std::string& tenant,
                                       const std::string& hostname) {
  std::filesystem::path dir = std::filesystem::absolute(dataDir).lexically_normal();
  auto in = [&](const char* name) { return (dir / name).string(); };
  ServerConfig c;
  c.tenant = tenant;
  c.hostname = hostname;
  c.tlsCertificate = in("server.pem");
  c.tlsKey = in("server.key");
  c.caCertificate = in("ca.pem");
  c.caKey = in("ca.key");
  c.issuerKey = in("issuer.key");
  c.database = in("keyturn.db");
  c.bundle = in("bundle.json");
  c.policyExamples = in("policy-examples");
  c.artifactDir = in("artifacts");
  return c;
}

Result<ServerConfig> ServerConfig::load(const std::string& dataDir) {
  std::string path = configPath(dataDir);
  if (!std::filesystem::exists(path))
    return Result<ServerConfig>::fail(
        "not_initialized", path + " does not exist; run keyturn-server init --data " + dataDir);
  try {
    Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> p(
        new Poco::Util::PropertyFileConfiguration(path));
    // An integer property within [low, high], or an error naming it and its range.
    auto integer = [&](const std::string& key, std::int64_t fallback, std::int64_t low, std::int64_t high,
                       const std::string& note) -> Result<std::int64_t> {
      std::string text = p->getString(key, std::to_string(fallback));
      Poco::Int64 value = 0;
      if (!Poco::NumberParser::tryParse64(Poco::trim(text), value) || value < low || value > high)
        return Result<std::int64_t>::fail("malformed", path + ": " + key + " must be an integer " +
                                                           std::to_string(low) + ".." + std::to_string(high) +
                                                           note + ", not \"" + text + "\"");
      return value;
    };
    ServerConfig c;
    c.tenant = p->getString("keyturn.tenant");
    c.hostname = p->getString("keyturn.hostname");
    c.bind = p->getString("keyturn.bind", kDefaultBind);
    c.tlsCertificate = p->getString("keyturn.tls.certificate");
    c.tlsKey = p->getString("keyturn.tls.key");
    c.caCertificate = p->getString("keyturn.tls.ca_certificate");
    c.caKey = p->getString("keyturn.tls.ca_key");
    c.issuerKey = p->getString("keyturn.issuer.key");
    c.database = p->getString("keyturn.database");
    c.bundle = p->getString("keyturn.bundle");
    c.policyExamples = p->getString("keyturn.policy.examples", "");
    auto days = integer("keyturn.requests.lifetime_days", kDefaultRequestLifetimeDays, 1, 365, "");
    if (!days) return days.error();
    c.requestLifetimeDays = static_cast<std::uint32_t>(days.value());
    c.webRoot = p->getString("keyturn.web.root", "");
    if (c.webRoot.empty()) c.webRoot = defaultWebRoot();
    else if (!std::filesystem::path(c.webRoot).is_absolute())
      return Result<ServerConfig>::fail("malformed", path + ": keyturn.web.root must be absolute");
    c.artifactDir = p->getString("keyturn.artifacts.dir", "");
    if (c.artifactDir.empty())
      c.artifactDir = (std::filesystem::absolute(dataDir).lexically_normal() / "artifacts").string();
    else if (!std::filesystem::path(c.artifactDir).is_absolute())
      return Result<ServerConfig>::fail("malformed", path + ": keyturn.artifacts.dir must be absolute");
    auto maxBytes = integer("keyturn.artifacts.max_bytes", static_cast<std::int64_t>(kDefaultArtifactMaxBytes), 1,
                            static_cast<std::int64_t>(kMaxArtifactMaxBytes), "");
    if (!maxBytes) return maxBytes.error();
    c.artifactMaxBytes = static_cast<std::uint64_t>(maxBytes.value());
    auto retention = integer("keyturn.artifacts.retention_s", kDefaultArtifactRetentionSeconds, 0,
                             kMaxArtifactRetentionSeconds, " (0: never prune)");
    if (!retention) return retention.error();
    c.artifactRetentionSeconds = retention.value();
    auto redelivery = integer("keyturn.agents.redelivery_s", kDefaultRedeliverySeconds, 1,
                              kMaxRedeliverySeconds, "");
    if (!redelivery) return redelivery.error();
    c.redeliverySeconds = redelivery.value();
    return c;
  } catch (const Poco::Exception& e) {
    return Result<ServerConfig>::fail("malformed", path + ": " + e.displayText());
  }
}

Status ServerConfig::save(const std::string& dataDir) const {
  Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> p(
      new Poco::Util::PropertyFileConfiguration());
  p->setString("keyturn.tenant", tenant);
  p->setString("keyturn.hostname", hostname);
  p->setString("keyturn.bind", bind);
  p->setString("keyturn.tls.certificate", tlsCertificate);
  p->setString("keyturn.tls.key", tlsKey);
  p->setString("keyturn.tls.ca_certificate", caCertificate);
  p->setString("keyturn.tls.ca_key", caKey);
  p->setString("keyturn.issuer.key", issuerKey);
  p->setString("keyturn.database", database);
  p->setString("keyturn.bundle", bundle);
  p->setString("keyturn.policy.examples", policyExamples);
  p->setInt("keyturn.requests.lifetime_days", static_cast<int>(requestLifetimeDays));
  if (!webRoot.empty()) p->setString("keyturn.web.root", webRoot);
  if (!artifactDir.empty()) p->setString("keyturn.artifacts.dir", artifactDir);
  p->setInt64("keyturn.artifacts.max_bytes", static_cast<Poco::Int64>(artifactMaxBytes));
  p->setInt64("keyturn.artifacts.retention_s", static_cast<Poco::Int64>(artifactRetentionSeconds));
  p->setInt64("keyturn.agents.redelivery_s", static_cast<Poco::Int64>(redeliverySeconds));
  std::ostringstream out;
  out << "# keyturn-server configuration, written by `keyturn-server init`.\n"
         "# keyturn.tls.certificate/key may point at certificates from your own PKI.\n";
  p->save(out);
  if (std::string err = writeFileAtomic(configPath(dataDir), out.str(), 0600); !err.empty())
    return Status::fail("io", err);
  return Status::ok();
}

}  // namespace keyturn::server
