// The scoped transaction: nothing survives unless commit() ran.
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>

#include <catch2/catch.hpp>

#include <thread>
#include <vector>

#include "store/audit_log.h"
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

// Group commit: concurrent durable writes share a transaction, each in its own savepoint.
// Every write acknowledged ok must be stored, every refused one must leave nothing (not
// even its audit entry), and the audit chain must stay whole across the group.
TEST_CASE("concurrent writes committed together keep each acknowledged write and drop each "
          "refused one") {
  test::TempDir dir;
  auto store = test::openStore(dir);
  constexpr int kThreads = 8, kPerThread = 25;
  std::vector<std::vector<keyturn::Status>> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string id = "r-" + std::to_string(t) + "-" + std::to_string(i);
        // Odd threads submit a second request on the same target set as their previous
        // one, which the store refuses (one pending request per action and targets);
        // even threads use a target set of their own each time.
        std::string root = (t % 2 == 1 && i % 2 == 1)
                               ? "root-" + std::to_string(t) + "-" + std::to_string(i - 1)
                               : "root-" + std::to_string(t) + "-" + std::to_string(i);
        results[t].push_back(store->insertRequest(
            test::sampleRequest(id, root), {"laptop-" + std::to_string(t)},
            test::sampleSignature(id, "requester", "alice", 1000),
            AuditEvent{"alice", "request.submitted", id, "{}"}));
      }
    });
  for (auto& th : threads) th.join();
  int stored = 0;
  for (int t = 0; t < kThreads; ++t)
    for (int i = 0; i < kPerThread; ++i) {
      std::string id = "r-" + std::to_string(t) + "-" + std::to_string(i);
      const keyturn::Status& s = results[t][static_cast<std::size_t>(i)];
      INFO(id << ": " << (s ? std::string("ok") : s.reason() + " " + s.detail()));
      bool refusedTwin = t % 2 == 1 && i % 2 == 1;
      if (refusedTwin) {
        CHECK(s.reason() == "conflict");
        CHECK(store->getRequest(id).reason() == "not_found");
      } else {
        REQUIRE(s.isOk());
        CHECK(store->getRequest(id).isOk());
        ++stored;
      }
    }
  auto report = AuditLog(*store).verify();
  REQUIRE(report.isOk());
  CHECK(report->ok());
  CHECK(report->entries == static_cast<std::int64_t>(stored));  // refused ones left none
}
