// A Platform for tests: every file operation must stay under `root` (symlinked parents
// that lead out are refused), commands run with PATH = `fakePath` only, never switch user.
#pragma once

#include <string>

#include "posix_platform.h"

namespace keyturn::plugin {

class SandboxPlatform : public PosixPlatform {
 public:
  SandboxPlatform(std::string root, std::string fakePath);
  RunResult run(const RunSpec& spec) override;
  bool canSwitchUser() const override { return false; }
  std::string commandPath() const override { return fakePath_; }

 protected:
  Status checkPath(const std::string& path) const override;

 private:
  std::string root_;  // canonical
  std::string fakePath_;
};

}  // namespace keyturn::plugin
