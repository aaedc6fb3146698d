// `keyturn-agent status [--config FILE] [-o json]`: enrollment, bundle version and
// expiry, last contact, inbox, running executions and outbox. Reads only.
#include <ctime>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "agent_config.h"
#include "agent_state.h"
#include "command_args.h"
#include "commands.h"
#include "keyturn/bundle.h"
#include "keyturn/json.h"
#include "keyturn/trust_store.h"
#include "refused_bundle.h"

namespace keyturn::agent {

using tools::ArgSpec;
using tools::CommandArgs;
using tools::usageError;

namespace {

std::string when(std::int64_t t) {
  if (t <= 0) return "never";
  std::time_t secs = t;
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

int statusCommand(int argc, char** argv) {
  auto args = CommandArgs::parse(argc, argv, 2, ArgSpec{{"config", "o"}, {}, {}});
  if (!args) return usageError(args.error());
  std::string format = args->get("o").value_or("text");
  if (format != "text" && format != "json") return usageError(Error{"usage", "-o must be text or json"});
  std::string path = args->get("config").value_or(kDefaultConfigPath);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (format == "json")
      std::cout << "{\"enrolled\":false,\"config\":" << json::quote(path) << "}" << std::endl;
    else
      std::cout << "not enrolled (no " << path << ")" << std::endl;
    return 1;
  }
  auto config = readAgentConfig(path);
  if (!config) return usageError(config.error());

  std::int64_t now = std::time(nullptr);
  std::uint64_t version = 0, expires = 0;
  if (auto store = TrustStore::open(config->stateDir); store) {
    if (auto bytes = readFile(store->bundlePath(), kMaxBundleBytes))
      if (auto b = TrustBundle::parse(*bytes)) {
        version = b->version;
        expires = b->expires;
      }
  }
  StateCounts counts;
  std::int64_t lastContact = 0;
  auto state = AgentState::open(config->databaseFile());
  if (!state) return usageError(state.error());
  auto c = state.value()->counts();
  if (!c) return usageError(c.error());
  counts = c.value();
  if (auto m = state.value()->meta("last_contact")) lastContact = std::atoll(m->c_str());
  bool expired = static_cast<std::int64_t>(expires) <= now;
  auto refused = RefusedBundle::fromJson(state.value()->meta("refused_bundle").value_or(""));

  if (format == "json") {
    std::ostringstream out;
    out << "{\"enrolled\":true,\"device\":" << json::quote(config->deviceId)
        << ",\"server\":" << json::quote(config->server) << ",\"state\":" << json::quote(config->stateDir)
        << ",\"bundle\":{\"version\":" << version << ",\"expires\":" << expires
        << ",\"expired\":" << (expired ? "true" : "false") << "},\"last_contact\":";
    if (lastContact > 0) out << lastContact; else out << "null";
    out << ",\"inbox\":" << counts.inbox << ",\"running\":" << counts.running << ",\"outbox\":" << counts.outbox
        << ",\"undeliverable\":" << counts.undeliverable << ",\"executed\":" << counts.executed
        << ",\"refused_bundle\":" << (refused ? refused->toJson() : "null") << "}";
    std::cout << out.str() << std::endl;
    return 0;
  }
  std::cout << "device        " << config->deviceId << " (enrolled with " << config->server << ")\n"
            << "trust bundle  v" << version << ", " << (expired ? "EXPIRED " : "expires ") << when(static_cast<std::int64_t>(expires)) << "\n"
            << "last contact  " << when(lastContact) << "\n"
            << "inbox         " << counts.inbox << " token(s) waiting\n"
            << "running       " << counts.running << "\n"
            << "outbox        " << counts.outbox << " result(s) to report"
            << (counts.undeliverable ? ", " + std::to_string(counts.undeliverable) + " refused by the coordinator" : "")
            << "\n"
            << "executed      " << counts.executed << std::endl;
  if (refused)
    std::cout << "refused       bundle v" << refused->version() << " (" << refused->reason() << ": " << refused->detail()
              << ") at " << when(refused->at()) << "; sha256 " << refused->sha256() << std::endl;
  return 0;
}

}  // namespace keyturn::agent
