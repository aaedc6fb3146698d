#include "online/profile.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "keyturn/crypto_util.h"
#include "keyturn/json.h"

namespace keyturn::cli {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

std::string Profile::path() {
  std::string base = env("XDG_CONFIG_HOME");
  if (base.empty()) {
    std::string home = env("HOME");
    if (home.empty()) return "";
    base = home + "/.config";
  }
  return base + "/keyturn/profile.json";
}

Result<Profile> Profile::load() {
  using R = Result<Profile>;
  Profile p;
  const std::string file = path();
  struct stat st {};
  if (!file.empty() && ::stat(file.c_str(), &st) == 0) {
    // It holds a session token: refuse to use one others could have read (or planted).
    if (st.st_mode & 077)
      return R::fail("insecure_permissions",
                     file + " is readable by others; run: chmod 600 " + file);
    auto text = readFile(file, 1 << 20);
    if (!text) return R::fail("io", "cannot read " + file + ": " + std::strerror(errno));
    auto o = json::parseObject(*text);
    if (!o)
      return R::fail("malformed", file + ": " + o.detail() + " (remove it and run keyturn login)");
    const auto& obj = *o.value();
    if (Status s = json::onlyMembers(
            obj, {"server", "ca", "id", "key", "tenant", "session", "expires"}, file);
        !s)
      return s.error();
    for (auto [name, field] : {std::pair{"server", &p.server},
                               {"ca", &p.ca},
                               {"id", &p.id},
                               {"key", &p.key},
                               {"tenant", &p.tenant},
                               {"session", &p.session}}) {
      if (!obj.has(name)) continue;
      auto v = json::getString(obj, name, file);
      if (!v) return v.error();
      *field = v.value();
    }
    if (obj.has("expires")) {
      auto v = json::getInteger(obj, "expires", file);
      if (!v) return v.error();
      p.expires = v.value();
    }
  }
  std::string server = env("KEYTURN_SERVER"), ca = env("KEYTURN_CA"), id = env("KEYTURN_ID"),
              key = env("KEYTURN_KEY");
  if ((!server.empty() && server != p.server) || (!id.empty() && id != p.id)) {
    p.session.clear();
    p.expires = 0;
    p.tenant.clear();
  }
  p.overridden = (!server.empty() && server != p.server) || (!ca.empty() && ca != p.ca) ||
                 (!id.empty() && id != p.id) || (!key.empty() && key != p.key);
  if (!server.empty()) p.server = server;
  if (!ca.empty()) p.ca = ca;
  if (!id.empty()) p.id = id;
  if (!key.empty()) p.key = key;
  return p;
}

Status Profile::save() const {
  const std::string file = path();
  if (file.empty())
    return Status::fail("io",
                        "neither XDG_CONFIG_HOME nor HOME is set: nowhere to keep the profile");
  std::filesystem::path dir = std::filesystem::path(file).parent_path();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::fail("io", "cannot create " + dir.string() + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
  std::string text = "{\"server\":" + json::quote(server) + ",\"ca\":" + json::quote(ca) +
                     ",\"id\":" + json::quote(id) + ",\"key\":" + json::quote(key) +
                     ",\"tenant\":" + json::quote(tenant) + ",\"session\":" + json::quote(session) +
                     ",\"expires\":" + std::to_string(expires) + "}\n";
  if (std::string err = writeFileAtomic(file, text, 0600); !err.empty())
    return Status::fail("io", err);
  return Status::ok();
}

}  // namespace keyturn::cli
