// `keyturn-agent run [--config FILE] [--log-format text|json]`: the daemon in the
// foreground (systemd runs it). SIGTERM and SIGINT stop it cleanly: a held poll is cut,
// an action in progress finishes and is recorded, then the process exits 0. Startup
// failures exit 78 with the reason on stderr, like the coordinator.
#include <signal.h>

#include <atomic>
#include <iostream>

#include "agent_config.h"
#include "agent_daemon.h"
#include "agent_log.h"
#include "agent_state.h"
#include "command_args.h"
#include "commands.h"

namespace keyturn::agent {

using tools::ArgSpec;
using tools::CommandArgs;
using tools::usageError;

namespace {

constexpr int kExitConfig = 78;
std::atomic<AgentDaemon*> gDaemon{nullptr};

void onTerminate(int) {
  if (AgentDaemon* d = gDaemon.load()) d->requestStop();
}

}  // namespace

int runCommand(int argc, char** argv) {
  auto args = CommandArgs::parse(argc, argv, 2, ArgSpec{{"config", "log-format"}, {}, {}});
  if (!args) return usageError(args.error());
  auto config = readAgentConfig(args->get("config").value_or(kDefaultConfigPath));
  if (!config) {
    std::cerr << "keyturn-agent run: " << config.detail() << std::endl;
    return kExitConfig;
  }
  std::string format = args->get("log-format").value_or(config->logFormat);
  if (format != "text" && format != "json") return usageError(Error{"usage", "--log-format must be text or json"});
  AgentLog log(std::cerr, format == "json");
  useSmallSqlitePageCache();  // before the daemon opens its databases (idle memory)
  AgentDaemon daemon(config.value(), log);
  gDaemon.store(&daemon);
  struct sigaction sa {};
  sa.sa_handler = onTerminate;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  if (Status s = daemon.start(); !s) {
    log.error("agent cannot start", {LogField::str("reason", s.reason()), LogField::str("detail", s.detail())});
    gDaemon.store(nullptr);
    return kExitConfig;
  }
  daemon.run();
  gDaemon.store(nullptr);
  return 0;
}

}  // namespace keyturn::agent
