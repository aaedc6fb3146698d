#include "keyturn/audit_chain.h"

#include <fstream>

#include "keyturn/crypto_util.h"
#include "keyturn/json.h"

namespace keyturn::audit {

const std::string kGenesisHash(64, '0');

std::string canonical(const AuditEntry& e) {
  std::string out = "[";
  out += std::to_string(e.seq) + "," + std::to_string(e.at) + ",";
  out += json::quote(e.actor) + "," + json::quote(e.event) + "," + json::quote(e.subject) + ",";
  out += json::quote(e.detailJson) + "," + json::quote(e.prevHash) + "]";
  return out;
}

std::string computeHash(const AuditEntry& e) { return toHex(sha256(canonical(e))); }

AuditEntry link(std::int64_t prevSeq, const std::string& prevHash, const AuditEvent& event,
                std::int64_t at) {
  AuditEntry e{prevSeq + 1, at, event.actor, event.event, event.subject, event.detailJson,
               prevHash, ""};
  e.hash = computeHash(e);
  return e;
}

std::string toJsonLine(const AuditEntry& e) {
  return "{\"seq\":" + std::to_string(e.seq) + ",\"at\":" + std::to_string(e.at) +
         ",\"actor\":" + json::quote(e.actor) + ",\"event\":" + json::quote(e.event) +
         ",\"subject\":" + json::quote(e.subject) + ",\"detail_json\":" + json::quote(e.detailJson) +
         ",\"prev_hash\":" + json::quote(e.prevHash) + ",\"hash\":" + json::quote(e.hash) + "}";
}

Result<AuditEntry> parseJsonLine(const std::string& line) {
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
      {"actor", &e.actor},            {"event", &e.event},        {"subject", &e.subject},
      {"detail_json", &e.detailJson}, {"prev_hash", &e.prevHash}, {"hash", &e.hash}};
  for (auto& [key, dst] : strings) {
    auto v = json::getString(o, key, "audit line");
    if (!v) return v.error();
    *dst = std::move(v.value());
  }
  return e;
}

ChainWalker::ChainWalker() { report_.headHash = kGenesisHash; }

bool ChainWalker::feed(const AuditEntry& e) {
  const std::int64_t expected = report_.entries + 1;
  if (e.seq != expected) {
    fail(expected, "seq_gap",
         "expected seq " + std::to_string(expected) + ", found " + std::to_string(e.seq));
    return false;
  }
  if (e.prevHash != report_.headHash) {
    fail(e.seq, "prev_mismatch",
         "prev_hash of seq " + std::to_string(e.seq) + " is not the hash of the entry before");
    return false;
  }
  if (computeHash(e) != e.hash) {
    fail(e.seq, "hash_mismatch", "seq " + std::to_string(e.seq) + " does not hash to its stored hash");
    return false;
  }
  report_.entries = e.seq;
  report_.headHash = e.hash;
  return true;
}

void ChainWalker::fail(std::int64_t seq, std::string reason, std::string detail) {
  report_.brokenSeq = seq;
  report_.reason = std::move(reason);
  report_.detail = std::move(detail);
}

AuditReport verifyJsonLines(std::istream& in) {
  ChainWalker walker;
  std::string line;
  std::int64_t lineNo = 0;
  while (std::getline(in, line)) {
    ++lineNo;
    auto entry = parseJsonLine(line);
    if (!entry) {
      walker.fail(walker.report().entries + 1, "malformed",
                  "line " + std::to_string(lineNo) + ": " + entry.detail());
      break;
    }
    if (!walker.feed(entry.value())) {
      walker.report().detail = "line " + std::to_string(lineNo) + ": " + walker.report().detail;
      break;
    }
  }
  return walker.report();
}

Result<AuditReport> verifyJsonLinesFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Result<AuditReport>::fail("io", "cannot open " + path);
  return verifyJsonLines(in);
}

}  // namespace keyturn::audit
