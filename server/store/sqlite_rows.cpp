#include "store/sqlite_rows.h"

namespace keyturn::server::rows {

std::string text(Poco::Data::RecordSet& rs, const std::string& column) {
  const Poco::Dynamic::Var v = rs[column];
  return v.isEmpty() ? std::string() : v.convert<std::string>();
}

std::int64_t integer(Poco::Data::RecordSet& rs, const std::string& column) {
  const Poco::Dynamic::Var v = rs[column];
  return v.isEmpty() ? 0 : v.convert<Poco::Int64>();
}

std::optional<std::string> optionalText(Poco::Data::RecordSet& rs, const std::string& column) {
  const Poco::Dynamic::Var v = rs[column];
  if (v.isEmpty()) return std::nullopt;
  return v.convert<std::string>();
}

std::optional<std::int64_t> optionalInteger(Poco::Data::RecordSet& rs, const std::string& column) {
  const Poco::Dynamic::Var v = rs[column];
  if (v.isEmpty()) return std::nullopt;
  return v.convert<Poco::Int64>();
}

namespace {

// A Poco RecordSet's current row read by column index, with CachedQuery's accessors, so
// one reader per record serves both (every query selects the k*Columns list, in order).
class RecordSetRow {
 public:
  explicit RecordSetRow(Poco::Data::RecordSet& rs) : rs_(rs) {}
  std::string text(int i) const { return optionalText(i).value_or(std::string()); }
  std::int64_t integer(int i) const { return optionalInteger(i).value_or(0); }
  std::optional<std::string> optionalText(int i) const {
    const Poco::Dynamic::Var v = rs_[static_cast<std::size_t>(i)];
    if (v.isEmpty()) return std::nullopt;
    return v.convert<std::string>();
  }
  std::optional<std::int64_t> optionalInteger(int i) const {
    const Poco::Dynamic::Var v = rs_[static_cast<std::size_t>(i)];
    if (v.isEmpty()) return std::nullopt;
    return v.convert<Poco::Int64>();
  }

 private:
  Poco::Data::RecordSet& rs_;
};

// The readers, in the column order of kRequestColumns, kSignatureColumns, ...
template <class Row>
RequestRecord requestOf(const Row& q) {
  RequestRecord r;
  r.id = q.text(0);
  r.tenant = q.text(1);
  r.action = q.text(2);
  r.paramsJson = q.text(3);
  r.requester = q.text(4);
  r.justification = q.text(5);
  r.created = q.integer(6);
  r.expires = q.integer(7);
  r.bundleVersion = q.integer(8);
  r.targetCount = q.integer(9);
  r.targetRoot = q.text(10);
  r.payloadB64 = q.text(11);
  r.state = q.text(12);
  r.requirementsJson = q.text(13);
  r.updated = q.integer(14);
  return r;
}

template <class Row>
SignatureRecord signatureOf(const Row& q) {
  SignatureRecord s;
  s.requestId = q.text(0);
  s.role = q.text(1);
  s.principal = q.text(2);
  s.kid = q.text(3);
  s.at = q.integer(4);
  s.protectedB64 = q.text(5);
  s.signatureB64 = q.text(6);
  s.notes = q.text(7);
  return s;
}

template <class Row>
TargetRecord targetOf(const Row& q) {
  TargetRecord t;
  t.requestId = q.text(0);
  t.deviceId = q.text(1);
  t.idx = q.integer(2);
  t.state = q.text(3);
  t.token = q.optionalText(4);
  t.resultJson = q.optionalText(5);
  t.updated = q.integer(6);
  return t;
}

template <class Row>
DeviceRecord deviceOf(const Row& q) {
  DeviceRecord d;
  d.id = q.text(0);
  d.certFingerprint = q.text(1);
  d.factsJson = q.text(2);
  d.enrolledAt = q.integer(3);
  d.lastContact = q.optionalInteger(4);
  d.removedAt = q.optionalInteger(5);
  d.agentVersion = q.optionalText(6);
  d.bundleVersion = q.optionalInteger(7);
  d.agentLibrariesJson = q.optionalText(8);
  return d;
}

template <class Row>
AuditEntry auditEntryOf(const Row& q) {
  AuditEntry e;
  e.seq = q.integer(0);
  e.at = q.integer(1);
  e.actor = q.text(2);
  e.event = q.text(3);
  e.subject = q.text(4);
  e.detailJson = q.text(5);
  e.prevHash = q.text(6);
  e.hash = q.text(7);
  return e;
}

}  // namespace

RequestRecord request(Poco::Data::RecordSet& rs) { return requestOf(RecordSetRow(rs)); }
SignatureRecord signature(Poco::Data::RecordSet& rs) { return signatureOf(RecordSetRow(rs)); }
TargetRecord target(Poco::Data::RecordSet& rs) { return targetOf(RecordSetRow(rs)); }
DeviceRecord device(Poco::Data::RecordSet& rs) { return deviceOf(RecordSetRow(rs)); }
AuditEntry auditEntry(Poco::Data::RecordSet& rs) { return auditEntryOf(RecordSetRow(rs)); }

RequestRecord request(const CachedQuery& q) { return requestOf(q); }
SignatureRecord signature(const CachedQuery& q) { return signatureOf(q); }
TargetRecord target(const CachedQuery& q) { return targetOf(q); }
DeviceRecord device(const CachedQuery& q) { return deviceOf(q); }

}  // namespace keyturn::server::rows
