#include "device_facts.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>

#include "keyturn/json.h"
#include "linked_libraries.h"

namespace keyturn::agent {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string osReleaseValue(const std::string& key) {
  std::ifstream in("/etc/os-release");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + "=", 0) != 0) continue;
    std::string v = line.substr(key.size() + 1);
    if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) v = v.substr(1, v.size() - 2);
    return v;
  }
  return "";
}

// The coordinator keeps at most 256 characters per string fact.
std::string clip(std::string s) { return s.size() > 256 ? s.substr(0, 256) : s; }

}  // namespace

DetectedFacts detectFacts() {
  DetectedFacts d;
  struct utsname u{};
  if (::uname(&u) == 0) {
    d.platform = lower(u.sysname);
    d.osVersion = osReleaseValue("VERSION_ID");
    if (d.osVersion.empty()) d.osVersion = u.release;
  }
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) == 0) d.hostname = host;
  d.platform = clip(d.platform);
  d.osVersion = clip(d.osVersion);
  d.hostname = clip(d.hostname);
  return d;
}

DeviceFacts agentFacts(const AgentConfig& config, const DetectedFacts& detected) {
  DeviceFacts f;
  f.id = config.deviceId;
  f.ownership = config.ownership;
  f.platform = detected.platform;
  f.osVersion = detected.osVersion;
  f.groups = config.groups;
  f.tags = config.tags;
  return f;
}

std::string factsReportJson(const DeviceFacts& f, const std::string& hostname) {
  std::string out = (f.id.empty() ? "{" : "{\"id\":" + json::quote(f.id) + ",") + "\"hostname\":" + json::quote(hostname) +
                    ",\"ownership\":" + json::quote(f.ownership) + ",\"platform\":" + json::quote(f.platform) +
                    ",\"os_version\":" + json::quote(f.osVersion) + ",\"groups\":[";
  for (std::size_t i = 0; i < f.groups.size(); ++i) out += (i ? "," : "") + json::quote(f.groups[i]);
  out += "],\"tags\":{";
  bool first = true;
  for (const auto& [k, v] : f.tags) {
    out += (first ? "" : ",") + json::quote(k) + ":" + json::quote(v);
    first = false;
  }
  return out + "}}";
}

std::string agentReportJson(const DeviceFacts& facts, const std::string& hostname, const std::string& agentVersion,
                            std::uint64_t bundleVersion) {
  std::string out = factsReportJson(facts, hostname);
  out.pop_back();  // the closing brace
  return out + ",\"agent_version\":" + json::quote(agentVersion) + ",\"bundle_version\":" +
         std::to_string(bundleVersion) + ",\"libraries\":" + linkedLibrariesJson(linkedLibraries()) + "}";
}

}  // namespace keyturn::agent
