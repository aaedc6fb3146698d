// The agent's side of PROTOCOL.md sections 5 and 7: each received token goes through the
// same TokenGate as `keyturn-agent verify`, and an accepted one is journaled as started,
// durably, before its plugin runs. Every outcome, refusals included, goes to the outbox.
//
// Exactly once:
//   - a token whose request id is already journaled (the coordinator re-sends a
//     delivered token that has no result yet) is known: never run again, never reported
//     as a failure, its outcome is or will be in the outbox;
//   - an id consumed on this device outside the daemon (`verify --consume`) is refused
//     by the gate as `replayed` and dropped with a log line, for the same reason;
//   - after a crash, recover() resumes an idempotent action (at most 3 starts in all,
//     only before the issuer's kt.exp) and reports a non-idempotent one `interrupted`;
//   - what an action needs from the coordinator (an app.install's artifact) is fetched
//     before the token is journaled: while the coordinator cannot serve it, the token
//     waits in the inbox (kDeferred) until its window closes, then it is reported
//     failed with artifact_unavailable.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "action_runner.h"
#include "agent_log.h"
#include "agent_state.h"
#include "keyturn/bundle_verifier.h"
#include "keyturn/replay_journal.h"

namespace keyturn::agent {

constexpr int kMaxTries = 3;
constexpr std::size_t kMaxResultOutput = 64 * 1024;

class TokenProcessor {
 public:
  using Clock = std::function<std::int64_t()>;
  enum class Verdict { kExecuted, kKnown, kRefused, kDeferred, kDropped };

  // Borrows everything; all must outlive the processor.
  TokenProcessor(AgentState& state, ReplayJournal& journal, ActionRunner& runner, AgentLog& log, Clock clock);

  // Finishes the executions a crash left started. Fails "io" when the state cannot be
  // read or written (the rest is retried at the next call).
  Status recover();

  // Decides every inbox token, in arrival order, against `bundle` and this device's
  // `facts`; runs the accepted ones. Tokens that may pass later (not_yet_valid,
  // bundle_stale while their window is open) stay in the inbox. Fails "io" at the first
  // storage failure, leaving the undecided tokens in the inbox; and "policy_unavailable"
  // after deciding the rest when the policy worker could not be started for a token
  // whose action a policy matches (that token stays in the inbox).
  Status processInbox(const AcceptedBundle& bundle, const DeviceFacts& facts);

  // One token (exposed for tests).
  Result<Verdict> process(const InboxToken& token, const AcceptedBundle& bundle, const DeviceFacts& facts);

 private:
  Status runAndRecord(const Execution& e);
  Status storeResult(const OutboxResult& r, const std::string& inboxKey);
  Status flushUnrecorded();

  AgentState& state_;
  ReplayJournal& journal_;
  ActionRunner& runner_;
  AgentLog& log_;
  Clock clock_;
  std::set<std::string> deferredLogged_;
  std::map<std::string, std::string> waiting_;  // inbox key -> why its action cannot start yet
  std::vector<OutboxResult> unrecorded_;  // finished, but the disk refused the result
};

// The result of a finished plugin run, its output made valid UTF-8 and capped.
OutboxResult resultOf(const std::string& requestId, const plugin::Outcome& outcome, std::int64_t at);
// A failed result explaining why the agent did not run the action.
OutboxResult refusalOf(const std::string& requestId, const std::string& reason, const std::string& detail,
                       std::int64_t at);
// `text` with invalid UTF-8 replaced by U+FFFD, cut (on a character boundary) to `cap` bytes.
std::string boundedUtf8(const std::string& text, std::size_t cap);

}  // namespace keyturn::agent
