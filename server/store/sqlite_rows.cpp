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

}  // namespace keyturn::server::rows
