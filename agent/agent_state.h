// The daemon's durable state (PROTOCOL.md section 7): one SQLite database in the state
// folder, opened with synchronous=FULL, holding
//   - the inbox: tokens received from the coordinator and not yet decided,
//   - the execution journal: every accepted request id with its state (started, done)
//     and how many times it was started,
//   - the outbox: one result per request id until the coordinator acknowledges it,
//   - a few facts about the agent itself (last contact).
// Every method that changes state returns only after the change reached the disk, and
// every multi-step change is one transaction: a crash leaves either all or none of it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "keyturn/result.h"

struct sqlite3;

namespace keyturn::agent {

struct InboxToken {
  std::string key;    // hex SHA-256 of the token bytes (a token is stored once)
  std::string token;  // the bytes as received
  std::int64_t received = 0;
};

struct Execution {
  std::string requestId;
  std::string action;
  std::string paramsJson;
  std::int64_t windowEnd = 0;  // the issuer's kt.exp: no (re)start at or after it
  bool idempotent = false;
  int tries = 0;               // how many times the action was started
  std::string state;           // "started" or "done"
  std::int64_t startedAt = 0;
};

struct OutboxResult {
  std::string requestId;
  std::string state;  // succeeded | failed | interrupted
  std::optional<std::int64_t> exitCode;
  std::string output;  // at most 64 KiB (what the coordinator accepts)
  std::int64_t at = 0;
};

struct StateCounts {
  std::int64_t inbox = 0;
  std::int64_t running = 0;      // executions started and not finished
  std::int64_t outbox = 0;       // results waiting for the coordinator
  std::int64_t undeliverable = 0;  // results the coordinator refused for good
  std::int64_t executed = 0;     // executions done
};

// Process-wide SQLite settings of the daemon, to be called before any database is
// opened: no bulk page-cache allocation per connection (SQLite's default reserves about
// 20 pages per connection up front; the agent's databases are a few pages, read on
// demand). False when SQLite was already in use, which changes nothing else.
bool useSmallSqlitePageCache();

class AgentState {
 public:
  // Opens (creating) `path`. Reason "io" when it cannot be opened or migrated.
  static Result<std::unique_ptr<AgentState>> open(const std::string& path);
  ~AgentState();
  AgentState(const AgentState&) = delete;
  AgentState& operator=(const AgentState&) = delete;

  // Stores a received token; a token already in the inbox is stored once. "io" on failure.
  Status addToInbox(const std::string& token, std::int64_t now);
  // The inbox in arrival order.
  Result<std::vector<InboxToken>> inbox() const;
  Status removeFromInbox(const std::string& key);

  // The journal entry of `requestId`, if any (reason "io" on a read error).
  Result<std::optional<Execution>> execution(const std::string& requestId) const;
  // Records `e` as started (tries = 1) and removes its token from the inbox, in one
  // durable transaction. Reason "known" if the request id is already journaled.
  Status recordStarted(const Execution& e, const std::string& inboxKey);
  // Counts one more start of an interrupted idempotent execution (durable).
  Status recordRetry(const std::string& requestId);
  // Marks the execution done and queues its result, in one transaction.
  Status recordFinished(const OutboxResult& result);
  // Queues a result for a request that was not executed (a refusal, an interrupted
  // script) and removes `inboxKey` (if not empty) in the same transaction. A request
  // that already has a result keeps the first one.
  Status recordResult(const OutboxResult& result, const std::string& inboxKey);
  // Executions left "started" by a crash, oldest first.
  Result<std::vector<Execution>> unfinished() const;

  // Up to `limit` results not yet acknowledged, oldest first.
  Result<std::vector<OutboxResult>> pendingResults(std::size_t limit) const;
  // The coordinator acknowledged (recorded or already had) these results.
  Status acknowledge(const std::vector<std::string>& requestIds, std::int64_t now);
  // The coordinator refused this result for good (4xx); it is kept, not sent again.
  Status markUndeliverable(const std::string& requestId, const std::string& why);

  Status setMeta(const std::string& key, const std::string& value);
  std::optional<std::string> meta(const std::string& key) const;
  Result<StateCounts> counts() const;

 private:
  explicit AgentState(sqlite3* db) : db_(db) {}
  Status exec(const char* sql);
  sqlite3* db_;
};

}  // namespace keyturn::agent
