// Prepared SQLite statements kept for the connection's lifetime. Poco::Data compiles
// every Statement anew (about a fifth of a request lifecycle's CPU, docs/performance.md);
// the store's hot statements — the workflow's reads and writes, the session lookup, the
// audit append — are compiled once here and reused, on the raw handle of the same
// connection (Poco::Data::SQLite::Utility::dbHandle), so they join its transactions.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

struct sqlite3;
struct sqlite3_stmt;

namespace keyturn::server {

// One use of a cached statement: bind parameters in order, step through the rows, read
// columns by index. Leaving scope resets the statement and clears its bindings, so no
// read is left open. Every SQLite error throws the Poco::Data::SQLite exception Poco
// itself would throw (ConstraintViolationException for a constraint), so the store's
// write()/read() map it the same way.
class CachedQuery {
 public:
  CachedQuery(sqlite3* db, sqlite3_stmt* statement) : db_(db), st_(statement) {}
  ~CachedQuery();
  CachedQuery(const CachedQuery&) = delete;
  CachedQuery& operator=(const CachedQuery&) = delete;

  CachedQuery& bind(const std::string& value);
  CachedQuery& bind(std::int64_t value);
  // True when a row is ready to read; false when the statement is done.
  bool step();
  // Runs the statement to its end; returns the rows it changed (sqlite3_changes).
  std::int64_t execute();

  // The current row's column `i` (0-based); NULL reads as empty / 0 / nullopt.
  std::string text(int i) const;
  std::int64_t integer(int i) const;
  std::optional<std::string> optionalText(int i) const;
  std::optional<std::int64_t> optionalInteger(int i) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* st_;
  int next_ = 1;
};

// The statements of one connection, keyed by their SQL text. Not thread-safe: the store
// uses it under its connection mutex. Destroy it before the connection closes.
class StatementCache {
 public:
  explicit StatementCache(sqlite3* db) : db_(db) {}
  // Compiles `sql` on first use (throws the Poco exception for bad SQL).
  CachedQuery query(const std::string& sql);

 private:
  struct Finalize {
    void operator()(sqlite3_stmt* s) const;
  };
  sqlite3* db_;
  std::unordered_map<std::string, std::unique_ptr<sqlite3_stmt, Finalize>> statements_;
};

}  // namespace keyturn::server
