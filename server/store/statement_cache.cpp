#include "store/statement_cache.h"

#include <Poco/Data/SQLite/Utility.h>

#include <sqlite3.h>

namespace keyturn::server {
namespace {

void check(sqlite3* db, int rc, const char* what) {
  if (rc != SQLITE_OK) Poco::Data::SQLite::Utility::throwException(db, rc, what);
}

}  // namespace

void StatementCache::Finalize::operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }

CachedQuery::~CachedQuery() {
  sqlite3_reset(st_);
  sqlite3_clear_bindings(st_);
}

CachedQuery& CachedQuery::bind(const std::string& value) {
  check(db_, sqlite3_bind_text(st_, next_++, value.data(), static_cast<int>(value.size()),
                               SQLITE_TRANSIENT),
        "bind");
  return *this;
}

CachedQuery& CachedQuery::bind(std::int64_t value) {
  check(db_, sqlite3_bind_int64(st_, next_++, static_cast<sqlite3_int64>(value)), "bind");
  return *this;
}

bool CachedQuery::step() {
  const int rc = sqlite3_step(st_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  // sqlite3_step's own code is generic for a failed statement; reset() gives the
  // specific one (SQLITE_CONSTRAINT, SQLITE_BUSY, ...) with the statement's message.
  // Masked to the primary code, which is what Poco maps to its exception types.
  const int specific = sqlite3_reset(st_);
  Poco::Data::SQLite::Utility::throwException(db_, (specific != SQLITE_OK ? specific : rc) & 0xff,
                                              sqlite3_sql(st_));
  return false;
}

std::int64_t CachedQuery::execute() {
  while (step()) {
  }
  return sqlite3_changes(db_);
}

std::string CachedQuery::text(int i) const {
  const auto* p = sqlite3_column_text(st_, i);
  if (p == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<std::size_t>(sqlite3_column_bytes(st_, i)));
}

std::int64_t CachedQuery::integer(int i) const { return sqlite3_column_int64(st_, i); }

std::optional<std::string> CachedQuery::optionalText(int i) const {
  if (sqlite3_column_type(st_, i) == SQLITE_NULL) return std::nullopt;
  return text(i);
}

std::optional<std::int64_t> CachedQuery::optionalInteger(int i) const {
  if (sqlite3_column_type(st_, i) == SQLITE_NULL) return std::nullopt;
  return integer(i);
}

CachedQuery StatementCache::query(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* st = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size() + 1),
                                      SQLITE_PREPARE_PERSISTENT, &st, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(st);
      Poco::Data::SQLite::Utility::throwException(db_, rc, sql);
    }
    it = statements_.emplace(sql, std::unique_ptr<sqlite3_stmt, Finalize>(st)).first;
  }
  return CachedQuery(db_, it->second.get());
}

}  // namespace keyturn::server
