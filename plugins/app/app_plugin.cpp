// app.install / app.uninstall (spec §7): apt with a version pin, or a downloaded .deb
// checked against sha256 and size before dpkg sees it.
#include <Poco/ClassLibrary.h>

#include <cctype>

#include "keyturn/plugin.h"
#include "params.h"

namespace keyturn::plugin {
namespace {

// Debian package names: lowercase alphanumerics and + - . , at least two, starting with
// an alphanumeric, so a name can never be read as an option ("-o...").
bool saneName(const std::string& s) {
  if (s.size() < 2 || s.size() > 128) return false;
  if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9'))) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.')) return false;
  }
  return true;
}

// Debian versions start with a digit ([epoch:]upstream[-revision]).
bool saneVersion(const std::string& s) {
  if (s.empty() || s.size() > 128 || !(s[0] >= '0' && s[0] <= '9')) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '+' || c == '~' || c == ':' || c == '-')) return false;
  }
  return true;
}

}  // namespace

class AppPlugin : public ActionPlugin {
 public:
  std::vector<std::string> actions() const override { return {"app.install", "app.uninstall"}; }

  Status setUp(const PluginConfig& config) override {
    try {
      timeout_ = std::stoi(configValue(config, "app.timeout_s", "1800"));
    } catch (...) {
      return Status::fail("bad_config", "app.timeout_s must be a number");
    }
    return timeout_ > 0 ? Status::ok() : Status::fail("bad_config", "app.timeout_s must be positive");
  }

  bool idempotent(const std::string&) const override { return true; }

  Status validate(const std::string& action, const Poco::JSON::Object& params) const override {
    if (action == "app.uninstall") {
      if (auto s = onlyFields(params, {"name"}); !s) return s;
      return nameOk(params);
    }
    if (action != "app.install") return Status::fail("unknown_action", action);
    auto source = stringField(params, "source");
    if (!source) return source.status();
    if (source.value() == "apt") {
      if (auto s = onlyFields(params, {"name", "version", "source"}); !s) return s;
      if (auto s = nameOk(params); !s) return s;
      auto v = stringField(params, "version");
      if (!v) return v.status();
      if (!saneVersion(v.value())) return Status::fail("malformed", "field 'version' is not a Debian version");
      return Status::ok();
    }
    if (source.value() == "artifact") {
      if (auto s = onlyFields(params, {"name", "source", "sha256", "size"}); !s) return s;
      if (auto s = nameOk(params); !s) return s;
      auto sha = stringField(params, "sha256");
      if (!sha) return sha.status();
      if (!isLowerHex64(sha.value())) return Status::fail("malformed", "field 'sha256' must be 64 lowercase hex digits");
      return intField(params, "size", 1, (1LL << 40), std::nullopt).status();
    }
    return Status::fail("malformed", "field 'source' must be apt or artifact");
  }

  Outcome execute(const std::string& action, const Poco::JSON::Object& params,
                  ExecutionContext& ctx) override {
    if (auto s = validate(action, params); !s) return Outcome::fail(s.reason(), s.detail());
    Platform& pf = ctx.platform;
    const std::string name = params.getValue<std::string>("name");
    RunSpec spec;
    if (action == "app.uninstall") {
      spec = commandSpec(pf, {"apt-get", "remove", "-y", name}, timeout_);
    } else if (params.getValue<std::string>("source") == "apt") {
      spec = commandSpec(pf, {"apt-get", "install", "-y", name + "=" + params.getValue<std::string>("version")}, timeout_);
    } else {
      if (ctx.artifact_path.empty()) return Outcome::fail("artifact_missing", "no downloaded artifact was handed to the plugin");
      auto got = pf.sizeAndSha256(ctx.artifact_path);
      if (!got) return Outcome::fail("artifact_mismatch", got.detail());
      const auto size = static_cast<std::uint64_t>(intField(params, "size", 1, (1LL << 40), std::nullopt).value());
      if (got.value().first != size) {
        return Outcome::fail("artifact_mismatch", "artifact is " + std::to_string(got.value().first) +
                                                      " bytes, params.size is " + std::to_string(size) + "; nothing installed");
      }
      if (got.value().second != params.getValue<std::string>("sha256")) {
        return Outcome::fail("artifact_mismatch", "artifact SHA-256 differs from params.sha256; nothing installed");
      }
      spec = commandSpec(pf, {"dpkg", "-i", ctx.artifact_path}, timeout_);
    }
    spec.env["DEBIAN_FRONTEND"] = "noninteractive";
    return runToOutcome(pf, spec);
  }

 private:
  static Status nameOk(const Poco::JSON::Object& params) {
    auto n = stringField(params, "name");
    if (!n) return n.status();
    if (!saneName(n.value())) return Status::fail("malformed", "field 'name' is not a Debian package name");
    return Status::ok();
  }

  int timeout_ = 1800;
};

}  // namespace keyturn::plugin

POCO_BEGIN_MANIFEST(keyturn::plugin::ActionPlugin)
POCO_EXPORT_CLASS(keyturn::plugin::AppPlugin)
POCO_END_MANIFEST
