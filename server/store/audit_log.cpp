#include "store/audit_log.h"

namespace keyturn::server {

AuditLog::AuditLog(Store& store) : store_(store) {}

Result<AuditEntry> AuditLog::append(const AuditEvent& event, std::int64_t at) {
  return store_.appendAudit(event, at);
}

Result<AuditReport> AuditLog::verify() {
  audit::ChainWalker walker;
  auto s = store_.forEachAudit([&](const AuditEntry& e) { return walker.feed(e); });
  if (!s) return s.error();
  return walker.report();
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

}  // namespace keyturn::server
