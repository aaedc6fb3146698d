// The audit chain: an append-only list where every entry carries the SHA-256 of the
// previous one, so editing, deleting or reordering any entry breaks every later link.
// docs/storage.md gives the exact bytes hashed.
#pragma once

#include <cstdint>
#include <istream>
#include <optional>
#include <ostream>
#include <string>

#include "keyturn/result.h"
#include "store/records.h"
#include "store/store.h"

namespace keyturn::server {

// The outcome of walking a chain. When broken, `brokenSeq` is the first seq whose entry
// does not check (for a missing or moved entry: the seq that was expected there).
struct AuditReport {
  std::int64_t entries = 0;   // entries that checked before the break (or all)
  std::string headHash;       // hash of the last good entry; genesis for an empty log
  std::optional<std::int64_t> brokenSeq;
  std::string reason;         // "hash_mismatch", "prev_mismatch", "seq_gap", "malformed"
  std::string detail;
  bool ok() const { return !brokenSeq.has_value(); }
};

class AuditLog {
 public:
  // prev_hash of the first entry: 64 zeros.
  static const std::string kGenesisHash;

  // The log over a store (not owned; must outlive this).
  explicit AuditLog(Store& store);

  // The canonical serialisation hashed for an entry: the compact JSON array
  // [seq,at,actor,event,subject,detail_json,prev_hash], integers in decimal and strings
  // quoted by keyturn::json::quote. `hash` itself is not part of it.
  static std::string canonical(const AuditEntry& entry);
  // Lowercase hex SHA-256 of canonical(entry).
  static std::string computeHash(const AuditEntry& entry);
  // The entry following (prevSeq, prevHash) for `event` at `at`, with its hash set.
  static AuditEntry link(std::int64_t prevSeq, const std::string& prevHash,
                         const AuditEvent& event, std::int64_t at);

  // One export line (no newline): {"seq":..,"at":..,"actor":..,"event":..,"subject":..,
  // "detail_json":..,"prev_hash":..,"hash":..} with detail_json kept as a string so the
  // exact hashed bytes survive the round trip.
  static std::string toJsonLine(const AuditEntry& entry);

  // Appends one event (see Store::appendAudit).
  Result<AuditEntry> append(const AuditEvent& event, std::int64_t at);
  // Walks the stored chain from seq 1. Fails only when the store cannot be read; a
  // broken chain is a successful read with a report that is not ok().
  Result<AuditReport> verify();
  // Writes every entry as JSON lines. "storage" on a read failure, "io" on a write one.
  Status exportJsonLines(std::ostream& out);

  // Verifies an export: strict JSON per line, seq from 1 without gaps, each prev_hash the
  // previous hash and each hash recomputed. Blank lines are refused as "malformed".
  static AuditReport verifyJsonLines(std::istream& in);
  // As above for a file; reason "io" when it cannot be opened.
  static Result<AuditReport> verifyJsonLinesFile(const std::string& path);

 private:
  Store& store_;
};

}  // namespace keyturn::server
