// The audit log over a store: appends, verifies the stored chain, exports it. The chain
// itself (hashing, linking, verifying an export) is core's keyturn/audit_chain.h; the
// static members below forward to it.
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

using AuditReport = audit::AuditReport;

class AuditLog {
 public:
  // prev_hash of the first entry: 64 zeros.
  static inline const std::string& kGenesisHash = audit::kGenesisHash;

  // The log over a store (not owned; must outlive this).
  explicit AuditLog(Store& store);

  // The canonical serialisation hashed for an entry: the compact JSON array
  // [seq,at,actor,event,subject,detail_json,prev_hash], integers in decimal and strings
  // quoted by keyturn::json::quote. `hash` itself is not part of it.
  static std::string canonical(const AuditEntry& entry) { return audit::canonical(entry); }
  // Lowercase hex SHA-256 of canonical(entry).
  static std::string computeHash(const AuditEntry& entry) { return audit::computeHash(entry); }
  // The entry following (prevSeq, prevHash) for `event` at `at`, with its hash set.
  static AuditEntry link(std::int64_t prevSeq, const std::string& prevHash,
                         const AuditEvent& event, std::int64_t at) {
    return audit::link(prevSeq, prevHash, event, at);
  }

  // One export line (no newline): {"seq":..,"at":..,"actor":..,"event":..,"subject":..,
  // "detail_json":..,"prev_hash":..,"hash":..} with detail_json kept as a string so the
  // exact hashed bytes survive the round trip.
  static std::string toJsonLine(const AuditEntry& entry) { return audit::toJsonLine(entry); }

  // Appends one event (see Store::appendAudit).
  Result<AuditEntry> append(const AuditEvent& event, std::int64_t at);
  // Walks the stored chain from seq 1. Fails only when the store cannot be read; a
  // broken chain is a successful read with a report that is not ok().
  Result<AuditReport> verify();
  // Writes every entry as JSON lines. "storage" on a read failure, "io" on a write one.
  Status exportJsonLines(std::ostream& out);

  // Verifies an export: strict JSON per line, seq from 1 without gaps, each prev_hash the
  // previous hash and each hash recomputed. Blank lines are refused as "malformed".
  static AuditReport verifyJsonLines(std::istream& in) { return audit::verifyJsonLines(in); }
  // As above for a file; reason "io" when it cannot be opened.
  static Result<AuditReport> verifyJsonLinesFile(const std::string& path) {
    return audit::verifyJsonLinesFile(path);
  }

 private:
  Store& store_;
};

}  // namespace keyturn::server
