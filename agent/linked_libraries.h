// The libraries keyturn-agent runs with (OpenSSL, Poco, SQLite, Lua): each one's version
// and where its code was loaded from, "keyturn-agent" when it is built into the program
// (the static agent the packages ship) or the shared library's path. A built-in copy's
// version is the Debian package it was compiled from, revision included
// ("3.0.19-1~deb12u2"), which is what Debian's advisories name; a shared one's is the
// upstream version the library reports (its package is the system's to track). Shown by
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

// This program's own version (CMake's project version).
const char* agentProgramVersion();

std::vector<LinkedLibrary> linkedLibraries();

// [{"name":...,"version":...,"from":...},...]
std::string linkedLibrariesJson(const std::vector<LinkedLibrary>& libraries);

}  // namespace keyturn::agent
