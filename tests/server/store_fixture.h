// Shared helpers of the store tests: a temporary folder per test and sample rows.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "store/records.h"
#include "store/sqlite_store.h"

namespace keyturn::server::test {

// A fresh folder under the system temp dir, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Opens (and migrates) a store in `dir`; fails the test if it cannot.
std::unique_ptr<SqliteStore> openStore(const TempDir& dir);

// A request in needs_approval with the given id, requester alice, created at 1000.
RequestRecord sampleRequest(const std::string& id, const std::string& root = "root-1");
SignatureRecord sampleSignature(const std::string& requestId, const std::string& role,
                                const std::string& principal, std::int64_t at);

// Runs one SQL statement on the database file through a separate connection, the way
// an attacker with file access (or a test) would.
void rawSql(const std::string& dbPath, const std::string& sql);

}  // namespace keyturn::server::test
