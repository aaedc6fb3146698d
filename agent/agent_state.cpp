#include "agent_state.h"

#include <sqlite3.h>

#include "keyturn/crypto_util.h"
#include "sqlite_statement.h"

namespace keyturn::agent {
namespace {

// Version 1 of the schema. WAL with synchronous=FULL: a commit is on the disk when it
// returns, which is what "journaled as started, durably" needs.
constexpr const char* kSchema =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS inbox ("
    "  key TEXT PRIMARY KEY, token TEXT NOT NULL, received INTEGER NOT NULL,"
    "  seq INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS executions ("
    "  request_id TEXT PRIMARY KEY, action TEXT NOT NULL, params TEXT NOT NULL,"
    "  window_end INTEGER NOT NULL, idempotent INTEGER NOT NULL, tries INTEGER NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN ('started','done')),"
    "  started_at INTEGER NOT NULL, finished_at INTEGER);"
    "CREATE TABLE IF NOT EXISTS outbox ("
    "  request_id TEXT PRIMARY KEY, state TEXT NOT NULL, exit_code INTEGER, output TEXT NOT NULL,"
    "  at INTEGER NOT NULL, seq INTEGER NOT NULL,"
    "  acked_at INTEGER, undeliverable TEXT);"
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);";

// A real execution's outcome replaces a refusal stored for the same id (a forged token
// refused earlier must not hide what the genuine one did).
constexpr const char* kUpsertResult =
    "INSERT INTO outbox (request_id, state, exit_code, output, at, seq) "
    "VALUES (?1, ?2, ?3, ?4, ?5, (SELECT COALESCE(MAX(seq), 0) + 1 FROM outbox)) "
    "ON CONFLICT(request_id) DO UPDATE SET state = ?2, exit_code = ?3, output = ?4, at = ?5, "
    "acked_at = NULL, undeliverable = NULL";

constexpr const char* kInsertResult =
    "INSERT OR IGNORE INTO outbox (request_id, state, exit_code, output, at, seq) "
    "VALUES (?1, ?2, ?3, ?4, ?5, (SELECT COALESCE(MAX(seq), 0) + 1 FROM outbox))";

Execution readExecution(const SqliteStatement& s) {
  Execution e;
  e.requestId = s.text(0);
  e.action = s.text(1);
  e.paramsJson = s.text(2);
  e.windowEnd = s.integer(3);
  e.idempotent = s.integer(4) != 0;
  e.tries = static_cast<int>(s.integer(5));
  e.state = s.text(6);
  e.startedAt = s.integer(7);
  return e;
}

constexpr const char* kExecutionColumns =
    "SELECT request_id, action, params, window_end, idempotent, tries, state, started_at FROM executions ";

}  // namespace

bool useSmallSqlitePageCache() {
  // pMem NULL and N = 0: pages come from sqlite3_malloc one by one, as they are read.
  return sqlite3_config(SQLITE_CONFIG_PAGECACHE, nullptr, 0, 0) == SQLITE_OK;
}

Result<std::unique_ptr<AgentState>> AgentState::open(const std::string& path) {
  using R = Result<std::unique_ptr<AgentState>>;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return R::fail("io", "cannot open agent state " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db, 5000);
  std::unique_ptr<AgentState> state(new AgentState(db));
  if (Status s = state->exec(kSchema); !s) return R::fail("io", "cannot prepare agent state " + path + ": " + s.detail());
  return state;
}

AgentState::~AgentState() { sqlite3_close(db_); }

Status AgentState::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) == SQLITE_OK) return Status::ok();
  std::string msg = err ? err : sqlite3_errmsg(db_);
  sqlite3_free(err);
  return Status::fail("io", msg);
}

Status AgentState::addToInbox(const std::string& token, std::int64_t now) {
  SqliteStatement s(db_,
                    "INSERT OR IGNORE INTO inbox (key, token, received, seq) VALUES (?1, ?2, ?3, "
                    "(SELECT COALESCE(MAX(seq), 0) + 1 FROM inbox))");
  s.bind(1, toHex(sha256(token))).bind(2, token).bind(3, now);
  return s.run("cannot store a received token");
}

Result<std::vector<InboxToken>> AgentState::inbox() const {
  SqliteStatement s(db_, "SELECT key, token, received FROM inbox ORDER BY seq");
  std::vector<InboxToken> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(InboxToken{s.text(0), s.text(1), s.integer(2)});
  if (rc != SQLITE_DONE) return s.failure("cannot read the inbox").error();
  return out;
}

Status AgentState::removeFromInbox(const std::string& key) {
  SqliteStatement s(db_, "DELETE FROM inbox WHERE key = ?1");
  s.bind(1, key);
  return s.run("cannot remove a token from the inbox");
}

Result<std::optional<Execution>> AgentState::execution(const std::string& requestId) const {
  SqliteStatement s(db_, (std::string(kExecutionColumns) + "WHERE request_id = ?1").c_str());
  s.bind(1, requestId);
  int rc = s.step();
  if (rc == SQLITE_ROW) return std::optional<Execution>(readExecution(s));
  if (rc == SQLITE_DONE) return std::optional<Execution>();
  return s.failure("cannot read the execution journal").error();
}

