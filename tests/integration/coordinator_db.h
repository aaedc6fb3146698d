// The coordinator's SQLite database opened directly: by an attacker who holds the data
// folder (security_test.cpp, drill_test.cpp), or by a test that counts what the
// coordinator recorded (crash_test.cpp). Not the coordinator's store: plain SQL.
#pragma once

#include <sqlite3.h>

#include <string>
#include <vector>

namespace keyturn::test {

class CoordinatorDb {
 public:
  // Opens `path` (the data folder's keyturn.db); REQUIREs success.
  explicit CoordinatorDb(const std::string& path);
  ~CoordinatorDb();
  CoordinatorDb(const CoordinatorDb&) = delete;
  CoordinatorDb& operator=(const CoordinatorDb&) = delete;

  // Runs `sql` with text parameters ?1, ?2, ...; returns the first column of the first
  // row ("" when none). REQUIREs success.
  std::string run(const std::string& sql, const std::vector<std::string>& params = {});
  // Every row's columns as text (NULL as ""); REQUIREs success.
  std::vector<std::vector<std::string>> rows(const std::string& sql, const std::vector<std::string>& params = {});

 private:
  sqlite3* db_ = nullptr;
};

// The `kid` of a public key file written by `keyturn key new` (NAME.pub.json).
std::string kidOf(const std::string& pubJsonFile);

}  // namespace keyturn::test
