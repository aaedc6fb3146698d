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

// For a library built into the agent: the Debian package version it was compiled from
// (with Debian's revision, as advisories name it) when that version is the running
// copy's upstream version followed by a revision; otherwise the upstream version alone.
std::string versionOf(const std::string& upstream, const std::string& from, const char* package) {
  std::string p = package;
  if (from != "keyturn-agent" || p.size() <= upstream.size() || p.compare(0, upstream.size(), upstream) != 0 ||
      p[upstream.size()] != '-')
    return upstream;
  return p;
}

std::string pocoVersion() {
  // 0xAABBCCDD: major AA, minor BB, revision CC (as Poco/Version.h).
  auto v = Poco::Environment::libraryVersion();
  return std::to_string(v >> 24) + "." + std::to_string((v >> 16) & 0xFF) + "." +
         std::to_string((v >> 8) & 0xFF);
}

}  // namespace

const char* agentProgramVersion() { return KEYTURN_AGENT_VERSION; }

std::vector<LinkedLibrary> linkedLibraries() {
  std::vector<LinkedLibrary> out = {
      {"OpenSSL", OpenSSL_version(OPENSSL_FULL_VERSION_STRING), origin(reinterpret_cast<const void*>(&OpenSSL_version))},
      {"Poco", pocoVersion(), origin(reinterpret_cast<const void*>(&Poco::Environment::libraryVersion))},
      {"SQLite", sqlite3_libversion(), origin(reinterpret_cast<const void*>(&sqlite3_libversion))},
      {"Lua", LUA_VERSION_MAJOR "." LUA_VERSION_MINOR "." LUA_VERSION_RELEASE,
       origin(reinterpret_cast<const void*>(&lua_version))},
  };
  const char* packages[] = {KEYTURN_PACKAGE_OPENSSL, KEYTURN_PACKAGE_POCO, KEYTURN_PACKAGE_SQLITE, KEYTURN_PACKAGE_LUA};
  for (std::size_t i = 0; i < out.size(); ++i) out[i].version = versionOf(out[i].version, out[i].from, packages[i]);
  return out;
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
