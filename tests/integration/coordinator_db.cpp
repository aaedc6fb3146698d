#include "coordinator_db.h"

#include <catch2/catch.hpp>

#include "keyturn/crypto_util.h"
#include "keyturn/json.h"

namespace keyturn::test {

CoordinatorDb::CoordinatorDb(const std::string& path) {
  REQUIRE(sqlite3_open(path.c_str(), &db_) == SQLITE_OK);
  sqlite3_busy_timeout(db_, 5000);
}

CoordinatorDb::~CoordinatorDb() { sqlite3_close(db_); }

std::vector<std::vector<std::string>> CoordinatorDb::rows(const std::string& sql,
                                                          const std::vector<std::string>& params) {
  sqlite3_stmt* st = nullptr;
  INFO(sql << ": " << sqlite3_errmsg(db_));
  REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  for (std::size_t i = 0; i < params.size(); ++i)
    sqlite3_bind_text(st, static_cast<int>(i + 1), params[i].c_str(), -1, SQLITE_TRANSIENT);
  std::vector<std::vector<std::string>> out;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    std::vector<std::string> row;
    for (int c = 0; c < sqlite3_column_count(st); ++c) {
      const unsigned char* text = sqlite3_column_text(st, c);
      row.emplace_back(text ? reinterpret_cast<const char*>(text) : "");
    }
    out.push_back(std::move(row));
  }
  sqlite3_finalize(st);
  INFO(sqlite3_errmsg(db_));
  REQUIRE(rc == SQLITE_DONE);
  return out;
}

std::string CoordinatorDb::run(const std::string& sql, const std::vector<std::string>& params) {
  auto all = rows(sql, params);
  return all.empty() || all.front().empty() ? "" : all.front().front();
}

std::string kidOf(const std::string& pubJsonFile) {
  auto o = json::parseObject(readFile(pubJsonFile, 1 << 16).value());
  REQUIRE(o);
  return o.value()->getValue<std::string>("kid");
}

}  // namespace keyturn::test
