// The rows the coordinator stores, as plain values. Times are Unix seconds. JSON
// columns hold compact JSON text the services produced; the store never parses them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>
#include <utility>

#include "keyturn/audit_chain.h"

namespace keyturn::server {

// Request states (requests.state) and per-device states (request_targets.state).
namespace state {
inline constexpr const char* kNeedsApproval = "needs_approval";
inline constexpr const char* kApproved = "approved";
inline constexpr const char* kRejected = "rejected";
inline constexpr const char* kCancelled = "cancelled";
inline constexpr const char* kExpired = "expired";
inline constexpr const char* kCompleted = "completed";
inline constexpr const char* kQueued = "queued";
inline constexpr const char* kDelivered = "delivered";
inline constexpr const char* kSucceeded = "succeeded";
inline constexpr const char* kFailed = "failed";
inline constexpr const char* kInterrupted = "interrupted";
}  // namespace state

struct RequestRecord {
  std::string id;
  std::string tenant;
  std::string action;
  std::string paramsJson;
  std::string requester;
  std::string justification;
  std::int64_t created = 0;
  std::int64_t expires = 0;
  std::int64_t bundleVersion = 0;
  std::int64_t targetCount = 0;
  std::string targetRoot;   // RFC 6962 root over the target ids, hex as in the payload
  std::string payloadB64;   // the exact signed payload (base64url)
  std::string state;
  std::string requirementsJson;
  std::int64_t updated = 0;
};

// One JWS signature over a request's payload, with the approver's notes.
struct SignatureRecord {
  std::string requestId;
  std::string role;  // "requester", "approver", "completer"
  std::string principal;
  std::string kid;
  std::int64_t at = 0;
  std::string protectedB64;
  std::string signatureB64;
  std::string notes;
};

struct RejectionRecord {
  std::string requestId;
  std::string principal;
  std::string notes;
  std::int64_t at = 0;
};

struct TargetRecord {
  std::string requestId;
  std::string deviceId;
  std::int64_t idx = 0;
  std::string state;
  std::optional<std::string> token;       // set at completion
  std::optional<std::string> resultJson;  // set by the device's report
  std::int64_t updated = 0;
};

// A request with everything stored about it, read in one snapshot.
struct StoredRequest {
  RequestRecord request;
  std::vector<SignatureRecord> signatures;  // requester first, in the order added
  std::vector<RejectionRecord> rejections;
  std::vector<TargetRecord> targets;
};

struct DeviceRecord {
  std::string id;
  std::string certFingerprint;
  std::string factsJson;
  std::int64_t enrolledAt = 0;
  std::optional<std::int64_t> lastContact;
  std::optional<std::int64_t> removedAt;
  // Reported by the agent with its facts (PUT /api/v1/agent/facts); unset until then.
  std::optional<std::string> agentVersion;
  std::optional<std::int64_t> bundleVersion;
  // The agent's libraries as it reported them (a JSON array of {name, version, from},
  // checked by the facts route; docs/agent.md "Reported versions").
  std::optional<std::string> agentLibrariesJson;
};

// An uploaded artifact (app.install source "artifact"); its bytes are the file named
// `sha256` in the artifact directory.
struct ArtifactRecord {
  std::string sha256;  // lowercase hex
  std::int64_t size = 0;
  std::string name;
  std::string uploadedBy;
  std::int64_t uploadedAt = 0;
};

// How one request of an action uses its params, for artifact pruning: `open` while it may
// still be completed (needs_approval, approved) or a device may still fetch for it
// (completed with a target queued or delivered).
struct RequestUse {
  std::string paramsJson;
  bool open = false;
  std::int64_t lastChange = 0;  // requests.updated
};

struct EnrollmentCodeRecord {
  std::string codeHash;  // SHA-256 hex of the code; the code itself is never stored
  std::string createdBy;
  std::int64_t created = 0;
  std::int64_t expires = 0;
  std::optional<std::int64_t> usedAt;
  std::optional<std::string> deviceId;
};

struct BundleRecord {
  std::int64_t version = 0;
  std::string sha256;
  std::string file;  // path of the signed bundle file in the data folder
  std::int64_t publishedAt = 0;
};

struct ChallengeRecord {
  std::string challengeHash;
  std::string principal;
  std::int64_t expires = 0;
};

struct SessionRecord {
  std::string tokenHash;
  std::string principal;
  std::int64_t created = 0;
  std::int64_t expires = 0;
};

// What a caller asks to log; the store gives it seq, prev_hash and hash.
// The audit chain's types live in core (keyturn/audit_chain.h), shared with the CLI
// that verifies exports.
using AuditEvent = audit::AuditEvent;
using AuditEntry = audit::AuditEntry;

// Filters of listAuditFiltered(); empty members do not filter. Ascending seq.
struct AuditFilter {
  std::int64_t fromSeq = 1;       // entries with seq >= fromSeq
  std::optional<std::string> event;        // exact, or a prefix when it ends with '*'
  std::optional<std::string> actor;        // exact
  std::optional<std::string> subject;      // exact (a request id, device id, ...)
  std::optional<std::int64_t> since;       // at >= since
  std::optional<std::int64_t> until;       // at < until
  std::int64_t limit = 100;
};

// Filters of listRequests() and countRequests(); empty members do not filter. Newest
// first: by created, then id, both descending.
struct RequestFilter {
  std::optional<std::string> requester;
  std::optional<std::string> state;
  std::optional<std::string> action;
  std::int64_t limit = 100;
  std::int64_t offset = 0;
  std::optional<std::string> device;  // requests with this device among their targets
  // Keyset pagination: only requests after this (created, id) in the order above.
  std::optional<std::pair<std::int64_t, std::string>> after;
};

}  // namespace keyturn::server
