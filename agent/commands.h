// The commands of keyturn-agent. The offline ones (PROTOCOL.md section 8). Each prints exactly
// one JSON line on stdout and returns the exit status: 0 accept, 1 reject, 2 usage or
// I/O error.
#pragma once

namespace keyturn::agent {

int trustCommand(int argc, char** argv);   // argv[1] == "trust"
int verifyCommand(int argc, char** argv);  // argv[1] == "verify"
// The daemon's commands (docs/agent.md): enroll and status print one JSON line (status
// also text); run logs to stderr and exits 0 on SIGTERM, 78 when it cannot start.
int enrollCommand(int argc, char** argv);  // argv[1] == "enroll"
int runCommand(int argc, char** argv);     // argv[1] == "run"
int statusCommand(int argc, char** argv);  // argv[1] == "status"
// The agent's version and its libraries' versions and origins (docs/agent.md).
int versionCommand(int argc, char** argv);  // argv[1] == "version"

}  // namespace keyturn::agent
