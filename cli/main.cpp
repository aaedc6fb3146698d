// keyturn: wiring only. Everything it signs or checks is built and verified by core/.
#include <iostream>
#include <string>

#include "commands.h"
#include "online/online_commands.h"

namespace {

constexpr const char* kUsage =
    "usage: keyturn COMMAND ...   (every command takes --help and -o json)\n"
    "  key new --id ID [--out FILE]            make an admin or issuer key (0600)\n"
    "  key show --key FILE                     print a key's public JWK and kid\n"
    "  bundle new --roster FILE ...            draft a trust bundle\n"
    "  bundle sign --bundle FILE --key FILE    add one admin's signature\n"
    "  bundle show --bundle FILE [--current F] show a bundle with every signature checked\n"
    "  request new ...                         draft a request over a target list\n"
    "  request sign --request F --key K --role requester|approver|completer\n"
    "  request show --request F [--bundle B]   show a request, its targets and signatures\n"
    "  issue --request F --key ISSUER (--device ID | --all) (--out F | --out-dir D)\n"
    "  policy test|simulate|lint|diff ...      test, explain and compare Lua policies\n"
    "online (docs/cli.md; exit 3 when the coordinator cannot be reached):\n"
    "  login --server URL --ca FILE --id ID --key FILE\n"
    "  request submit ACTION (--device ID... | --group G) --justification TEXT [--param K=V]...\n"
    "  request list [--mine|--received|--all] [--state S]   request show ID\n"
    "  request approve|reject ID --notes TEXT   request complete|cancel ID\n"
    "  bundle propose --bundle NEW.json         a trust bundle change, as a request\n"
    "  device list|enroll-code|remove           audit list|verify|export\n"
    "  notify status                            the notification outbox and failing deliveries\n"
    "  artifact upload FILE | list              packages for app.install source=artifact\n";

}  // namespace

int main(int argc, char** argv) {
  std::string command = argc > 1 ? argv[1] : "";
  if (command == "key") return keyturn::cli::keyCommand(argc, argv);
  if (command == "bundle") return keyturn::cli::bundleCommand(argc, argv);
  if (command == "request") return keyturn::cli::requestCommand(argc, argv);
  if (command == "issue") return keyturn::cli::issueCommand(argc, argv);
  if (command == "policy") return keyturn::cli::policyCommand(argc, argv);
  if (command == "login") return keyturn::cli::loginCommand(argc, argv);
  if (command == "device") return keyturn::cli::deviceCommand(argc, argv);
  if (command == "audit") return keyturn::cli::auditCommand(argc, argv);
  if (command == "notify") return keyturn::cli::notifyCommand(argc, argv);
  if (command == "artifact") return keyturn::cli::artifactCommand(argc, argv);
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << (command.empty() ? "keyturn: a command is required\n" : "keyturn: unknown command \"" + command + "\"\n")
            << kUsage;
  return 2;
}
