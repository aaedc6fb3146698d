// The store's prepared-statement cache: a statement compiled once gives the same rows,
// errors and transaction behaviour as Poco::Data's freshly prepared ones.
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/SQLite/SQLiteException.h>
#include <Poco/Data/SQLite/Utility.h>
#include <Poco/Data/Session.h>

#include <catch2/catch.hpp>

#include <sqlite3.h>

#include "store/statement_cache.h"
#include "store/transaction.h"
#include "store_fixture.h"

using namespace keyturn::server;
using namespace Poco::Data::Keywords;

namespace {

struct CacheDb {
  CacheDb() : session(open(dir)), db(Poco::Data::SQLite::Utility::dbHandle(session)), cache(db) {
    session << "CREATE TABLE t (k TEXT NOT NULL PRIMARY KEY, n INTEGER, note TEXT)", now;
  }
  static Poco::Data::Session open(test::TempDir& d) {
    Poco::Data::SQLite::Connector::registerConnector();
    return Poco::Data::Session("SQLite", d.file("c.sqlite"));
  }
  test::TempDir dir;
  Poco::Data::Session session;
  sqlite3* db;
  StatementCache cache;
};

const std::string kInsert = "INSERT INTO t (k, n, note) VALUES (?, ?, ?)";
const std::string kSelect = "SELECT k, n, note FROM t WHERE n >= ? ORDER BY n";

}  // namespace

TEST_CASE("a cached statement reused with new bindings reads the rows of each use") {
  CacheDb c;
  CHECK(c.cache.query(kInsert).bind("a").bind(std::int64_t{1}).bind("one").execute() == 1);
  CHECK(c.cache.query(kInsert).bind("b").bind(std::int64_t{2}).bind("two").execute() == 1);
  std::vector<std::string> keys;
  {
    auto q = c.cache.query(kSelect);
    q.bind(std::int64_t{2});
    while (q.step()) keys.push_back(q.text(0) + "=" + std::to_string(q.integer(1)) + ":" + q.text(2));
  }
  CHECK(keys == std::vector<std::string>{"b=2:two"});
  keys.clear();
  {
    auto q = c.cache.query(kSelect);
    q.bind(std::int64_t{0});
    while (q.step()) keys.push_back(q.text(0));
  }
  CHECK(keys == std::vector<std::string>{"a", "b"});
}

TEST_CASE("a cached statement reads NULL as nullopt and binary-safe text in full") {
  CacheDb c;
  c.session << "INSERT INTO t (k, n, note) VALUES ('nul', NULL, NULL)", now;
  const std::string withZero("x\0y", 3);
  c.cache.query(kInsert).bind(withZero).bind(std::int64_t{5}).bind("z").execute();
  auto q = c.cache.query("SELECT n, note FROM t WHERE k = ?");
  q.bind("nul");
  REQUIRE(q.step());
  CHECK_FALSE(q.optionalInteger(0).has_value());
  CHECK_FALSE(q.optionalText(1).has_value());
  CHECK(q.text(1).empty());
  CHECK_FALSE(q.step());
  auto k = c.cache.query("SELECT k FROM t WHERE n = 5");
  REQUIRE(k.step());
  CHECK(k.text(0) == withZero);
}

TEST_CASE("a constraint violation through a cached statement throws Poco's constraint exception") {
  CacheDb c;
  c.cache.query(kInsert).bind("dup").bind(std::int64_t{1}).bind("").execute();
  CHECK_THROWS_AS(c.cache.query(kInsert).bind("dup").bind(std::int64_t{2}).bind("").execute(),
                  Poco::Data::SQLite::ConstraintViolationException);
  // The statement is usable again after the failure.
  CHECK(c.cache.query(kInsert).bind("other").bind(std::int64_t{3}).bind("").execute() == 1);
}

TEST_CASE("bad SQL through the cache throws instead of caching a broken statement") {
  CacheDb c;
  CHECK_THROWS_AS(c.cache.query("SELECT nope FROM missing_table"), Poco::Data::SQLite::SQLiteException);
  CHECK_THROWS_AS(c.cache.query("SELECT nope FROM missing_table"), Poco::Data::SQLite::SQLiteException);
}

TEST_CASE("a cached query left before its last row is reset, holding no read open") {
  CacheDb c;
  for (int i = 0; i < 3; ++i)
    c.cache.query(kInsert).bind("k" + std::to_string(i)).bind(std::int64_t{i}).bind("").execute();
  auto busy = [&] {
    int n = 0;
    for (sqlite3_stmt* s = sqlite3_next_stmt(c.db, nullptr); s; s = sqlite3_next_stmt(c.db, s))
      n += sqlite3_stmt_busy(s) != 0;
    return n;
  };
  {
    auto q = c.cache.query(kSelect);
    q.bind(std::int64_t{0});
    REQUIRE(q.step());  // one row of three read, then the scope ends
    CHECK(busy() == 1);
  }
  CHECK(busy() == 0);
  // A cached write joins the connection's transaction: rolled back with it.
  {
    Transaction tx(c.session);
    REQUIRE(tx.begin().isOk());
    c.cache.query(kInsert).bind("rolled-back").bind(std::int64_t{9}).bind("").execute();
  }
  auto q = c.cache.query("SELECT COUNT(*) FROM t WHERE k = 'rolled-back'");
  REQUIRE(q.step());
  CHECK(q.integer(0) == 0);
}
