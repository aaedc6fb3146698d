// keyturn-agent: wiring only. The decisions live in core/ (token gate, bundle verifier);
// the daemon's state and loop in keyturn_agent_lib.
#include <iostream>
#include <string>

#include "commands.h"

namespace {

constexpr const char* kUsage =
    "usage:\n"
    "  keyturn-agent trust init   --state DIR --bundle FILE [--expect-sha256 HEX] [--now T]\n"
    "  keyturn-agent trust update --state DIR --bundle FILE... [--now T]\n"
    "  keyturn-agent trust show   --state DIR\n"
    "  keyturn-agent verify --state DIR --token FILE --facts FILE [--now T] [--consume]\n"
    "  keyturn-agent enroll --server URL --ca FILE --code CODE [--facts FILE] [--device-id ID]\n"
    "                       [--expect-bundle-sha256 HEX] [--config FILE] [--state DIR] [--plugins DIR]\n"
    "  keyturn-agent run    [--config FILE] [--log-format text|json]\n"
    "  keyturn-agent status [--config FILE] [-o json]\n"
    "  keyturn-agent version [-o json]\n"
    "\n"
    "trust, verify and enroll print one JSON line. Exit status: 0 accept, 1 reject, 2 usage or I/O error.\n"
    "Defaults: --config /etc/keyturn/agent.conf, --state /var/lib/keyturn.\n";

}  // namespace

int main(int argc, char** argv) {
  std::string command = argc > 1 ? argv[1] : "";
  if (command == "trust") return keyturn::agent::trustCommand(argc, argv);
  if (command == "verify") return keyturn::agent::verifyCommand(argc, argv);
  if (command == "enroll") return keyturn::agent::enrollCommand(argc, argv);
  if (command == "run") return keyturn::agent::runCommand(argc, argv);
  if (command == "status") return keyturn::agent::statusCommand(argc, argv);
  if (command == "version" || command == "--version") return keyturn::agent::versionCommand(argc, argv);
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << (command.empty() ? "keyturn-agent: a command is required\n"
                                : "keyturn-agent: unknown command \"" + command + "\"\n")
            << kUsage;
  return 2;
}
