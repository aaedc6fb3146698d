// Running the built programs from tests: a shell command line, its exit status and its
// standard output (standard error is discarded).
#pragma once

#include <string>

namespace keyturn::test {

struct ProcessResult {
  int status = -1;  // the exit status; -1 if the process did not exit normally
  std::string out;
};

// Runs `commandLine` with /bin/sh, optionally in `workdir`.
ProcessResult runProcess(const std::string& commandLine, const std::string& workdir = "");

// The absolute path of a built program, e.g. binaryPath("cli/keyturn"): under
// $KEYTURN_BINARY_DIR (set by ctest), else under ./build.
std::string binaryPath(const std::string& relative);

}  // namespace keyturn::test
