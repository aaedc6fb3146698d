// The audit log over HTTP: pages with the server's chain verdict, and an export
// that the offline verifier (`keyturn audit verify --file`) accepts; role
// audit.read only.
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
