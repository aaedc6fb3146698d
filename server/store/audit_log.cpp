#include "store/audit_log.h"

#include <fstream>

#include "keyturn/crypto_util.h"
#include "keyturn/json.h"

namespace keyturn::server {
namespace {

// Feeds entries in order and stops at the first that does not link.
class ChainWalker {
 public:
  bool feed(const AuditEntry& e, AuditReport& report) {
    const std::int64_t expected = report.entries + 1;
    if (e.seq != expected) {
      return fail(report, expected, "seq_gap",
                  "expected seq " + std::to_string(expected) + ", found " + std::to_string(e.seq));
    }
    if (e.prevHash != report.headHash) {
      return fail(report, e.seq, "prev_mismatch",
                  "prev_hash of seq " + std::to_string(e.seq) + " is not the hash of the entry before");
    }
    if (AuditLog::computeHash(e) != e.hash) {
      return fail(report, e.seq, "hash_mismatch",
                  "seq " + std::to_string(e.seq) + " does not hash to its stored hash");
    }
    report.entries = e.seq;
    report.headHash = e.hash;
    return true;
  }

  static bool fail(AuditReport& report, std::int64_t seq, std::string reason, std::string detail) {
    report.brokenSeq = seq;
    report.reason = std::move(reason);
    report.detail = std::move(detail);
    return false;
  }
};

Result<AuditEntry> parseLine(const std::string& line) {
  auto obj = json::parseObject(line);
  if (!obj) return obj.error();
  const auto& o = *obj.value();
  if (auto s = json::onlyMembers(o, {"seq", "at", "actor", "event", "subject", "detail_json",
                                     "prev_hash", "hash"},
                                 "audit line");
      !s) {
    return s.error();
  }
  AuditEntry e;
  auto seq = json::getInteger(o, "seq", "audit line");
  auto at = json::getInteger(o, "at", "audit line");
  if (!seq) return seq.error();
  if (!at) return at.error();
  e.seq = static_cast<std::int64_t>(seq.value());
  e.at = static_cast<std::int64_t>(at.value());
  std::pair<const char*, std::string*> strings[] = {
      {"actor", &e.actor},         {"event", &e.event},          {"subject", &e.subject},
      {"detail_json", &e.detailJson}, {"prev_hash", &e.prevHash}, {"hash", &e.hash}};
  for (auto& [key, dst] : strings) {
    auto v = json::getString(o, key, "audit line");
    if (!v) return v.error();
    *dst = std::move(v.value());
  }
  return e;
}

}  // namespace

const std::string AuditLog::kGenesisHash(64, '0');

AuditLog::AuditLog(Store& store) : store_(store) {}

std::string AuditLog::canonical(const AuditEntry& e) {
  std::string out = "[";
  out += std::to_string(e.seq) + "," + std::to_string(e.at) + ",";
  out += json::quote(e.actor) + "," + json::quote(e.event) + "," + json::quote(e.subject) + ",";
  out += json::quote(e.detailJson) + "," + json::quote(e.prevHash) + "]";
  return out;
}

std::string AuditLog::computeHash(const AuditEntry& e) { return toHex(sha256(canonical(e))); }

AuditEntry AuditLog::link(std::int64_t prevSeq, const std::string& prevHash,
                          const AuditEvent& event, std::int64_t at) {
  AuditEntry e{prevSeq + 1, at, event.actor, event.event, event.subject, event.detailJson,
               prevHash, ""};
  e.hash = computeHash(e);
  return e;
}

std::string AuditLog::toJsonLine(const AuditEntry& e) {
  return "{\"seq\":" + std::to_string(e.seq) + ",\"at\":" + std::to_string(e.at) +
         ",\"actor\":" + json::quote(e.actor) + ",\"event\":" + json::quote(e.event) +
         ",\"subject\":" + json::quote(e.subject) + ",\"detail_json\":" + json::quote(e.detailJson) +
         ",\"prev_hash\":" + json::quote(e.prevHash) + ",\"hash\":" + json::quote(e.hash) + "}";
}

Result<AuditEntry> AuditLog::append(const AuditEvent& event, std::int64_t at) {
  return store_.appendAudit(event, at);
}

Result<AuditReport> AuditLog::verify() {
  AuditReport report;
  report.headHash = kGenesisHash;
  ChainWalker walker;
  auto s = store_.forEachAudit([&](const AuditEntry& e) { return walker.feed(e, report); });
  if (!s) return s.error();
  return report;
}

Status AuditLog::exportJsonLines(std::ostream& out) {
  auto s = store_.forEachAudit([&](const AuditEntry& e) {
    out << toJsonLine(e) << '\n';
    return static_cast<bool>(out);
  });
  if (!s) return s;
  out.flush();
  if (!out) return Status::fail("io", "cannot write the audit export");
  return Status::ok();
}

AuditReport AuditLog::verifyJsonLines(std::istream& in) {
  AuditReport report;
  report.headHash = kGenesisHash;
  ChainWalker walker;
  std::string line;
  std::int64_t lineNo = 0;
  while (std::getline(in, line)) {
    ++lineNo;
    auto entry = parseLine(line);
    if (!entry) {
      ChainWalker::fail(report, report.entries + 1, "malformed",
                        "line " + std::to_string(lineNo) + ": " + entry.detail());
      return report;
    }
    if (!walker.feed(entry.value(), report)) {
      report.detail = "line " + std::to_string(lineNo) + ": " + report.detail;
      return report;
    }
  }
  return report;
}

Result<AuditReport> AuditLog::verifyJsonLinesFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Result<AuditReport>::fail("io", "cannot open " + path);
  return verifyJsonLines(in);
}

}  // namespace keyturn::server
