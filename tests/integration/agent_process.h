// `keyturn-agent run` as a child process: the server tests' ServerProcess (fork/exec,
// stderr collected by a thread) started on the agent binary.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "server_process.h"

namespace keyturn::test {

class AgentProcess : public ServerProcess {
 public:
  // Starts KEYTURN_AGENT_BINARY with `args` (without the program name).
  explicit AgentProcess(const std::vector<std::string>& args)
      : ServerProcess(KEYTURN_AGENT_BINARY, args) {}

  // True once a stderr line contains `needle`; false on timeout or exit.
  bool waitForLine(const std::string& needle,
                   std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    return !ServerProcess::waitForLine(needle, timeout).empty();
  }
  std::string log() { return stderrText(); }
};

}  // namespace keyturn::test
