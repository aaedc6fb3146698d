// The libraries keyturn-agent runs with (OpenSSL, Poco, SQLite, Lua): each one's version
// and where its code was loaded from, "keyturn-agent" when it is built into the program
// (the static agent the packages ship) or the shared library's path. Shown by
// `keyturn-agent version` and reported to the coordinator with the facts, so a security
// team can find the agents that carry a library named in an advisory (docs/agent.md).
#pragma once

#include <string>
#include <vector>

namespace keyturn::agent {

struct LinkedLibrary {
  std::string name;
  std::string version;
  std::string from;
};

std::vector<LinkedLibrary> linkedLibraries();

// [{"name":...,"version":...,"from":...},...]
std::string linkedLibrariesJson(const std::vector<LinkedLibrary>& libraries);

}  // namespace keyturn::agent
