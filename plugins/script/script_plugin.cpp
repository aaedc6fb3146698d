// script.run (spec §7): a body pinned by sha256, run by a configured interpreter as a
// configured user, killed with its process group at timeout_s. Not idempotent.
#include <Poco/ClassLibrary.h>

#include "keyturn/plugin.h"
#include "params.h"

namespace keyturn::plugin {

class ScriptPlugin : public ActionPlugin {
 public:
  std::vector<std::string> actions() const override { return {"script.run"}; }

  Status setUp(const PluginConfig& config) override {
    interpreters_ = {
        {"sh", configValue(config, "script.interpreter.sh", "/bin/sh")},
        {"bash", configValue(config, "script.interpreter.bash", "/bin/bash")},
        {"python3", configValue(config, "script.interpreter.python3", "/usr/bin/python3")},
    };
    for (const auto& [name, path] : interpreters_) {
      if (path.empty() || path[0] != '/') return Status::fail("bad_config", "script.interpreter." + name + " must be absolute");
    }
    user_ = configValue(config, "script.user", "nobody");
    return Status::ok();
  }

  bool idempotent(const std::string&) const override { return false; }

  Status validate(const std::string& action, const Poco::JSON::Object& params) const override {
    if (action != "script.run") return Status::fail("unknown_action", action);
    if (auto s = onlyFields(params, {"interpreter", "body", "sha256", "timeout_s"}); !s) return s;
    auto interp = stringField(params, "interpreter");
    if (!interp) return interp.status();
    if (!interpreters_.count(interp.value())) return Status::fail("malformed", "field 'interpreter' must be sh, bash or python3");
    auto body = stringField(params, "body");
    if (!body) return body.status();
    auto sha = stringField(params, "sha256");
    if (!sha) return sha.status();
    if (!isLowerHex64(sha.value())) return Status::fail("malformed", "field 'sha256' must be 64 lowercase hex digits");
    return intField(params, "timeout_s", 1, 86400, 300LL).status();
  }

  Outcome execute(const std::string& action, const Poco::JSON::Object& params,
                  ExecutionContext& ctx) override {
    if (auto s = validate(action, params); !s) return Outcome::fail(s.reason(), s.detail());
    const std::string body = params.getValue<std::string>("body");
    if (sha256Hex(body) != params.getValue<std::string>("sha256")) {
      return Outcome::fail("sha256_mismatch", "the body's SHA-256 differs from params.sha256; nothing ran");
    }
    const std::string interp = params.getValue<std::string>("interpreter");
    RunSpec spec = commandSpec(ctx.platform, {interpreters_.at(interp), interp == "python3" ? "-" : "-s"},
                               static_cast<int>(intField(params, "timeout_s", 1, 86400, 300LL).value()));
    spec.stdin_data = body;  // never on the command line: no length limit, not in ps
    spec.env["HOME"] = "/";
    std::string note;
    if (ctx.platform.canSwitchUser()) {
      spec.user = user_;
    } else {
      note = "agent is not root: ran as the current user, not " + user_;
    }
    RunResult r = ctx.platform.run(spec);
    Outcome o;
    o.exit_code = r.exit_code;
    o.output = std::move(r.output);
    o.truncated = r.truncated;
    if (r.timed_out) {
      o.reason = "timeout";
      o.detail = "killed with its process group after " + std::to_string(spec.timeout_s) + " s";
    } else if (r.exit_code != 0) {
      o.reason = r.exit_code == -1 ? "not_started" : "script_failed";
      o.detail = "exit code " + std::to_string(r.exit_code);
    } else {
      o.state = Outcome::State::succeeded;
      o.detail = "ran as " + r.ran_as;
    }
    if (!note.empty()) o.detail += "; " + note;
    return o;
  }

 private:
  std::map<std::string, std::string> interpreters_;
  std::string user_;
};

}  // namespace keyturn::plugin

POCO_BEGIN_MANIFEST(keyturn::plugin::ActionPlugin)
POCO_EXPORT_CLASS(keyturn::plugin::ScriptPlugin)
POCO_END_MANIFEST
