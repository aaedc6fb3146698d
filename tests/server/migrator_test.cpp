// The schema migrations: empty database to latest, idempotence, the statement splitter.
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "store/migrator.h"
#include "store_fixture.h"

using namespace keyturn::server;
using namespace Poco::Data::Keywords;

namespace {

Poco::Data::Session rawSession(const std::string& path) {
  Poco::Data::SQLite::Connector::registerConnector();
  return Poco::Data::Session("SQLite", path);
}

int tableCount(Poco::Data::Session& s) {
  int n = 0;
  s << "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'", into(n), now;
  return n;
}

}  // namespace

TEST_CASE("migrating an empty database reaches the latest version and re-running is a no-op") {
  test::TempDir dir;
  auto session = rawSession(dir.file("m.sqlite"));
  Migrator migrator("sqlite");
  REQUIRE(migrator.latestVersion() >= 2);

  auto first = migrator.migrate(session);
  REQUIRE(first.isOk());
  CHECK(first.value() == migrator.latestVersion());
  const int tables = tableCount(session);
  CHECK(tables == 14);  // schema_version + the 10 tables of 001_init.sql + the 2 of 003 + artifacts (005); 004 and 006 are indexes, 007 a column

  int rows = 0;
  session << "SELECT COUNT(*) FROM schema_version", into(rows), now;
  CHECK(rows == 7);
  // 004's indexes for the paginated listings and the outbox retention.
  int indexes = 0;
  session << "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name IN"
             " ('requests_by_created', 'audit_by_event', 'audit_by_actor', 'audit_by_at',"
             " 'notification_deliveries_by_age', 'notification_deliveries_by_event')",
      into(indexes), now;
  CHECK(indexes == 6);
  // 006: the duplicate-pending check of a submission is answered by the index, state
  // included, instead of walking every past request on the same targets.
  std::vector<std::string> columns;
  session << "SELECT name FROM pragma_index_info('requests_by_target_set') ORDER BY seqno",
      into(columns), now;
  CHECK(columns == std::vector<std::string>{"tenant", "action", "target_root", "state"});
  // 007: the libraries each agent reported.
  int librariesColumn = 0;
  session << "SELECT COUNT(*) FROM pragma_table_info('devices') WHERE name = 'agent_libraries'",
      into(librariesColumn), now;
  CHECK(librariesColumn == 1);

  auto second = migrator.migrate(session);
  REQUIRE(second.isOk());
  CHECK(second.value() == first.value());
  session << "SELECT COUNT(*) FROM schema_version", into(rows), now;
  CHECK(rows == 7);
  CHECK(tableCount(session) == tables);
}

TEST_CASE("dialect-specific migrations apply only to their dialect") {
  test::TempDir dir;
  auto session = rawSession(dir.file("m.sqlite"));
  auto reached = Migrator("postgres-not-here").migrate(session);
  REQUIRE(reached.isOk());
  CHECK(reached.value() == 7);  // the .sqlite trigger file (002) is skipped, 003 to 007 apply
  int triggers = -1;
  session << "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger'", into(triggers), now;
  CHECK(triggers == 0);
}

TEST_CASE("a failing migration leaves the database at the last complete version") {
  test::TempDir dir;
  auto session = rawSession(dir.file("m.sqlite"));
  std::vector<Migration> migrations = {
      {1, "001_ok.sql", "", "CREATE TABLE a (x TEXT NOT NULL PRIMARY KEY);"},
      {2, "002_bad.sql", "", "CREATE TABLE b (y TEXT); INSERT INTO nowhere VALUES (1);"},
  };
  auto reached = Migrator("sqlite", migrations).migrate(session);
  REQUIRE_FALSE(reached.isOk());
  CHECK(reached.reason() == "storage");
  CHECK_THAT(reached.detail(), Catch::Contains("002_bad.sql"));
  auto version = Migrator::currentVersion(session);
  REQUIRE(version.isOk());
  CHECK(version.value() == 1);
  int b = -1;
  session << "SELECT COUNT(*) FROM sqlite_master WHERE name = 'b'", into(b), now;
  CHECK(b == 0);  // the half-applied file was rolled back
}

TEST_CASE("the statement splitter keeps trigger bodies, quotes and comments intact") {
  auto parts = Migrator::splitStatements(
      "-- a comment; with a semicolon\n"
      "CREATE TABLE t (x TEXT DEFAULT 'a;b');\n"
      "CREATE TRIGGER g BEFORE DELETE ON t\nBEGIN\n  SELECT RAISE(ABORT, 'no');\nEND;\n"
      "-- trailing comment\n");
  REQUIRE(parts.size() == 2);
  CHECK_THAT(parts[0], Catch::EndsWith("DEFAULT 'a;b')"));
  CHECK_THAT(parts[1], Catch::StartsWith("CREATE TRIGGER") && Catch::EndsWith("END"));
}
