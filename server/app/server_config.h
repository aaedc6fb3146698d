// The coordinator's configuration: DIR/keyturn-server.properties, a Poco properties
// file written by `keyturn-server init` and read by `keyturn-server run`. Every path in
// it is absolute, so the server does not depend on its working folder.
#pragma once

#include <cstdint>
#include <string>

#include "keyturn/result.h"

namespace keyturn::server {

inline constexpr const char* kConfigFileName = "keyturn-server.properties";
inline constexpr const char* kDefaultBind = "0.0.0.0:8443";
inline constexpr std::uint32_t kDefaultRequestLifetimeDays = 30;
inline constexpr std::uint64_t kDefaultArtifactMaxBytes = 512ull * 1024 * 1024;
inline constexpr std::int64_t kDefaultArtifactRetentionSeconds = 30 * 86400;
inline constexpr std::int64_t kMaxArtifactRetentionSeconds = 3650LL * 86400;
inline constexpr std::uint64_t kMaxArtifactMaxBytes = 16ull * 1024 * 1024 * 1024;
inline constexpr std::int64_t kDefaultRedeliverySeconds = 60;
inline constexpr std::int64_t kMaxRedeliverySeconds = 86400;

struct ServerConfig {
  std::string tenant;
  std::string hostname;
  std::string bind = kDefaultBind;  // host:port
  std::string tlsCertificate;       // server.pem
  std::string tlsKey;               // server.key (0600)
  std::string caCertificate;        // ca.pem
  std::string caKey;                // ca.key (0600)
  std::string issuerKey;            // issuer.key (Ed25519, 0600)
  std::string database;             // keyturn.db
  std::string bundle;               // bundle.json, from the ceremony
  std::string policyExamples;       // policy-examples/: example requests re-run for proposals
  std::uint32_t requestLifetimeDays = kDefaultRequestLifetimeDays;
  // The web console's static files (keyturn.web.root); empty in the file means
  // defaultWebRoot() (app/web_assets.h), filled in by load().
  std::string webRoot;
  // Uploaded artifacts (keyturn.artifacts.dir, absolute; empty in the file means
  // DATA/artifacts) and the largest upload accepted (keyturn.artifacts.max_bytes,
  // 1 B .. 16 GiB, default 512 MiB).
  std::string artifactDir;
  std::uint64_t artifactMaxBytes = kDefaultArtifactMaxBytes;
  // How long an artifact no open request names is kept before it is pruned
  // (keyturn.artifacts.retention_s, 0 = never, default 30 days).
  std::int64_t artifactRetentionSeconds = kDefaultArtifactRetentionSeconds;
  // A token delivered this long ago without a result is sent again with the agent's next
  // poll: the reply that carried it may never have reached the agent, or the agent died
  // before storing it (keyturn.agents.redelivery_s, 1..86400, default 60). The agent's
  // journal ignores a token it already holds, so a redelivery never runs anything twice.
  std::int64_t redeliverySeconds = kDefaultRedeliverySeconds;

  // The defaults for a data folder: every file inside `dataDir` (made absolute).
  static ServerConfig defaultsFor(const std::string& dataDir, const std::string& tenant,
                                  const std::string& hostname);
  // Reads DIR/keyturn-server.properties. Reasons: "not_initialized" (no file),
  // "malformed" (a key missing or a value out of range).
  static Result<ServerConfig> load(const std::string& dataDir);
  // Writes it (mode 0600, atomically) with a comment header.
  Status save(const std::string& dataDir) const;
};

// DIR/keyturn-server.properties.
std::string configPath(const std::string& dataDir);

}  // namespace keyturn::server
