// device.wipe, device.retire, device.lock, device.restart (spec §7).
//
// What each does on a machine is configuration only; the defaults are the harmless ones
// (lock the sessions, reboot) and a wipe with no configured strategy is refused.
#include <Poco/ClassLibrary.h>

#include "keyturn/plugin.h"
#include "params.h"

namespace keyturn::plugin {

class DevicePlugin : public ActionPlugin {
 public:
  std::vector<std::string> actions() const override {
    return {"device.lock", "device.restart", "device.retire", "device.wipe"};
  }

  Status setUp(const PluginConfig& config) override {
    strategy_ = configValue(config, "wipe.strategy", "");
    if (!strategy_.empty() && strategy_ != "paths" && strategy_ != "luks" && strategy_ != "command") {
      return Status::fail("bad_config", "wipe.strategy must be paths, luks or command");
    }
    wipePaths_ = splitList(configValue(config, "wipe.paths", ""));
    luksDevices_ = splitList(configValue(config, "wipe.luks.devices", ""));
    poweroff_ = splitCommand(configValue(config, "wipe.poweroff_command", "systemctl poweroff"));
    wipeCommand_ = splitCommand(configValue(config, "wipe.command", ""));
    retirePaths_ = splitList(configValue(config, "retire.paths", ""));
    lock_ = splitCommand(configValue(config, "lock.command", "loginctl lock-sessions"));
    restart_ = splitCommand(configValue(config, "restart.command", "systemctl reboot"));
    shutdown_ = configValue(config, "restart.shutdown_program", "shutdown");
    for (const auto& p : wipePaths_) {
      if (p.empty() || p[0] != '/') return Status::fail("bad_config", "wipe.paths entry not absolute: " + p);
    }
    for (const auto& p : retirePaths_) {
      if (p.empty() || p[0] != '/') return Status::fail("bad_config", "retire.paths entry not absolute: " + p);
    }
    if (lock_.empty() || restart_.empty() || poweroff_.empty()) {
      return Status::fail("bad_config", "lock.command, restart.command and wipe.poweroff_command must not be empty");
    }
    return Status::ok();
  }

  bool idempotent(const std::string&) const override { return true; }

  Status validate(const std::string& action, const Poco::JSON::Object& params) const override {
    if (action == "device.wipe") {
      if (auto s = onlyFields(params, {"mode"}); !s) return s;
      auto mode = stringField(params, "mode");
      if (!mode) return mode.status();
      if (mode.value() != "full") return Status::fail("malformed", "field 'mode' must be \"full\"");
      return Status::ok();
    }
    if (action == "device.retire") return onlyFields(params, {});
    if (action == "device.lock") {
      if (auto s = onlyFields(params, {"message"}); !s) return s;
      auto m = optionalString(params, "message");
      if (!m) return m.status();
      if (m.value() && m.value()->size() > 1024) return Status::fail("malformed", "field 'message' longer than 1024");
      return Status::ok();
    }
    if (action == "device.restart") {
      if (auto s = onlyFields(params, {"delay_s"}); !s) return s;
      return intField(params, "delay_s", 0, kMaxDelay, 0LL).status();
    }
    return Status::fail("unknown_action", action);
  }

  Outcome execute(const std::string& action, const Poco::JSON::Object& params,
                  ExecutionContext& ctx) override {
    if (auto s = validate(action, params); !s) return Outcome::fail(s.reason(), s.detail());
    Platform& pf = ctx.platform;
    if (action == "device.wipe") return wipe(pf);
    if (action == "device.retire") return removePaths(pf, retirePaths_, false, "retire");
    if (action == "device.lock") {
      // The message is not passed to a shell; loginctl has no message, so it is reported only.
      Outcome o = runToOutcome(pf, commandSpec(pf, lock_, kCommandTimeout));
      auto m = optionalString(params, "message");
      if (m && m.value()) o.detail += (o.detail.empty() ? "" : "; ") + std::string("message: ") + *m.value();
      return o;
    }
    // device.restart: delay 0 runs restart.command now; a delay is handed to shutdown(8)
    // as whole minutes rounded up (`shutdown -r +N`), so the agent never sleeps on it.
    long long delay = intField(params, "delay_s", 0, kMaxDelay, 0LL).value();
    if (delay == 0) return runToOutcome(pf, commandSpec(pf, restart_, kCommandTimeout));
    long long minutes = (delay + 59) / 60;
    return runToOutcome(pf, commandSpec(pf, {shutdown_, "-r", "+" + std::to_string(minutes)}, kCommandTimeout));
  }

 private:
  static constexpr long long kMaxDelay = 86400;
  static constexpr int kCommandTimeout = 120;

  Outcome wipe(Platform& pf) {
    if (strategy_.empty()) {
      return Outcome::fail("wipe_not_configured",
                           "no wipe.strategy in the agent configuration: this device does not wipe");
    }
    if (strategy_ == "paths") {
      if (wipePaths_.empty()) return Outcome::fail("wipe_not_configured", "wipe.strategy=paths but wipe.paths is empty");
      return removePaths(pf, wipePaths_, true, "wipe");
    }
    if (strategy_ == "command") {
      if (wipeCommand_.empty()) return Outcome::fail("wipe_not_configured", "wipe.strategy=command but wipe.command is empty");
      return runToOutcome(pf, commandSpec(pf, wipeCommand_, 3600));
    }
    if (luksDevices_.empty()) return Outcome::fail("wipe_not_configured", "wipe.strategy=luks but wipe.luks.devices is empty");
    std::string log;
    for (const auto& dev : luksDevices_) {
      Outcome o = runToOutcome(pf, commandSpec(pf, {"cryptsetup", "erase", "--batch-mode", dev}, 600));
      log += o.output;
      if (!o.succeeded()) {
        o.reason = "erase_failed";
        o.detail = "cryptsetup erase " + dev + ": " + o.detail;
        o.output = log;
        return o;
      }
    }
    Outcome o = runToOutcome(pf, commandSpec(pf, poweroff_, kCommandTimeout));
    o.output = log + o.output;
    return o;
  }

  // Overwrites (when `shred`) then removes each configured path; folders recursively.
  // A path already gone counts as done: both actions are idempotent.
  Outcome removePaths(Platform& pf, const std::vector<std::string>& paths, bool shred, const std::string& what) {
    int removed = 0;
    for (const auto& p : paths) {
      auto files = pf.listFiles(p);  // also refuses a path the platform does not allow
      if (!files) return Outcome::fail(files.reason(), files.detail());
      if (!pf.exists(p)) continue;
      if (shred) {
        for (const auto& f : files.value()) {
          if (auto s = pf.overwriteFile(f); !s) return Outcome::fail(s.reason(), s.detail());
        }
      }
      Status s = pf.isDirectory(p) ? pf.removeTree(p) : pf.unlink(p);
      if (!s) return Outcome::fail(s.reason(), s.detail());
      ++removed;
    }
    Outcome o;
    o.state = Outcome::State::succeeded;
    o.exit_code = 0;
    o.detail = what + ": removed " + std::to_string(removed) + " of " + std::to_string(paths.size()) + " configured paths";
    return o;
  }

  std::string strategy_, shutdown_;
  std::vector<std::string> wipePaths_, luksDevices_, retirePaths_;
  std::vector<std::string> poweroff_, wipeCommand_, lock_, restart_;
};

}  // namespace keyturn::plugin

POCO_BEGIN_MANIFEST(keyturn::plugin::ActionPlugin)
POCO_EXPORT_CLASS(keyturn::plugin::DevicePlugin)
POCO_END_MANIFEST
