// The real Platform: POSIX files and fork/exec with the child in its own process group,
// optional setgid/setuid to a configured user, and a kill of the whole group at timeout.
#pragma once

#include <string>

#include "keyturn/platform.h"

namespace keyturn::plugin {

class PosixPlatform : public Platform {
 public:
  // `commandPath`: the PATH plugin commands run with (agent config plugins.command_path);
  // empty means the standard system folders.
  explicit PosixPlatform(std::string commandPath = "") : commandPath_(std::move(commandPath)) {}
  Status writeFile(const std::string& path, const std::string& data, unsigned mode) override;
  Status overwriteFile(const std::string& path) override;
  Status unlink(const std::string& path) override;
  Status removeTree(const std::string& path) override;
  Result<std::vector<std::string>> listFiles(const std::string& path) override;
  bool exists(const std::string& path) override;
  bool isDirectory(const std::string& path) override;
  Result<std::pair<std::uint64_t, std::string>> sizeAndSha256(const std::string& path) override;
  RunResult run(const RunSpec& spec) override;
  bool canSwitchUser() const override;
  std::string commandPath() const override;

 protected:
  // Every path goes through here first; the sandbox refuses paths outside its root.
  virtual Status checkPath(const std::string& path) const;

 private:
  std::string commandPath_;
};

}  // namespace keyturn::plugin
