// A scoped database transaction that rolls back unless commit() ran.
#pragma once

#include <Poco/Data/Session.h>

#include <string>

#include "keyturn/result.h"

namespace keyturn::server {

class Transaction {
 public:
  // Does not begin yet: call begin() and check its Status. `beginSql` is the dialect's
  // statement; SQLite uses BEGIN IMMEDIATE so the write lock is taken up front and a
  // busy database fails at begin() (after the busy timeout) instead of mid-way.
  explicit Transaction(Poco::Data::Session& session, std::string beginSql = "BEGIN IMMEDIATE");
  // Rolls back if begun and not committed; never throws.
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // Begins; reason "storage" if the database refuses (locked, read-only, I/O).
  Status begin();
  // Commits; on failure the transaction is rolled back and "storage" returned. With
  // synchronous=FULL a successful commit is on disk when this returns.
  Status commit();

 private:
  Poco::Data::Session& session_;
  std::string beginSql_;
  bool open_ = false;
};

}  // namespace keyturn::server
