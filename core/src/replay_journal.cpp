#include "keyturn/replay_journal.h"

#include <sqlite3.h>

namespace keyturn {
namespace {

struct StmtFinalize {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

Stmt prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) return Stmt();
  return Stmt(s);
}

constexpr const char* kSchema =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS consumed ("
    "  request_id TEXT PRIMARY KEY,"
    "  action TEXT NOT NULL,"
    "  consumed_at INTEGER NOT NULL);";

}  // namespace

Result<std::unique_ptr<ReplayJournal>> ReplayJournal::open(const std::string& path) {
  using R = Result<std::unique_ptr<ReplayJournal>>;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return R::fail("io", "cannot open replay journal " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db, 5000);
  char* err = nullptr;
  if (sqlite3_exec(db, kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    sqlite3_close(db);
    return R::fail("io", "cannot prepare replay journal " + path + ": " + msg);
  }
  return std::unique_ptr<ReplayJournal>(new ReplayJournal(db));
}

ReplayJournal::~ReplayJournal() { sqlite3_close(db_); }

bool ReplayJournal::isConsumed(const std::string& id) const {
  Stmt s = prepare(db_, "SELECT 1 FROM consumed WHERE request_id = ?1");
  if (!s) return true;
  sqlite3_bind_text(s.get(), 1, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
  int rc = sqlite3_step(s.get());
  if (rc == SQLITE_ROW) return true;
  return rc != SQLITE_DONE;  // an error reads as consumed: fail closed
}

Status ReplayJournal::consume(const std::string& id, const std::string& action, std::int64_t now) {
  Stmt s = prepare(db_, "INSERT INTO consumed (request_id, action, consumed_at) VALUES (?1, ?2, ?3)");
  if (!s) return Status::fail("io", std::string("replay journal: ") + sqlite3_errmsg(db_));
  sqlite3_bind_text(s.get(), 1, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(s.get(), 2, action.data(), static_cast<int>(action.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(s.get(), 3, now);
  int rc = sqlite3_step(s.get());
  if (rc == SQLITE_DONE) return Status::ok();
  if (sqlite3_extended_errcode(db_) == SQLITE_CONSTRAINT_PRIMARYKEY)
    return Status::fail("replayed", "request " + id + " was already consumed on this device");
  return Status::fail("io", std::string("replay journal: ") + sqlite3_errmsg(db_));
}

}  // namespace keyturn
