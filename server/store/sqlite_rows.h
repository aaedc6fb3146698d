// Column lists and row readers shared by the SqliteStore sources: one place that knows
// which column of which SELECT fills which record member.
#pragma once

#include <Poco/Data/RecordSet.h>

#include <cstdint>
#include <optional>
#include <string>

#include "store/records.h"
#include "store/statement_cache.h"

namespace keyturn::server::rows {

inline constexpr const char* kRequestColumns =
    "id, tenant, action, params_json, requester, justification, created, expires,"
    " bundle_version, target_count, target_root, payload_b64, state, requirements_json,"
    " updated";
inline constexpr const char* kSignatureColumns =
    "request_id, role, principal, kid, at, protected_b64, signature_b64, notes";
inline constexpr const char* kTargetColumns =
    "request_id, device_id, idx, state, token, result_json, updated";
inline constexpr const char* kDeviceColumns =
    "id, cert_fingerprint, facts_json, enrolled_at, last_contact, removed_at, agent_version,"
    " bundle_version, agent_libraries";
inline constexpr const char* kAuditColumns =
    "seq, at, actor, event, subject, detail_json, prev_hash, hash";

// Typed access to the current row; NULL reads as empty / nullopt.
std::string text(Poco::Data::RecordSet& rs, const std::string& column);
std::int64_t integer(Poco::Data::RecordSet& rs, const std::string& column);
std::optional<std::string> optionalText(Poco::Data::RecordSet& rs, const std::string& column);
std::optional<std::int64_t> optionalInteger(Poco::Data::RecordSet& rs, const std::string& column);

// Records from the current row of a query that selects exactly the k*Columns list, in
// order (read by column index: one reader per record for both kinds of statement).
RequestRecord request(Poco::Data::RecordSet& rs);
SignatureRecord signature(Poco::Data::RecordSet& rs);
TargetRecord target(Poco::Data::RecordSet& rs);
DeviceRecord device(Poco::Data::RecordSet& rs);
AuditEntry auditEntry(Poco::Data::RecordSet& rs);

RequestRecord request(const CachedQuery& q);
SignatureRecord signature(const CachedQuery& q);
TargetRecord target(const CachedQuery& q);
DeviceRecord device(const CachedQuery& q);

}  // namespace keyturn::server::rows
