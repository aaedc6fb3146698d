// The processes whose parent is a given process, zombies included, read from /proc (so a
// test counts exactly the children of the process it looks at, not others'). Used by the
// policy worker's unit tests and the agent's end-to-end tests.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace keyturn::test {

inline std::set<int> childrenOf(pid_t parent) {
  std::set<int> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(e.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    auto close = line.rfind(')');  // the command name may hold spaces and parentheses
    if (close == std::string::npos || close + 2 >= line.size()) continue;
    std::istringstream rest(line.substr(close + 2));
    std::string state;
    int ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) out.insert(std::stoi(name));
  }
  return out;
}

}  // namespace keyturn::test
