#include "store/transaction.h"

#include <Poco/Data/Session.h>

#include "store/storage_error.h"

using namespace Poco::Data::Keywords;

namespace keyturn::server {

Transaction::Transaction(Poco::Data::Session& session, std::string beginSql)
    : session_(session), beginSql_(std::move(beginSql)) {}

Transaction::~Transaction() {
  if (!open_) return;
  try {
    session_ << "ROLLBACK", now;
  } catch (...) {
    // Nothing more to do: SQLite rolls back an open transaction when the connection
    // closes, and a failed ROLLBACK means the transaction is already gone.
  }
}

Status Transaction::begin() {
  if (open_) return Status::fail(kStorage, "transaction already begun");
  try {
    session_ << beginSql_, now;
    open_ = true;
    return Status::ok();
  } catch (const Poco::Exception& e) {
    return storageError("begin transaction", e);
  } catch (const std::exception& e) {
    return storageError("begin transaction", e);
  }
}

Status Transaction::commit() {
  if (!open_) return Status::fail(kStorage, "commit without an open transaction");
  try {
    session_ << "COMMIT", now;
    open_ = false;
    return Status::ok();
  } catch (const Poco::Exception& e) {
    return storageError("commit", e);  // the destructor rolls back
  } catch (const std::exception& e) {
    return storageError("commit", e);
  }
}

}  // namespace keyturn::server
