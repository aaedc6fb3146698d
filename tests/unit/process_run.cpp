#include "process_run.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace keyturn::test {

ProcessResult runProcess(const std::string& commandLine, const std::string& workdir) {
  std::string cmd = (workdir.empty() ? "" : "cd '" + workdir + "' && ") + commandLine + " 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("popen failed for: " + cmd);
  ProcessResult r;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) r.out.append(buf, n);
  int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string binaryPath(const std::string& relative) {
  const char* dir = std::getenv("KEYTURN_BINARY_DIR");
  return std::filesystem::absolute(std::string(dir ? dir : "build") + "/" + relative).string();
}

}  // namespace keyturn::test
