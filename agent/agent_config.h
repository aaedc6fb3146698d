// The agent's configuration file (default /etc/keyturn/agent.conf): Poco properties,
// written by `keyturn-agent enroll` and read by `run` and `status`. The same file holds
// the plugin keys (`plugins.*`, docs/plugins.md), which an administrator adds.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "keyturn/result.h"

namespace keyturn::agent {

constexpr const char* kDefaultConfigPath = "/etc/keyturn/agent.conf";
constexpr const char* kDefaultStateDir = "/var/lib/keyturn";
constexpr const char* kDefaultPluginDir = "/usr/lib/keyturn/plugins";

struct AgentConfig {
  std::string path;      // the file it was read from or is written to
  std::string server;    // https://host[:port], no path
  std::string deviceId;
  std::string stateDir;  // the trust store, the agent database, the key and certificates
  std::string pluginDir = kDefaultPluginDir;
  // Facts an administrator sets; platform, OS version and hostname are detected.
  std::string ownership = "unknown";
  std::vector<std::string> groups;
  std::map<std::string, std::string> tags;
  int pollWaitSeconds = 25;     // the coordinator's long-poll hold (0..30)
  int backoffMaxSeconds = 300;  // the longest pause after repeated errors
  int artifactRetrySeconds = 120;  // how long one artifact download retries before the token waits
  std::string logFormat = "text";

  std::string keyFile() const { return stateDir + "/device.key"; }
  std::string certificateFile() const { return stateDir + "/device.pem"; }
  std::string caFile() const { return stateDir + "/ca.pem"; }
  std::string databaseFile() const { return stateDir + "/agent.db"; }
};

// Reads the agent keys of `path`. Reason "io" when the file cannot be read, "config"
// naming the key when a value is missing or out of range.
Result<AgentConfig> readAgentConfig(const std::string& path);

// The properties text of `config` (agent keys only), with a comment header.
std::string agentConfigText(const AgentConfig& config);

}  // namespace keyturn::agent
