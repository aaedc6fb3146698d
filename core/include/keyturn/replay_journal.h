// The durable record of request ids consumed on this device (PROTOCOL.md section 5
// step 12 and section 7): SQLite with synchronous=FULL, so an id recorded before an
// action starts survives a crash or power loss.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "keyturn/result.h"

struct sqlite3;

namespace keyturn {

class ReplayJournal {
 public:
  // Opens (creating if needed) the journal database. Reason "io" on failure.
  static Result<std::unique_ptr<ReplayJournal>> open(const std::string& path);
  ~ReplayJournal();
  ReplayJournal(const ReplayJournal&) = delete;
  ReplayJournal& operator=(const ReplayJournal&) = delete;

  // True if `id` was consumed before. An unreadable journal counts as consumed (fails
  // closed).
  bool isConsumed(const std::string& id) const;
  // Records `id` durably, returning only after the write reached the disk. Reason
  // "replayed" if it was already there (checked and written in one statement, so two
  // racing consumers cannot both succeed), "io" if the write failed.
  Status consume(const std::string& id, const std::string& action, std::int64_t now);

 private:
  explicit ReplayJournal(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

}  // namespace keyturn
