// Who is told what, and when (issue 7). The workflow writes the events announcing a
// state change in the same transaction as the change (Store's OptionalAudit carries
// them); the time-driven events — reminders before expiry, expiry, execution results,
// a trust bundle about to expire — are written by NotificationSweep, each under a fixed
// event id so it is written once however often the sweep runs or the server restarts.
//
// An event names its recipients (principals) and carries the facts a message is made
// of: request id, action, requester, justification, device count and the first device
// ids, notes, results. Never a token, a signature, a parameter value or a key: the
// request's parameters are left out on purpose (the console shows them to whoever may
// see the request).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "keyturn/bundle_verifier.h"
#include "keyturn/result.h"
#include "store/store.h"

namespace keyturn::server {

struct NotificationOptions {
  bool enabled = true;
  // Reminders before a pending request expires (seconds before `expires`).
  std::vector<std::int64_t> reminders = {7 * 86400, 86400};
  // Warnings to the update group before the bundle in force expires.
  std::vector<std::int64_t> bundleWarnings = {30 * 86400, 7 * 86400};
  // How far back (by `updated`) the sweep looks for expired or finished requests
  // without their event: bounds the query, and what a first start after an upgrade
  // announces.
  std::int64_t catchUp = 2 * 86400;
  // How long an issued token can still run: the workflow's issue window plus the
  // agents' clock skew on both ends. A request's results are sent when every target
  // reported, or once its tokens are past this, whichever comes first.
  std::int64_t tokenLifetime = 7 * 86400 + 600;
};

namespace notify {

// Event kinds.
inline constexpr const char* kSubmitted = "request.submitted";   // -> approvers
inline constexpr const char* kApproved = "request.approved";     // -> requester (notes)
inline constexpr const char* kRejected = "request.rejected";     // -> requester (notes)
inline constexpr const char* kReady = "request.ready";           // -> requester
inline constexpr const char* kReminder = "request.reminder";     // -> approvers / requester
inline constexpr const char* kExpired = "request.expired";       // -> requester
inline constexpr const char* kResults = "request.results";       // -> requester
inline constexpr const char* kBundleProposed = "bundle.proposed";    // -> update group
inline constexpr const char* kBundlePublished = "bundle.published";  // -> update group
inline constexpr const char* kBundleExpiring = "bundle.expiring";    // -> update group

// Devices named in a message; beyond this only the count is given.
inline constexpr std::size_t kMaxDevicesNamed = 10;

// Principals who may approve `r` now under `bundle`, by core's mayApprove (so exactly
// those the approve route would accept), in bundle order. For a bundle proposal: the
// update group's members who have not signed, the requester excepted.
std::vector<std::string> approversNow(const TrustBundle& bundle, const RequestRecord& r,
                                      const std::vector<SignatureRecord>& signatures);
// Members of `group` in bundle order, `except` left out.
std::vector<std::string> groupMembers(const TrustBundle& bundle, const std::string& group,
                                      const std::string& except = "");

// The facts of a request as a JSON object text: request, action, requester,
// justification, state, expires, targets (count), devices (at most kMaxDevicesNamed),
// then `extra` (key, already-encoded JSON value) pairs.
std::string requestFacts(const RequestRecord& r, const std::vector<std::string>& deviceIds,
                         const std::vector<std::pair<std::string, std::string>>& extra = {});

// An event with id "<subject>:<kind>[:<discriminator>]".
NotificationEvent makeEvent(const std::string& subject, const std::string& kind,
                            const std::string& discriminator,
                            const std::vector<std::string>& recipients,
                            const std::string& bodyJson, std::int64_t at);

}  // namespace notify

// The time-driven events. run() is called periodically by the delivery worker; it only
// writes events (never sends) and is safe to run again at any time.
class NotificationSweep {
 public:
  NotificationSweep(Store& store, NotificationOptions options)
      : store_(store), options_(std::move(options)) {}
  // Writes the events due at `now`; returns how many were new.
  Result<std::int64_t> run(const AcceptedBundle& bundle, std::int64_t now);

 private:
  Result<std::int64_t> reminders(const AcceptedBundle& bundle, std::int64_t now);
  Result<std::int64_t> expired(std::int64_t now);
  Result<std::int64_t> results(std::int64_t now);
  Result<std::int64_t> bundleExpiry(const AcceptedBundle& bundle, std::int64_t now);

  Store& store_;
  NotificationOptions options_;
};

}  // namespace keyturn::server
