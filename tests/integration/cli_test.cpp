// The online CLI's own behaviour: the profile, the session secret, transport errors
// with exit status 3, device and audit commands.
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>

#include "keyturn/crypto_util.h"
#include "keyturn/json.h"
#include "server_process.h"
#include "tenant.h"

using namespace keyturn;
using namespace keyturn::test;

TEST_CASE("login keeps a 0600 profile and never prints the session token", "[integration][cli]") {
  Tenant t;
  std::string profile = t.home("alice") + "/.config/keyturn/profile.json";
  struct stat st {};
  REQUIRE(::stat(profile.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  std::string session = t.session("alice");
  CHECK(session.size() >= 32);
  auto again = t.cli("alice", {"login", "-o", "json"});
  INFO(again.all());
  REQUIRE(again.exit == 0);
  CHECK(jsonOf(again)->getValue<std::string>("principal") == "alice");
  CHECK(again.all().find(t.session("alice")) == std::string::npos);
  auto list = t.cli("alice", {"request", "list", "--mine", "-o", "json"});
  CHECK(list.exit == 0);
  CHECK(list.all().find(t.session("alice")) == std::string::npos);
}

TEST_CASE("an expired or forgotten session is renewed with the key, without a prompt",
          "[integration][cli]") {
  Tenant t;
  std::string profile = t.home("alice") + "/.config/keyturn/profile.json";
  auto p = json::parseObject(readFile(profile, 1 << 20).value()).value();
  p->set("session", "forgotten-by-the-server");
  REQUIRE(writeFileAtomic(profile, json::stringify(p), 0600).empty());
  auto r = t.cli("alice", {"request", "list"});
  INFO(r.all());
  CHECK(r.exit == 0);
  CHECK(t.session("alice") != "forgotten-by-the-server");
}

TEST_CASE("environment variables replace the profile", "[integration][cli]") {
  Tenant t;
  // No profile at all for this HOME: everything from KEYTURN_*.
  std::filesystem::create_directories(t.tmp / "home-env");
  auto r = t.cli("", {"request", "list", "-o", "json"},
                 {{"HOME", t.tmp / "home-env"},
                  {"KEYTURN_SERVER", t.url()},
                  {"KEYTURN_CA", t.ca},
                  {"KEYTURN_ID", "dave"},
                  {"KEYTURN_KEY", t.key("dave")}});
  INFO(r.all());
  CHECK(r.exit == 0);
  // The variables are for this command only: nothing was written to that HOME.
  CHECK_FALSE(std::filesystem::exists(t.tmp / "home-env/.config/keyturn/profile.json"));
  // They also win over a stored profile: alice's HOME, dave's identity.
  auto asDave = t.cli("alice", {"request", "list", "--received", "-o", "json"},
                      {{"KEYTURN_ID", "dave"}, {"KEYTURN_KEY", t.key("dave")}});
  CHECK(asDave.exit == 0);
  CHECK(t.cli("alice", {"login", "-o", "json"}).exit == 0);
  auto none = t.cli("", {"request", "list"}, {{"HOME", t.tmp / "home-none"}});
  CHECK(none.exit == 2);
  CHECK_THAT(none.err, Catch::Contains("keyturn login"));
}

TEST_CASE("an unreachable server or an untrusted certificate exits 3 with the reason",
          "[integration][cli]") {
  Tenant t;
  TempDir other;
  REQUIRE(runProgram(
              KEYTURN_SERVER_BINARY,
              {"init", "--data", other / "data", "--tenant", "contoso", "--hostname", "localhost"},
              {})
              .exit == 0);
  auto untrusted = t.cli("alice", {"request", "list"}, {{"KEYTURN_CA", other / "data/ca.pem"}});
  INFO(untrusted.all());
  CHECK(untrusted.exit == 3);
  CHECK_THAT(untrusted.err, Catch::Contains("tls"));
  // A certificate from the right CA but for another name: a second coordinator (the
  // other CA) listening on 127.0.0.2, which its certificate does not name.
  std::string props = readFile(other / "data/keyturn-server.properties", 1 << 20).value();
  props = std::regex_replace(props, std::regex("keyturn\\.bind *= *[^\\n]*"),
                             "keyturn.bind = 127.0.0.2:8443");
  REQUIRE(writeFileAtomic(other / "data/keyturn-server.properties", props, 0600).empty());
  ServerProcess second({"run", "--data", other / "data", "--port", "0", "--log-format", "json"});
  int port2 = portFromLog(second.waitForLine("\"listening\""));
  REQUIRE(port2 > 0);
  auto wrongName = t.cli("alice", {"request", "list"},
                         {{"KEYTURN_SERVER", "https://127.0.0.2:" + std::to_string(port2)},
                          {"KEYTURN_CA", other / "data/ca.pem"}});
  INFO(wrongName.all());
  CHECK(wrongName.exit == 3);
  CHECK_THAT(wrongName.err, Catch::Contains("tls: "));
  // The same server under a name its certificate carries is trusted (the TLS layer is
  // fine; this coordinator has no bundle yet, so it answers 503: exit 3 as well, but
  // for that reason).
  auto rightName = t.cli("alice", {"request", "list"},
                         {{"KEYTURN_SERVER", "https://localhost:" + std::to_string(port2)},
                          {"KEYTURN_CA", other / "data/ca.pem"}});
  CHECK_THAT(rightName.err, !Catch::Contains("tls: "));
  t.server->stop(SIGTERM);
  auto down = t.cli("alice", {"request", "list"});
  CHECK(down.exit == 3);
  CHECK_THAT(down.err, Catch::Contains("connection refused"));
}

TEST_CASE("devices are listed, enrolled with a single-use code, and removed",
          "[integration][cli]") {
  Tenant t;
  t.enroll("laptop-1", R"({"ownership":"corporate","groups":["lab"]})");
  auto list = t.cli("bob", {"device", "list", "--group", "lab", "-o", "json"});
  INFO(list.all());
  REQUIRE(list.exit == 0);
  CHECK(jsonOf(list)->getArray("devices")->size() == 1);
  // bob has no devices.enroll role.
  auto code = t.cli("bob", {"device", "enroll-code"});
  CHECK(code.exit == 1);
  CHECK_THAT(code.err, Catch::Contains("devices.enroll"));
  REQUIRE(t.cli("alice", {"device", "remove", "laptop-1"}).exit == 0);
  CHECK(jsonOf(t.cli("bob", {"device", "list", "-o", "json"}))->getArray("devices")->size() == 0);
  auto all = t.cli("bob", {"device", "list", "--removed"});
  CHECK_THAT(all.out, Catch::Contains("laptop-1  state=removed"));
  auto twice = t.cli("alice", {"device", "remove", "laptop-1"});
  CHECK(twice.exit == 1);
  CHECK_THAT(twice.err, Catch::Contains("device_removed"));
}

TEST_CASE("the audit chain verifies online and as an export, and a tampered export is caught",
          "[integration][cli][audit]") {
  Tenant t;
  t.enroll("laptop-1", R"({"ownership":"corporate"})");
  auto verify = t.cli("carol", {"audit", "verify"});
  INFO(verify.all());
  CHECK(verify.exit == 0);
  CHECK_THAT(verify.out, Catch::Contains("chain intact"));
  std::string file = t.tmp / "audit.jsonl";
  auto exported = t.cli("carol", {"audit", "export", "--out", file});
  REQUIRE(exported.exit == 0);
  auto offline = t.cli("", {"audit", "verify", "--file", file, "-o", "json"});
  CHECK(offline.exit == 0);
  CHECK(jsonOf(offline)->getValue<bool>("ok"));
  std::string text = readFile(file, 1 << 24).value();
  auto at = text.find("\"login\"");
  REQUIRE(at != std::string::npos);
  text.replace(at, 7, "\"LOGIN\"");
  REQUIRE(writeFileAtomic(file, text, 0600).empty());
  auto tampered = t.cli("", {"audit", "verify", "--file", file});
  CHECK(tampered.exit == 1);
  CHECK_THAT(tampered.out, Catch::Contains("CHAIN BROKEN"));
  // dave holds no audit.read.
  auto denied = t.cli("dave", {"audit", "list"});
  CHECK(denied.exit == 1);
  CHECK_THAT(denied.err, Catch::Contains("audit.read"));
}

TEST_CASE("request list follows every page of a long listing, and --limit stops early",
          "[integration][cli][pagination]") {
  Tenant t;
  // 520 finished requests by alice, more than the coordinator's largest page (500),
  // written straight into the database (the listing reads rows only).
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((t.data + "/keyturn.db").c_str(), &db) == SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    std::string sql = "BEGIN;";
    for (int i = 0; i < 520; ++i) {
      const std::string n = std::to_string(1000 + i);
      sql += "INSERT INTO requests (id, tenant, action, params_json, requester, justification,"
             " created, expires, bundle_version, target_count, target_root, payload_b64, state,"
             " requirements_json, updated) VALUES ('r-bulk-" + n + "', 'contoso', 'device.lock',"
             " '{}', 'alice', 'bulk', " + n + ", 9999999999, 1, 1, 'root-" + n +
             "', 'e30', 'completed', '[]', " + n + ");";
    }
    sql += "COMMIT;";
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    INFO((err ? err : ""));
    sqlite3_free(err);
    sqlite3_close(db);
    REQUIRE(rc == SQLITE_OK);
  }
  auto all = t.cli("alice", {"request", "list", "--mine", "-o", "json"});
  INFO(all.err);
  REQUIRE(all.exit == 0);
  auto o = jsonOf(all);
  auto list = o->getArray("requests");
  REQUIRE(list->size() == 520);
  CHECK(list->getObject(0)->getValue<std::string>("id") == "r-bulk-1519");  // newest first
  CHECK(list->getObject(519)->getValue<std::string>("id") == "r-bulk-1000");
  CHECK(o->isNull("next"));
  CHECK(o->getObject("counts")->getValue<int>("mine") == 520);

  auto some = t.cli("alice", {"request", "list", "--mine", "--limit", "30"});
  INFO(some.all());
  REQUIRE(some.exit == 0);
  CHECK(std::count(some.out.begin(), some.out.end(), '\n') == 31);  // 30 lines and the hint
  CHECK_THAT(some.out, Catch::Contains("r-bulk-1519"));
  CHECK_THAT(some.out, !Catch::Contains("r-bulk-1489"));
  CHECK_THAT(some.out, Catch::Contains("more: 30 shown"));
  auto zero = t.cli("alice", {"request", "list", "--limit", "0"});
  CHECK(zero.exit == 2);
  CHECK_THAT(zero.err, Catch::Contains("--limit"));
}
