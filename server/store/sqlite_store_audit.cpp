// SqliteStore: the audit table. Hashing is AuditLog's; this file only stores entries.
#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>

#include <limits>

#include "store/audit_log.h"
#include "store/sqlite_rows.h"
#include "store/sqlite_store.h"

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Statement;
using Poco::Int64;

namespace keyturn::server {
namespace {

constexpr Int64 kPage = 1000;  // entries per read while walking the chain

}  // namespace

AuditEntry SqliteStore::appendAuditLocked(const AuditEvent& event, std::int64_t at) {
  static const std::string kHead = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1";
  static const std::string kInsert =
      std::string("INSERT INTO audit (") + rows::kAuditColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
  AuditEntry e;
  {
    auto head = stmts().query(kHead);
    e = head.step() ? AuditLog::link(head.integer(0), head.text(1), event, at)
                    : AuditLog::link(0, AuditLog::kGenesisHash, event, at);
  }
  stmts().query(kInsert)
      .bind(e.seq).bind(e.at).bind(e.actor).bind(e.event).bind(e.subject).bind(e.detailJson)
      .bind(e.prevHash).bind(e.hash)
      .execute();
  return e;
}

Result<AuditEntry> SqliteStore::appendAudit(const AuditEvent& event, std::int64_t at) {
  AuditEntry out;
  auto s = write("append audit", Durability::kFull, [&]() -> Status {
    out = appendAuditLocked(event, at);
    return Status::ok();
  });
  if (!s) return s.error();
  return out;
}

Result<std::vector<AuditEntry>> SqliteStore::listAudit(std::int64_t fromSeq, std::int64_t limit) {
  std::vector<AuditEntry> out;
  auto s = read("list audit", [&]() -> Status {
    Statement st(db());
    st << std::string("SELECT ") + rows::kAuditColumns +
              " FROM audit WHERE seq >= ? ORDER BY seq LIMIT ?",
        bind(Int64(fromSeq)), bind(Int64(limit));
    st.execute();
    RecordSet rs(st);
    for (bool more = rs.moveFirst(); more; more = rs.moveNext()) out.push_back(rows::auditEntry(rs));
    return Status::ok();
  });
  if (!s) return s.error();
  return out;
}

Result<std::vector<AuditEntry>> SqliteStore::listAuditFiltered(const AuditFilter& f) {
  std::vector<AuditEntry> out;
  std::optional<std::string> prefix;
  if (f.event && !f.event->empty() && f.event->back() == '*')
    prefix = f.event->substr(0, f.event->size() - 1);
  auto s = read("list audit", [&]() -> Status {
    std::string sql = std::string("SELECT ") + rows::kAuditColumns + " FROM audit WHERE seq >= ?";
    // substr() rather than LIKE: event names hold '_', and it is the same in PostgreSQL.
    if (prefix) sql += " AND substr(event, 1, ?) = ?";
    else if (f.event) sql += " AND event = ?";
    if (f.actor) sql += " AND actor = ?";
    if (f.subject) sql += " AND subject = ?";
    if (f.since) sql += " AND at >= ?";
    if (f.until) sql += " AND at < ?";
    sql += " ORDER BY seq LIMIT ?";
    Statement st(db());
    st << sql, bind(Int64(f.fromSeq));
    if (prefix) st, bind(Int64(prefix->size())), bind(*prefix);
    else if (f.event) st, bind(*f.event);
    if (f.actor) st, bind(*f.actor);
    if (f.subject) st, bind(*f.subject);
    if (f.since) st, bind(Int64(*f.since));
    if (f.until) st, bind(Int64(*f.until));
    st, bind(Int64(f.limit));
    st.execute();
    RecordSet rs(st);
    for (bool more = rs.moveFirst(); more; more = rs.moveNext()) out.push_back(rows::auditEntry(rs));
    return Status::ok();
  });
  if (!s) return s.error();
  return out;
}

Status SqliteStore::forEachAudit(const std::function<bool(const AuditEntry&)>& visit) {
  // Pages by seq so the lock is held per page, not for the whole walk.
  Int64 after = std::numeric_limits<Int64>::min();
  for (;;) {
    std::vector<AuditEntry> page;
    auto s = read("walk audit", [&]() -> Status {
      Statement st(db());
      st << std::string("SELECT ") + rows::kAuditColumns +
                " FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
          bind(after), bind(kPage);
      st.execute();
      RecordSet rs(st);
      for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
        page.push_back(rows::auditEntry(rs));
      }
      return Status::ok();
    });
    if (!s) return s;
    for (const auto& e : page) {
      if (!visit(e)) return Status::ok();
    }
    if (static_cast<Int64>(page.size()) < kPage) return Status::ok();
    after = page.back().seq;
  }
}

}  // namespace keyturn::server
