// The only way an action plugin touches the machine (files, processes, power).
//
// Plugins never call open/exec themselves: the agent hands them a Platform, tests hand
// them a SandboxPlatform that confines files under a folder and runs commands on a fake
// PATH. Every call reports failure as a Status with a reason; nothing throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <map>
#include <string>
#include <vector>

#include "keyturn/result.h"

namespace keyturn::plugin {

inline constexpr std::size_t kMaxOutput = 64 * 1024;

struct RunSpec {
  std::vector<std::string> argv;            // argv[0] is looked up on env PATH if relative
  std::map<std::string, std::string> env;   // the whole environment of the child
  std::string user;                         // switch to this user (only when root); "" = no switch
  int timeout_s = 60;                       // the process group is killed after this
  std::size_t output_cap = kMaxOutput;      // stdout+stderr kept, the rest counted as truncated
  std::string stdin_data;                   // fed on standard input
};

struct RunResult {
  int exit_code = -1;         // exit status, or 128+signal, or -1 if it never started
  bool timed_out = false;     // killed at timeout_s (with its whole process group)
  std::string output;         // merged stdout and stderr, at most output_cap bytes
  bool truncated = false;     // more output was produced than kept
  std::string ran_as;         // the user it ran as
};

class Platform {
 public:
  virtual ~Platform() = default;

  // Creates or replaces `path` with `data` (mode 0600 by default), fsynced.
  virtual Status writeFile(const std::string& path, const std::string& data,
                           unsigned mode = 0600) = 0;
  // Overwrites a regular file in place with zero bytes over its whole size and fsyncs it.
  // Refuses symlinks and non-regular files (a wipe must not follow a link elsewhere).
  virtual Status overwriteFile(const std::string& path) = 0;
  // Removes one file or symlink (not what it points to). A missing path is success.
  virtual Status unlink(const std::string& path) = 0;
  // Removes a folder tree without following symlinks. A missing path is success.
  virtual Status removeTree(const std::string& path) = 0;
  // Regular files under `path` (the file itself if it is one), never following symlinks.
  virtual Result<std::vector<std::string>> listFiles(const std::string& path) = 0;
  virtual bool exists(const std::string& path) = 0;
  virtual bool isDirectory(const std::string& path) = 0;
  // Size and lowercase hex SHA-256 of a file (used to check artifacts).
  virtual Result<std::pair<std::uint64_t, std::string>> sizeAndSha256(const std::string& path) = 0;

  // Runs a command; a command that cannot start is exit_code -1 with output explaining.
  virtual RunResult run(const RunSpec& spec) = 0;
  // Whether commands can switch user (the agent runs as root on a real machine).
  virtual bool canSwitchUser() const = 0;
  // The environment PATH commands get by default.
  virtual std::string commandPath() const = 0;
};

}  // namespace keyturn::plugin
