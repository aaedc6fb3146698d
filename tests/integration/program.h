// Runs a program to completion (fork/exec) with extra environment variables, collecting
// its exit status, stdout and stderr. Used to drive the real `keyturn` CLI.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace keyturn::test {

struct ProgramRun {
  int exit = -1;  // -1: killed by a signal or could not start
  std::string out;
  std::string err;
  std::string all() const { return out + err; }
};

// `env` is added to (or replaces in) the test's environment; an empty value removes the
// variable. Stdin is /dev/null. Killed after `timeoutSeconds`.
ProgramRun runProgram(const std::string& path, const std::vector<std::string>& args,
                      const std::map<std::string, std::string>& env, int timeoutSeconds = 60);

}  // namespace keyturn::test
