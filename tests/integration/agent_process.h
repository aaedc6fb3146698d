// `keyturn-agent run` as a child process: the server tests' ServerProcess (fork/exec,
// stderr collected by a thread) started on the agent binary.
#pragma once

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "server_process.h"

namespace keyturn::test {

// The agent under test and its plugin folder: this build's (KEYTURN_AGENT_BINARY,
// KEYTURN_PLUGIN_DIR), or another build's named by KEYTURN_TEST_AGENT_BINARY and
// KEYTURN_TEST_PLUGIN_DIR, to test (or bench_agent to measure) another build's agent.
inline std::string agentBinary() {
  const char* other = std::getenv("KEYTURN_TEST_AGENT_BINARY");
  return other && *other ? other : KEYTURN_AGENT_BINARY;
}
inline std::string agentPluginDir() {
  const char* other = std::getenv("KEYTURN_TEST_PLUGIN_DIR");
  return other && *other ? other : KEYTURN_PLUGIN_DIR;
}

class AgentProcess : public ServerProcess {
 public:
  // Starts agentBinary() with `args` (without the program name).
  explicit AgentProcess(const std::vector<std::string>& args)
      : ServerProcess(agentBinary(), args) {}

  // True once a stderr line contains `needle`; false on timeout or exit.
  bool waitForLine(const std::string& needle,
                   std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    return !ServerProcess::waitForLine(needle, timeout).empty();
  }
  std::string log() { return stderrText(); }
};

}  // namespace keyturn::test
