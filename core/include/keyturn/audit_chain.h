// The audit chain: an append-only list where every entry carries the SHA-256 of the
// previous one, so editing, deleting or reordering any entry breaks every later link.
// The coordinator appends (server/store) and the admin CLI verifies exports with this
// same code; docs/storage.md gives the exact bytes hashed.
#pragma once

#include <cstdint>
#include <istream>
#include <optional>
#include <string>

#include "keyturn/result.h"

namespace keyturn::audit {

struct AuditEvent {
  std::string actor;    // principal, "device:<id>", or "coordinator"
  std::string event;    // e.g. "request.approved", "login.refused"
  std::string subject;  // request id, device id, bundle version, ...
  std::string detailJson = "{}";
};

struct AuditEntry {
  std::int64_t seq = 0;
  std::int64_t at = 0;
  std::string actor;
  std::string event;
  std::string subject;
  std::string detailJson;
  std::string prevHash;
  std::string hash;
};

// The outcome of walking a chain. When broken, `brokenSeq` is the first seq whose entry
// does not check (for a missing or moved entry: the seq that was expected there).
struct AuditReport {
  std::int64_t entries = 0;  // entries that checked before the break (or all)
  std::string headHash;      // hash of the last good entry; genesis for an empty log
  std::optional<std::int64_t> brokenSeq;
  std::string reason;  // "hash_mismatch", "prev_mismatch", "seq_gap", "malformed"
  std::string detail;
  bool ok() const { return !brokenSeq.has_value(); }
};

// prev_hash of the first entry: 64 zeros.
extern const std::string kGenesisHash;

// The canonical serialisation hashed for an entry: the compact JSON array
// [seq,at,actor,event,subject,detail_json,prev_hash], integers in decimal and strings
// quoted by keyturn::json::quote. `hash` itself is not part of it.
std::string canonical(const AuditEntry& entry);
// Lowercase hex SHA-256 of canonical(entry).
std::string computeHash(const AuditEntry& entry);
// The entry following (prevSeq, prevHash) for `event` at `at`, with its hash set.
AuditEntry link(std::int64_t prevSeq, const std::string& prevHash, const AuditEvent& event,
                std::int64_t at);

// One export line (no newline): {"seq":..,"at":..,"actor":..,"event":..,"subject":..,
// "detail_json":..,"prev_hash":..,"hash":..} with detail_json kept as a string so the
// exact hashed bytes survive the round trip.
std::string toJsonLine(const AuditEntry& entry);
// The inverse, strict: exactly those members. Fails "malformed" naming the member.
Result<AuditEntry> parseJsonLine(const std::string& line);

// Feeds entries in order from seq 1 and stops at the first that does not link.
class ChainWalker {
 public:
  ChainWalker();
  // False (and the report says why) when `entry` does not follow the last good one.
  bool feed(const AuditEntry& entry);
  // Marks the chain broken at `seq`.
  void fail(std::int64_t seq, std::string reason, std::string detail);
  AuditReport& report() { return report_; }

 private:
  AuditReport report_;
};

// Verifies an export: strict JSON per line, seq from 1 without gaps, each prev_hash the
// previous hash and each hash recomputed. Blank lines are refused as "malformed".
AuditReport verifyJsonLines(std::istream& in);
// As above for a file; reason "io" when it cannot be opened.
Result<AuditReport> verifyJsonLinesFile(const std::string& path);

}  // namespace keyturn::audit
