// The audit log over HTTP (role audit.read):
//
//   GET /api/v1/audit?from=SEQ&limit=N  (from ≥ 1, default 1; limit 1..1000,
//   default 100)
//       -> 200 {"entries":[Entry], "next": SEQ|null, "chain": "ok" |
//       {"broken_at","reason","detail"}}
//   GET /api/v1/audit/export -> 200 application/x-ndjson, one Entry per line
//
// Entry is exactly an export line of AuditLog::toJsonLine
// ({"seq","at","actor","event", "subject","detail_json","prev_hash","hash"}),
// so `keyturn audit verify --file` checks a saved export, and a client can
// recompute every hash from a listing. `chain` is the server's own walk of the
// whole stored chain at the time of the call.
#pragma once

#include "app/server_context.h"

namespace keyturn::server {

inline constexpr std::int64_t kDefaultAuditPage = 100;
inline constexpr std::int64_t kMaxAuditPage = 1000;

void addAuditRoutes(ServerContext &context);

} // namespace keyturn::server
