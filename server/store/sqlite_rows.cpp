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

RequestRecord request(Poco::Data::RecordSet& rs) {
  RequestRecord r;
  r.id = text(rs, "id");
  r.tenant = text(rs, "tenant");
  r.action = text(rs, "action");
  r.paramsJson = text(rs, "params_json");
  r.requester = text(rs, "requester");
  r.justification = text(rs, "justification");
  r.created = integer(rs, "created");
  r.expires = integer(rs, "expires");
  r.bundleVersion = integer(rs, "bundle_version");
  r.targetCount = integer(rs, "target_count");
  r.targetRoot = text(rs, "target_root");
  r.payloadB64 = text(rs, "payload_b64");
  r.state = text(rs, "state");
  r.requirementsJson = text(rs, "requirements_json");
  r.updated = integer(rs, "updated");
  return r;
}

SignatureRecord signature(Poco::Data::RecordSet& rs) {
  SignatureRecord s;
  s.requestId = text(rs, "request_id");
  s.role = text(rs, "role");
  s.principal = text(rs, "principal");
  s.kid = text(rs, "kid");
  s.at = integer(rs, "at");
  s.protectedB64 = text(rs, "protected_b64");
  s.signatureB64 = text(rs, "signature_b64");
  s.notes = text(rs, "notes");
  return s;
}

TargetRecord target(Poco::Data::RecordSet& rs) {
  TargetRecord t;
  t.requestId = text(rs, "request_id");
  t.deviceId = text(rs, "device_id");
  t.idx = integer(rs, "idx");
  t.state = text(rs, "state");
  t.token = optionalText(rs, "token");
  t.resultJson = optionalText(rs, "result_json");
  t.updated = integer(rs, "updated");
  return t;
}

DeviceRecord device(Poco::Data::RecordSet& rs) {
  DeviceRecord d;
  d.id = text(rs, "id");
  d.certFingerprint = text(rs, "cert_fingerprint");
  d.factsJson = text(rs, "facts_json");
  d.enrolledAt = integer(rs, "enrolled_at");
  d.lastContact = optionalInteger(rs, "last_contact");
  d.removedAt = optionalInteger(rs, "removed_at");
  d.agentVersion = optionalText(rs, "agent_version");
  d.bundleVersion = optionalInteger(rs, "bundle_version");
  return d;
}

AuditEntry auditEntry(Poco::Data::RecordSet& rs) {
  AuditEntry e;
  e.seq = integer(rs, "seq");
  e.at = integer(rs, "at");
  e.actor = text(rs, "actor");
  e.event = text(rs, "event");
  e.subject = text(rs, "subject");
  e.detailJson = text(rs, "detail_json");
  e.prevHash = text(rs, "prev_hash");
  e.hash = text(rs, "hash");
  return e;
}

RequestRecord request(const CachedQuery& q) {
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

SignatureRecord signature(const CachedQuery& q) {
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

TargetRecord target(const CachedQuery& q) {
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

DeviceRecord device(const CachedQuery& q) {
  DeviceRecord d;
  d.id = q.text(0);
  d.certFingerprint = q.text(1);
  d.factsJson = q.text(2);
  d.enrolledAt = q.integer(3);
  d.lastContact = q.optionalInteger(4);
  d.removedAt = q.optionalInteger(5);
  d.agentVersion = q.optionalText(6);
  d.bundleVersion = q.optionalInteger(7);
  return d;
}

}  // namespace keyturn::server::rows
