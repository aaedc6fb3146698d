#include "sandbox_platform.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace keyturn::plugin {

SandboxPlatform::SandboxPlatform(std::string root, std::string fakePath)
    : root_(fs::weakly_canonical(root).string()), fakePath_(std::move(fakePath)) {}

Status SandboxPlatform::checkPath(const std::string& path) const {
  if (auto s = PosixPlatform::checkPath(path); !s) return s;
  // Resolve the parent through any symlinks: a link inside the root pointing outside
  // must not let an operation escape. The last component itself is never followed by
  // the file operations (O_NOFOLLOW, lstat, remove_all).
  fs::path p(path);
  std::error_code ec;
  fs::path parent = fs::weakly_canonical(p.parent_path(), ec);
  if (ec) return Status::fail("sandbox_escape", "cannot resolve " + path);
  fs::path resolved = parent / p.filename();
  std::string r = resolved.lexically_normal().string();
  if (p.filename() == ".." || p.filename() == "." ||
      (r != root_ && r.rfind(root_ + "/", 0) != 0)) {
    return Status::fail("sandbox_escape", path + " is outside the sandbox " + root_);
  }
  return Status::ok();
}

RunResult SandboxPlatform::run(const RunSpec& spec) {
  // An absolute program must be one of the fake tools or a plain interpreter: a
  // misconfigured test must never reach the real cryptsetup or apt-get.
  if (!spec.argv.empty() && !spec.argv[0].empty() && spec.argv[0][0] == '/') {
    const std::string& a = spec.argv[0];
    bool ok = a == "/bin/sh" || a == "/bin/bash" || a == "/usr/bin/python3";
    std::size_t start = 0;
    while (!ok && start <= fakePath_.size()) {
      std::size_t end = fakePath_.find(':', start);
      if (end == std::string::npos) end = fakePath_.size();
      std::string dir = fakePath_.substr(start, end - start);
      ok = !dir.empty() && a.rfind(dir + "/", 0) == 0;
      start = end + 1;
    }
    if (!ok) {
      RunResult r;
      r.output = "sandbox refuses to run " + a;
      return r;
    }
  }
  RunSpec confined = spec;
  confined.env["PATH"] = fakePath_;  // only the fake tools can be found
  confined.user.clear();
  return PosixPlatform::run(confined);
}

}  // namespace keyturn::plugin
