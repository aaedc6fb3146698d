// The audit chain: verify, tamper detection in the table and in the JSON-lines export.
#include <catch2/catch.hpp>
#include <sstream>

#include "store/audit_log.h"
#include "store_fixture.h"

using namespace keyturn::server;

namespace {

constexpr int kEntries = 5;

void fill(AuditLog& log) {
  for (int i = 1; i <= kEntries; ++i) {
    auto e = log.append({"alice", "request.approved", "r-" + std::to_string(i),
                         R"({"notes":"ok \"quoted\"","n":)" + std::to_string(i) + "}"},
                        1000 + i);
    REQUIRE(e.isOk());
    CHECK(e->seq == i);
  }
}

std::string exported(AuditLog& log) {
  std::ostringstream out;
  REQUIRE(log.exportJsonLines(out).isOk());
  return out.str();
}

}  // namespace

TEST_CASE("the audit chain links every entry to the previous one and verifies") {
  test::TempDir dir;
  auto store = test::openStore(dir);
  AuditLog log(*store);
  auto empty = log.verify();
  REQUIRE(empty.isOk());
  CHECK(empty->ok());
  CHECK(empty->headHash == AuditLog::kGenesisHash);

  fill(log);
  auto entries = store->listAudit(1, 100);
  REQUIRE(entries.isOk());
  CHECK(entries->front().prevHash == std::string(64, '0'));
  for (std::size_t i = 1; i < entries->size(); ++i) {
    CHECK(entries.value()[i].prevHash == entries.value()[i - 1].hash);
  }
  auto report = log.verify();
  REQUIRE(report.isOk());
  CHECK(report->ok());
  CHECK(report->entries == kEntries);
  CHECK(report->headHash == entries->back().hash);
}

TEST_CASE("the canonical form of an entry is the documented JSON array") {
  AuditEntry e{7, 1700000000, "alice", "request.approved", "r-1", R"({"a":1})",
               std::string(64, '0'), ""};
  CHECK(AuditLog::canonical(e) ==
        R"([7,1700000000,"alice","request.approved","r-1","{\"a\":1}",")" + std::string(64, '0') +
            R"("])");
  CHECK(AuditLog::computeHash(e).size() == 64);
}

TEST_CASE("editing any field of any audit entry makes verify name that seq") {
  const char* columns[] = {"at", "actor", "event", "subject", "detail_json", "prev_hash", "hash", "seq"};
  const auto column = GENERATE_REF(from_range(std::begin(columns), std::end(columns)));
  const int seq = GENERATE(1, 3, kEntries);
  test::TempDir dir;
  const std::string db = dir.file("keyturn.sqlite");
  {
    auto store = test::openStore(dir);
    AuditLog log(*store);
    fill(log);
  }
  // The append-only triggers refuse UPDATE; someone with the file can drop them.
  test::rawSql(db, "DROP TRIGGER audit_no_update");
  const std::string value = std::string(column) == "seq"  ? "seq + 1000"
                            : std::string(column) == "at" ? "at + 1"
                                                          : std::string(column) + " || 'x'";
  test::rawSql(db, std::string("UPDATE audit SET ") + column + " = " + value +
                       " WHERE seq = " + std::to_string(seq));

  auto store = test::openStore(dir);
  auto report = AuditLog(*store).verify();
  REQUIRE(report.isOk());
  INFO(column << " of seq " << seq << ": " << report->detail);
  REQUIRE_FALSE(report->ok());
  CHECK(report->brokenSeq == seq);
  CHECK(report->entries == seq - 1);
}

TEST_CASE("the audit table refuses UPDATE and DELETE through SQL") {
  test::TempDir dir;
  const std::string db = dir.file("keyturn.sqlite");
  {
    auto store = test::openStore(dir);
    AuditLog log(*store);
    fill(log);
  }
  CHECK_THROWS_WITH(test::rawSql(db, "UPDATE audit SET actor = 'mallory'"),
                    Catch::Contains("append-only"));
  CHECK_THROWS_WITH(test::rawSql(db, "DELETE FROM audit WHERE seq = 2"),
                    Catch::Contains("append-only"));
}

TEST_CASE("the exported JSON lines verify and a tampered line is reported") {
  test::TempDir dir;
  auto store = test::openStore(dir);
  AuditLog log(*store);
  fill(log);
  const std::string text = exported(log);

  std::istringstream good(text);
  auto ok = AuditLog::verifyJsonLines(good);
  CHECK(ok.ok());
  CHECK(ok.entries == kEntries);

  std::string tampered = text;
  const auto pos = tampered.find("\"subject\":\"r-3\"");
  REQUIRE(pos != std::string::npos);
  tampered.replace(pos, 15, "\"subject\":\"r-9\"");
  std::istringstream bad(tampered);
  auto report = AuditLog::verifyJsonLines(bad);
  REQUIRE_FALSE(report.ok());
  CHECK(report.brokenSeq == 3);
  CHECK(report.reason == "hash_mismatch");
  CHECK_THAT(report.detail, Catch::StartsWith("line 3:"));

  // Dropping a line is a gap at the seq that went missing.
  std::string dropped = text;
  const auto line2 = dropped.find('\n') + 1;
  dropped.erase(line2, dropped.find('\n', line2) + 1 - line2);
  std::istringstream gap(dropped);
  auto gapReport = AuditLog::verifyJsonLines(gap);
  CHECK(gapReport.brokenSeq == 2);
  CHECK(gapReport.reason == "seq_gap");

  std::istringstream junk(text + "{\"seq\":6,\"extra\":1}\n");
  auto junkReport = AuditLog::verifyJsonLines(junk);
  CHECK(junkReport.brokenSeq == kEntries + 1);
  CHECK(junkReport.reason == "malformed");

  CHECK(AuditLog::verifyJsonLinesFile(dir.file("missing.jsonl")).reason() == "io");
}
