#include "agent_config.h"

#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/URI.h>
#include <Poco/Util/PropertyFileConfiguration.h>

#include <sstream>

namespace keyturn::agent {
namespace {

std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    auto b = item.find_first_not_of(" \t");
    auto e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

Status bad(const std::string& key, const std::string& why) {
  return Status::fail("config", "agent configuration key " + key + " " + why);
}

}  // namespace

Result<AgentConfig> readAgentConfig(const std::string& path) {
  Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> file;
  try {
    file = new Poco::Util::PropertyFileConfiguration(path);
  } catch (const Poco::Exception& e) {
    return Result<AgentConfig>::fail("io", "cannot read agent configuration " + path + ": " + e.displayText());
  }
  AgentConfig c;
  c.path = path;
  c.server = file->getString("agent.server", "");
  c.deviceId = file->getString("agent.device", "");
  c.stateDir = file->getString("agent.state", kDefaultStateDir);
  c.pluginDir = file->getString("agent.plugins", kDefaultPluginDir);
  c.ownership = file->getString("agent.facts.ownership", "unknown");
  c.groups = splitList(file->getString("agent.facts.groups", ""));
  for (const auto& pair : splitList(file->getString("agent.facts.tags", ""))) {
    auto eq = pair.find('=');
    if (eq == std::string::npos || eq == 0)
      return Result<AgentConfig>(bad("agent.facts.tags", "must be key=value pairs separated by commas"));
    c.tags[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  c.logFormat = file->getString("agent.log.format", "text");
  try {
    c.pollWaitSeconds = file->getInt("agent.poll.wait_s", 25);
    c.backoffMaxSeconds = file->getInt("agent.backoff.max_s", 300);
    c.artifactRetrySeconds = file->getInt("agent.artifacts.retry_s", 120);
  } catch (const Poco::Exception&) {
    return Result<AgentConfig>(
        bad("agent.poll.wait_s / agent.backoff.max_s / agent.artifacts.retry_s", "must be whole numbers"));
  }
  if (c.server.empty()) return Result<AgentConfig>(bad("agent.server", "is missing (run keyturn-agent enroll first)"));
  Poco::URI uri;
  try {
    uri = Poco::URI(c.server);
  } catch (const Poco::Exception& e) {
    return Result<AgentConfig>(bad("agent.server", "is not a URL: " + e.displayText()));
  }
  if (uri.getScheme() != "https" || uri.getHost().empty())
    return Result<AgentConfig>(bad("agent.server", "must be an https:// URL"));
  if (c.deviceId.empty()) return Result<AgentConfig>(bad("agent.device", "is missing"));
  if (c.stateDir.empty() || c.stateDir[0] != '/') return Result<AgentConfig>(bad("agent.state", "must be an absolute path"));
  if (c.ownership != "corporate" && c.ownership != "personal" && c.ownership != "unknown")
    return Result<AgentConfig>(bad("agent.facts.ownership", "must be corporate, personal or unknown"));
  if (c.pollWaitSeconds < 0 || c.pollWaitSeconds > 30) return Result<AgentConfig>(bad("agent.poll.wait_s", "must be 0..30"));
  if (c.backoffMaxSeconds < 1 || c.backoffMaxSeconds > 3600)
    return Result<AgentConfig>(bad("agent.backoff.max_s", "must be 1..3600"));
  if (c.artifactRetrySeconds < 1 || c.artifactRetrySeconds > 3600)
    return Result<AgentConfig>(bad("agent.artifacts.retry_s", "must be 1..3600"));
  if (c.logFormat != "text" && c.logFormat != "json") return Result<AgentConfig>(bad("agent.log.format", "must be text or json"));
  return c;
}

std::string agentConfigText(const AgentConfig& c) {
  std::ostringstream out;
  out << "# keyturn-agent configuration, written by `keyturn-agent enroll`.\n"
      << "# Plugin settings (plugins.wipe.strategy, ...) go below; see docs/plugins.md.\n"
      << "agent.server = " << c.server << "\n"
      << "agent.device = " << c.deviceId << "\n"
      << "agent.state = " << c.stateDir << "\n"
      << "agent.plugins = " << c.pluginDir << "\n"
      << "agent.facts.ownership = " << c.ownership << "\n"
      << "agent.facts.groups = ";
  for (std::size_t i = 0; i < c.groups.size(); ++i) out << (i ? "," : "") << c.groups[i];
  out << "\nagent.facts.tags = ";
  bool first = true;
  for (const auto& [k, v] : c.tags) {
    out << (first ? "" : ",") << k << "=" << v;
    first = false;
  }
  out << "\nagent.poll.wait_s = " << c.pollWaitSeconds << "\n"
      << "agent.backoff.max_s = " << c.backoffMaxSeconds << "\n"
      << "agent.artifacts.retry_s = " << c.artifactRetrySeconds << "\n"
      << "agent.log.format = " << c.logFormat << "\n";
  return out.str();
}

}  // namespace keyturn::agent
