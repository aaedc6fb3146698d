#include "linked_libraries.h"

#include <dlfcn.h>
#include <openssl/crypto.h>
#include <sqlite3.h>

#include <Poco/Environment.h>

#include "keyturn/json.h"

extern "C" {
#include <lua.h>
}

namespace keyturn::agent {

namespace {

// Where the code at `symbol` was loaded from: this program (the object that holds this
// function), or a shared object.
std::string origin(const void* symbol) {
  Dl_info here{}, there{};
  if (::dladdr(reinterpret_cast<const void*>(&origin), &here) == 0 || ::dladdr(symbol, &there) == 0)
    return "unknown";
  if (there.dli_fbase == here.dli_fbase) return "keyturn-agent";
  return there.dli_fname && *there.dli_fname ? there.dli_fname : "unknown";
}

std::string pocoVersion() {
  // 0xAABBCCDD: major AA, minor BB, revision CC (as Poco/Version.h).
  auto v = Poco::Environment::libraryVersion();
  return std::to_string(v >> 24) + "." + std::to_string((v >> 16) & 0xFF) + "." +
         std::to_string((v >> 8) & 0xFF);
}

}  // namespace

std::vector<LinkedLibrary> linkedLibraries() {
  return {
      {"OpenSSL", OpenSSL_version(OPENSSL_FULL_VERSION_STRING),
       origin(reinterpret_cast<const void*>(&OpenSSL_version))},
      {"Poco", pocoVersion(), origin(reinterpret_cast<const void*>(&Poco::Environment::libraryVersion))},
      {"SQLite", sqlite3_libversion(), origin(reinterpret_cast<const void*>(&sqlite3_libversion))},
      {"Lua", LUA_VERSION_MAJOR "." LUA_VERSION_MINOR "." LUA_VERSION_RELEASE,
       origin(reinterpret_cast<const void*>(&lua_version))},
  };
}

std::string linkedLibrariesJson(const std::vector<LinkedLibrary>& libraries) {
  std::string out = "[";
  for (std::size_t i = 0; i < libraries.size(); ++i) {
    const auto& l = libraries[i];
    out += (i ? ",{\"name\":" : "{\"name\":") + json::quote(l.name) + ",\"version\":" + json::quote(l.version) +
           ",\"from\":" + json::quote(l.from) + "}";
  }
  return out + "]";
}

}  // namespace keyturn::agent
