// `keyturn-agent version [-o json]`: the agent's version and, for each library it runs
// with (OpenSSL, Poco, SQLite, Lua), the version and where its code is: built into
// keyturn-agent (the static agent the packages ship, docs/decisions.md) or the shared
// library file. A security team reading an OpenSSL or Poco advisory needs this: a built-in
// copy is fixed only by a new keyturn-agent, not by upgrading the distribution's library.
#include <iostream>
#include <string>

#include "command_args.h"
#include "commands.h"
#include "keyturn/json.h"
#include "linked_libraries.h"

namespace keyturn::agent {

using tools::ArgSpec;
using tools::CommandArgs;
using tools::usageError;

int versionCommand(int argc, char** argv) {
  auto args = CommandArgs::parse(argc, argv, 2, ArgSpec{{"o"}, {}, {}});
  if (!args) return usageError(args.error());
  std::string format = args->get("o").value_or("text");
  if (format != "text" && format != "json") return usageError(Error{"usage", "-o must be text or json"});
  auto libs = linkedLibraries();
  if (format == "json") {
    std::cout << "{\"agent\":" << json::quote(agentProgramVersion()) << ",\"libraries\":" << linkedLibrariesJson(libs)
              << "}" << std::endl;
    return 0;
  }
  std::cout << "keyturn-agent " << agentProgramVersion() << "\n";
  for (const auto& l : libs)
    std::cout << "  " << l.name << " " << l.version << " ("
              << (l.from == "keyturn-agent" ? "built into keyturn-agent" : l.from) << ")\n";
  std::cout << std::flush;
  return 0;
}

}  // namespace keyturn::agent
