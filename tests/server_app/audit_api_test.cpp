// The audit log over HTTP: pages with the server's chain verdict, and an export
// that the offline verifier (`keyturn audit verify --file`) accepts; role
// audit.read only.
#include <sqlite3.h>

#include <catch2/catch.hpp>

#include "api_server.h"
#include "keyturn/crypto_util.h"
#include "store/audit_log.h"

using namespace keyturn;
using namespace keyturn::test;

TEST_CASE("audit: pages with next, the chain verdict ok, and an export that "
          "verifies offline",
          "[api][audit]") {
  ApiServer server;
  server.enroll("laptop-17"); // a few more entries: code, enrollment
  auto page = parseBody(server.sendAs(server.aliceSession, "GET",
                                      "/api/v1/audit?from=1&limit=2"));
  CHECK(page->getValue<std::string>("chain") == "ok");
  auto entries = page->getArray("entries");
  REQUIRE(entries->size() == 2);
  CHECK(entries->getObject(0)->getValue<Poco::Int64>("seq") == 1);
  CHECK(page->getValue<Poco::Int64>("next") == 3);
  CHECK(entries->getObject(1)->getValue<std::string>("prev_hash") ==
        entries->getObject(0)->getValue<std::string>("hash"));

  HttpReply exported =
      server.sendAs(server.aliceSession, "GET", "/api/v1/audit/export");
  REQUIRE(exported.status == 200);
  CHECK(exported.contentType == "application/x-ndjson");
  std::string file = server.tmp / "audit.jsonl";
  REQUIRE(writeFileAtomic(file, exported.body, 0600).empty());
  auto report = server::AuditLog::verifyJsonLinesFile(file);
  REQUIRE(report);
  CHECK(report->ok());
  CHECK(report->entries >= 4); // login, code, enrollment, ...
  CHECK_THAT(exported.body, Catch::Contains("\"event\":\"login\""));
  CHECK_THAT(exported.body, Catch::Contains("\"event\":\"device.enrolled\""));
}

TEST_CASE("audit: a principal without audit.read is refused", "[api][audit]") {
  ApiServer server;
  std::string carol = server.login("carol", testKey(3));
  HttpReply r = server.sendAs(carol, "GET", "/api/v1/audit");
  CHECK(r.status == 403);
  CHECK(parseBody(r)->getValue<std::string>("error") == "forbidden");
  CHECK(server.sendAs(carol, "GET", "/api/v1/audit/export").status == 403);
  HttpReply badLimit =
      server.sendAs(server.aliceSession, "GET", "/api/v1/audit?limit=0");
  CHECK(badLimit.status == 400);
}

namespace {

std::vector<Poco::JSON::Object::Ptr> entriesOf(const Poco::JSON::Object::Ptr &page) {
  std::vector<Poco::JSON::Object::Ptr> out;
  auto a = page->getArray("entries");
  for (std::size_t i = 0; i < a->size(); ++i)
    out.push_back(a->getObject(static_cast<unsigned>(i)));
  return out;
}

} // namespace

TEST_CASE("audit: filters by event, actor, subject and time over the whole log, "
          "paginated, and the chain verdict covers the whole chain",
          "[api][audit][filters]") {
  ApiServer server;
  for (const char *d : {"laptop-1", "laptop-2", "laptop-3"})
    server.enroll(d);
  server.login("bob", testKey(2));
  auto get = [&](const std::string &query) {
    HttpReply r = server.sendAs(server.aliceSession, "GET", "/api/v1/audit?" + query);
    INFO(r.body);
    REQUIRE(r.status == 200);
    return parseBody(r);
  };

  // Event, one per page, followed with next across the whole log.
  std::vector<std::string> devices;
  std::string query = "event=device.enrolled&limit=1";
  for (int i = 0; i < 10; ++i) {
    auto page = get(query);
    for (const auto &e : entriesOf(page)) {
      CHECK(e->getValue<std::string>("event") == "device.enrolled");
      devices.push_back(e->getValue<std::string>("subject"));
    }
    if (page->isNull("next"))
      break;
    query = "event=device.enrolled&limit=1&from=" +
            std::to_string(page->getValue<Poco::Int64>("next"));
  }
  CHECK(devices == std::vector<std::string>{"laptop-1", "laptop-2", "laptop-3"});

  // A prefix, an actor, a subject (request ids are subjects too).
  for (const auto &e : entriesOf(get("event=device.*")))
    CHECK(e->getValue<std::string>("event").rfind("device.", 0) == 0);
  auto bob = entriesOf(get("actor=bob"));
  REQUIRE_FALSE(bob.empty());
  for (const auto &e : bob)
    CHECK(e->getValue<std::string>("actor") == "bob");
  auto laptop2 = entriesOf(get("subject=laptop-2"));
  REQUIRE_FALSE(laptop2.empty());
  for (const auto &e : laptop2)
    CHECK(e->getValue<std::string>("subject") == "laptop-2");
  CHECK(entriesOf(get("request=laptop-2")).size() == laptop2.size());
  CHECK(entriesOf(get("event=no.such.event")).empty());

  // Time range: everything is from the last minutes; nothing before 1 or after now + 1 day.
  const auto now = static_cast<long long>(std::time(nullptr));
  CHECK(entriesOf(get("since=" + std::to_string(now - 3600))).size() >= 7);
  CHECK(entriesOf(get("until=1")).empty());
  CHECK(entriesOf(get("since=" + std::to_string(now + 86400))).empty());

  // Bad filters are refused naming the parameter.
  for (const char *bad : {"since=5&until=5", "since=-1", "until=abc", "limit=1001",
                          "subject=a&request=b", "actor="}) {
    HttpReply r = server.sendAs(server.aliceSession, "GET", std::string("/api/v1/audit?") + bad);
    INFO(bad << ": " << r.body);
    CHECK(r.status == 400);
  }

  // The verdict shown beside a filtered page is the whole chain's: an edit to the
  // first entry, far from the page, breaks it.
  auto intact = get("event=device.enrolled");
  CHECK(intact->getValue<std::string>("chain") == "ok");
  const auto total = intact->getValue<Poco::Int64>("chain_checked");
  CHECK(total >= 8);
  sqlite3 *db = nullptr;
  REQUIRE(sqlite3_open(server.config.database.c_str(), &db) == SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  REQUIRE(sqlite3_exec(db,
                       "DROP TRIGGER audit_no_update; UPDATE audit SET detail_json = "
                       "'{\"edited\":true}' WHERE seq = 1;",
                       nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  auto broken = get("event=device.enrolled");
  CHECK(entriesOf(broken).size() == 3);
  REQUIRE(broken->isObject("chain"));
  CHECK(broken->getObject("chain")->getValue<Poco::Int64>("broken_at") == 1);
  CHECK(broken->getValue<Poco::Int64>("chain_checked") == 0);
}
