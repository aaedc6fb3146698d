// `keyturn-agent version [-o json]`: the agent's version and, for each library it runs
// with (OpenSSL, Poco, SQLite, Lua), the version and where its code is: built into
// keyturn-agent (the static agent the packages ship, docs/decisions.md) or the shared
// library file. A security team reading an OpenSSL or Poco advisory needs this: a built-in
// copy is fixed only by a new keyturn-agent, not by upgrading the distribution's library.
#include <dlfcn.h>
#include <openssl/crypto.h>
#include <sqlite3.h>

#include <Poco/Environment.h>
#include <iostream>
#include <string>
#include <vector>

#include "command_args.h"
#include "commands.h"
#include "keyturn/json.h"

extern "C" {
#include <lua.h>
}

namespace keyturn::agent {

using tools::ArgSpec;
using tools::CommandArgs;
using tools::usageError;

namespace {

struct Library {
  std::string name;
  std::string version;
  std::string from;  // "keyturn-agent" or the shared library's path
};

// Where the code at `symbol` was loaded from: the program itself, or a shared object.
std::string origin(const void* symbol) {
  Dl_info here{}, there{};
  if (::dladdr(reinterpret_cast<const void*>(&origin), &here) == 0 || ::dladdr(symbol, &there) == 0)
    return "unknown";
  if (there.dli_fbase == here.dli_fbase) return "keyturn-agent";
  return there.dli_fname ? there.dli_fname : "unknown";
}

std::string pocoVersion() {
  // 0xAABBCCDD: major AA, minor BB, revision CC (hexadecimal digits, as Poco/Version.h).
  auto v = Poco::Environment::libraryVersion();
  return std::to_string(v >> 24) + "." + std::to_string((v >> 16) & 0xFF) + "." +
         std::to_string((v >> 8) & 0xFF);
}

std::vector<Library> libraries() {
  return {
      {"OpenSSL", OpenSSL_version(OPENSSL_FULL_VERSION_STRING), origin(reinterpret_cast<const void*>(&OpenSSL_version))},
      {"Poco", pocoVersion(), origin(reinterpret_cast<const void*>(&Poco::Environment::libraryVersion))},
      {"SQLite", sqlite3_libversion(), origin(reinterpret_cast<const void*>(&sqlite3_libversion))},
      {"Lua", LUA_VERSION_MAJOR "." LUA_VERSION_MINOR "." LUA_VERSION_RELEASE, origin(reinterpret_cast<const void*>(&lua_version))},
  };
}

}  // namespace

int versionCommand(int argc, char** argv) {
  auto args = CommandArgs::parse(argc, argv, 2, ArgSpec{{"o"}, {}, {}});
  if (!args) return usageError(args.error());
  std::string format = args->get("o").value_or("text");
  if (format != "text" && format != "json") return usageError(Error{"usage", "-o must be text or json"});
  auto libs = libraries();
  if (format == "json") {
    std::string out = "{\"agent\":" + json::quote(KEYTURN_AGENT_VERSION) + ",\"libraries\":[";
    for (std::size_t i = 0; i < libs.size(); ++i) {
      out += (i ? "," : "") + std::string("{\"name\":") + json::quote(libs[i].name) +
             ",\"version\":" + json::quote(libs[i].version) + ",\"from\":" + json::quote(libs[i].from) + "}";
    }
    std::cout << out << "]}" << std::endl;
    return 0;
  }
  std::cout << "keyturn-agent " << KEYTURN_AGENT_VERSION << "\n";
  for (const auto& l : libs)
    std::cout << "  " << l.name << " " << l.version << " ("
              << (l.from == "keyturn-agent" ? "built into keyturn-agent" : l.from) << ")\n";
  std::cout << std::flush;
  return 0;
}

}  // namespace keyturn::agent
