// `keyturn-agent run`: the daemon's loop. It long-polls the coordinator for tokens over
// mutual TLS (one keep-alive connection), applies bundle updates in order before it runs
// a token that may need them, decides and runs tokens through the TokenProcessor and
// reports results from the outbox until they are acknowledged. Errors of the network or
// of the coordinator pause it with exponential backoff and jitter; it keeps running, and
// tokens already received still run while the coordinator is away.
//
// The loop runs on the calling thread; requestStop() is async-signal-safe, so a SIGTERM
// handler stops it (a held poll is cut at once, a running action finishes first).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "action_runner.h"
#include "agent_config.h"
#include "agent_log.h"
#include "agent_state.h"
#include "coordinator_client.h"
#include "device_facts.h"
#include "keyturn/replay_journal.h"
#include "keyturn/trust_store.h"
#include "refused_bundle.h"
#include "token_processor.h"

namespace keyturn::plugin {
class PluginHost;
class Platform;
}  // namespace keyturn::plugin

namespace keyturn::agent {

class ArtifactFetcher;

class AgentDaemon {
 public:
  AgentDaemon(AgentConfig config, AgentLog& log);
  ~AgentDaemon();
  AgentDaemon(const AgentDaemon&) = delete;
  AgentDaemon& operator=(const AgentDaemon&) = delete;

  // Opens the state, re-verifies the stored trust bundle (a bundle that no longer
  // verifies stops the agent: reason of the bundle check), loads the plugins
  // ("plugin_rejected", "bad_config") and finishes what a crash interrupted.
  Status start();
  // Runs until requestStop(). Call after a successful start().
  void run();
  // Async-signal-safe.
  void requestStop();

 private:
  bool cycle();            // one poll and what follows; false on a network/coordinator error
  bool syncBundles();      // false when the chain could not be fetched
  bool reportResults();    // false when results could not be delivered
  bool sendFacts();
  void decideTokens();
  void noteContact();
  void rememberRefusal(const std::string& bytes, const std::string& sha256Hex, const Error& why);
  void forgetRefusal();
  void pause(std::int64_t milliseconds);
  void releaseFreedMemory();  // malloc_trim after work (startup, connection, tokens)
  std::int64_t backoffMillis(int failures);

  AgentConfig config_;
  AgentLog& log_;
  DetectedFacts detected_;
  DeviceFacts facts_;
  std::unique_ptr<TrustStore> trust_;
  std::optional<AcceptedBundle> bundle_;
  std::optional<RefusedBundle> refused_;  // the last update refused, not re-verified each poll
  std::unique_ptr<AgentState> state_;
  std::unique_ptr<ReplayJournal> journal_;
  std::unique_ptr<plugin::Platform> platform_;
  std::unique_ptr<plugin::PluginHost> host_;
  std::unique_ptr<ArtifactFetcher> fetcher_;
  std::unique_ptr<ActionRunner> runner_;
  std::unique_ptr<TokenProcessor> processor_;
  std::unique_ptr<CoordinatorClient> client_;
  std::string etag_;
  bool needBundles_ = true;
  bool needFacts_ = true;
  bool worked_ = false;  // something since the last releaseFreedMemory() allocated and freed
  std::int64_t lastContactWritten_ = 0;
  std::atomic<bool> stop_{false};
  int wake_[2] = {-1, -1};
};

}  // namespace keyturn::agent
