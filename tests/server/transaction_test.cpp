// The scoped transaction: nothing survives unless commit() ran.
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>

#include <catch2/catch.hpp>

#include "store/transaction.h"
#include "store_fixture.h"

using namespace keyturn::server;
using namespace Poco::Data::Keywords;

TEST_CASE("a transaction that is not committed leaves nothing behind") {
  test::TempDir dir;
  Poco::Data::SQLite::Connector::registerConnector();
  Poco::Data::Session session("SQLite", dir.file("t.sqlite"));
  session << "CREATE TABLE t (x TEXT NOT NULL PRIMARY KEY)", now;
  {
    Transaction tx(session);
    REQUIRE(tx.begin().isOk());
    session << "INSERT INTO t VALUES ('lost')", now;
  }  // no commit(): rolled back here
  {
    Transaction tx(session);
    REQUIRE(tx.begin().isOk());
    session << "INSERT INTO t VALUES ('kept')", now;
    REQUIRE(tx.commit().isOk());
  }
  std::vector<std::string> rows;
  session << "SELECT x FROM t", into(rows), now;
  CHECK(rows == std::vector<std::string>{"kept"});
}

TEST_CASE("a store write whose step fails rolls back its earlier steps") {
  test::TempDir dir;
  auto store = test::openStore(dir);
  auto r = test::sampleRequest("r-1");
  // A duplicate device id makes the second target row violate its primary key after
  // the request row was already inserted in the same transaction.
  auto s = store->insertRequest(r, {"laptop-1", "laptop-1"},
                                test::sampleSignature("r-1", "requester", "alice", 1000),
                                AuditEvent{"alice", "request.submitted", "r-1", "{}"});
  REQUIRE_FALSE(s.isOk());
  CHECK(s.reason() == "conflict");
  CHECK(store->getRequest("r-1").reason() == "not_found");
  auto audit = store->listAudit(1, 10);
  REQUIRE(audit.isOk());
  CHECK(audit.value().empty());
}