Status AgentState::recordStarted(const Execution& e, const std::string& inboxKey) {
  SqliteTransaction tx(db_);
  SqliteStatement insert(db_,
                         "INSERT INTO executions (request_id, action, params, window_end, idempotent, tries, "
                         "state, started_at) VALUES (?1, ?2, ?3, ?4, ?5, 1, 'started', ?6)");
  insert.bind(1, e.requestId).bind(2, e.action).bind(3, e.paramsJson).bind(4, e.windowEnd);
  insert.bind(5, static_cast<std::int64_t>(e.idempotent ? 1 : 0)).bind(6, e.startedAt);
  if (insert.step() != SQLITE_DONE) {
    if (sqlite3_extended_errcode(db_) == SQLITE_CONSTRAINT_PRIMARYKEY)
      return Status::fail("known", "request " + e.requestId + " is already in the execution journal");
    return insert.failure("cannot journal request " + e.requestId + " as started");
  }
  if (!inboxKey.empty()) {
    SqliteStatement remove(db_, "DELETE FROM inbox WHERE key = ?1");
    remove.bind(1, inboxKey);
    if (Status s = remove.run("cannot remove a token from the inbox"); !s) return s;
  }
  return tx.commit();
}

Status AgentState::recordRetry(const std::string& requestId) {
  SqliteStatement s(db_, "UPDATE executions SET tries = tries + 1 WHERE request_id = ?1 AND state = 'started'");
  s.bind(1, requestId);
  return s.run("cannot journal a retry of " + requestId);
}

Status AgentState::recordFinished(const OutboxResult& r) {
  SqliteTransaction tx(db_);
  SqliteStatement done(db_, "UPDATE executions SET state = 'done', finished_at = ?2 WHERE request_id = ?1");
  done.bind(1, r.requestId).bind(2, r.at);
  if (Status s = done.run("cannot journal request " + r.requestId + " as done"); !s) return s;
  SqliteStatement insert(db_, kUpsertResult);
  insert.bind(1, r.requestId).bind(2, r.state).bind(3, r.exitCode).bind(4, r.output).bind(5, r.at);
  if (Status s = insert.run("cannot queue the result of " + r.requestId); !s) return s;
  return tx.commit();
}

Status AgentState::recordResult(const OutboxResult& r, const std::string& inboxKey) {
  SqliteTransaction tx(db_);
  SqliteStatement insert(db_, kInsertResult);
  insert.bind(1, r.requestId).bind(2, r.state).bind(3, r.exitCode).bind(4, r.output).bind(5, r.at);
  if (Status s = insert.run("cannot queue the result of " + r.requestId); !s) return s;
  if (!inboxKey.empty()) {
    SqliteStatement remove(db_, "DELETE FROM inbox WHERE key = ?1");
    remove.bind(1, inboxKey);
    if (Status s = remove.run("cannot remove a token from the inbox"); !s) return s;
  }
  return tx.commit();
}

Result<std::vector<Execution>> AgentState::unfinished() const {
  SqliteStatement s(db_, (std::string(kExecutionColumns) + "WHERE state = 'started' ORDER BY started_at").c_str());
  std::vector<Execution> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(readExecution(s));
  if (rc != SQLITE_DONE) return s.failure("cannot read the execution journal").error();
  return out;
}

Result<std::vector<OutboxResult>> AgentState::pendingResults(std::size_t limit) const {
  SqliteStatement s(db_,
                    "SELECT request_id, state, exit_code, output, at FROM outbox "
                    "WHERE acked_at IS NULL AND undeliverable IS NULL ORDER BY seq LIMIT ?1");
  s.bind(1, static_cast<std::int64_t>(limit));
  std::vector<OutboxResult> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    OutboxResult r{s.text(0), s.text(1), std::nullopt, s.text(3), s.integer(4)};
    if (!s.isNull(2)) r.exitCode = s.integer(2);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return s.failure("cannot read the outbox").error();
  return out;
}

Status AgentState::acknowledge(const std::vector<std::string>& requestIds, std::int64_t now) {
  SqliteTransaction tx(db_);
  for (const auto& id : requestIds) {
    SqliteStatement s(db_, "UPDATE outbox SET acked_at = ?2 WHERE request_id = ?1");
    s.bind(1, id).bind(2, now);
    if (Status st = s.run("cannot mark the result of " + id + " as acknowledged"); !st) return st;
  }
  return tx.commit();
}

Status AgentState::markUndeliverable(const std::string& requestId, const std::string& why) {
  SqliteStatement s(db_, "UPDATE outbox SET undeliverable = ?2 WHERE request_id = ?1");
  s.bind(1, requestId).bind(2, why);
  return s.run("cannot mark the result of " + requestId + " as undeliverable");
}

Status AgentState::setMeta(const std::string& key, const std::string& value) {
  SqliteStatement s(db_, "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2");
  s.bind(1, key).bind(2, value);
  return s.run("cannot record " + key);
}

std::optional<std::string> AgentState::meta(const std::string& key) const {
  SqliteStatement s(db_, "SELECT value FROM meta WHERE key = ?1");
  s.bind(1, key);
  if (s.step() == SQLITE_ROW) return s.text(0);
  return std::nullopt;
}

Result<StateCounts> AgentState::counts() const {
  SqliteStatement s(db_,
                    "SELECT (SELECT COUNT(*) FROM inbox),"
                    " (SELECT COUNT(*) FROM executions WHERE state = 'started'),"
                    " (SELECT COUNT(*) FROM outbox WHERE acked_at IS NULL AND undeliverable IS NULL),"
                    " (SELECT COUNT(*) FROM outbox WHERE undeliverable IS NOT NULL),"
                    " (SELECT COUNT(*) FROM executions WHERE state = 'done')");
  if (s.step() != SQLITE_ROW) return s.failure("cannot count the agent state").error();
  return StateCounts{s.integer(0), s.integer(1), s.integer(2), s.integer(3), s.integer(4)};
}

}  // namespace keyturn::agent
