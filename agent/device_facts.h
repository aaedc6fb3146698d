// The agent's own facts (PROTOCOL.md section 6): what it detects about the machine
// (platform, OS version, hostname) plus what its configuration says (ownership, groups,
// tags). Policies on the agent see these and never the coordinator's copy.
#pragma once

#include <cstdint>
#include <string>

#include "agent_config.h"
#include "keyturn/policy_engine.h"

namespace keyturn::agent {

struct DetectedFacts {
  std::string platform;   // "linux" (uname sysname, lower case)
  std::string osVersion;  // VERSION_ID of /etc/os-release, else the kernel release
  std::string hostname;
};

DetectedFacts detectFacts();

// The facts the gate uses: id = the enrolled device id, configured + detected.
DeviceFacts agentFacts(const AgentConfig& config, const DetectedFacts& detected);

// The body of PUT /api/v1/agent/facts (and the enrollment's `facts`); `id` is left out
// when empty (an id the coordinator assigns at enrollment).
std::string factsReportJson(const DeviceFacts& facts, const std::string& hostname);

// The daemon's facts report: factsReportJson plus the agent's program version, the
// trust bundle version it holds and its libraries (linked_libraries.h): not facts, the
// coordinator stores them beside them.
std::string agentReportJson(const DeviceFacts& facts, const std::string& hostname, const std::string& agentVersion,
                            std::uint64_t bundleVersion);

}  // namespace keyturn::agent
