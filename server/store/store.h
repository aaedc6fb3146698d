// The coordinator's storage interface: every read and write the workflow needs, and
// nothing else. Implementations hold only SQL; workflow rules (who may approve, what a
// policy requires) live in the services that call this.
//
// Every method returns a Status or Result and never throws. Failures carry reason
// "storage" (the database could not do it), "not_found", "conflict" (a duplicate or a
// differing row) or "state_changed" (an optimistic state check lost a race). Methods
// taking an `audit` event append it to the audit chain in the same transaction as the
// change, so an acknowledged change and its audit entry are durable together or not at
// all. Workflow changes are durable (fsync) when the call returns.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "keyturn/result.h"
#include "store/metrics_records.h"
#include "store/notification_records.h"
#include "store/records.h"

namespace keyturn::server {

// What a change writes beside its own rows, in the same transaction: an audit event
// (optional) and the notification events announcing the change (issue 7). Constructed
// implicitly from an AuditEvent or std::nullopt, so callers that only audit write
// `AuditEvent{...}` as before.
struct OptionalAudit {
  OptionalAudit() = default;
  OptionalAudit(std::nullopt_t) {}
  OptionalAudit(AuditEvent e) : event(std::move(e)) {}
  OptionalAudit(std::optional<AuditEvent> e) : event(std::move(e)) {}
  OptionalAudit(AuditEvent e, std::vector<NotificationEvent> n)
      : event(std::move(e)), notifications(std::move(n)) {}

  std::optional<AuditEvent> event;
  std::vector<NotificationEvent> notifications;  // a known event id is skipped

  explicit operator bool() const { return event.has_value(); }
  const AuditEvent& operator*() const { return *event; }
  const AuditEvent* operator->() const { return &*event; }
};

class Store {
 public:
  virtual ~Store() = default;

  // --- Requests -------------------------------------------------------------------
  // Inserts the request, its target rows (in `deviceIds` order, state "queued" without a
  // token: nothing is delivered before completion) and the requester's signature.
  // "conflict" if the id exists or another request with the same tenant, action and
  // target root is still needs_approval or approved (one pending request per target set).
  virtual Status insertRequest(const RequestRecord& request,
                               const std::vector<std::string>& deviceIds,
                               const SignatureRecord& requesterSignature,
                               const OptionalAudit& audit) = 0;
  virtual Result<RequestRecord> getRequest(const std::string& id) = 0;
  virtual Result<std::vector<RequestRecord>> listRequests(const RequestFilter& filter) = 0;
  // How many requests match `filter` (its after, limit and offset ignored).
  virtual Result<std::int64_t> countRequests(const RequestFilter& filter) = 0;
  // Signatures in the order they were added (requester first).
  virtual Result<std::vector<SignatureRecord>> signatures(const std::string& requestId) = 0;
  // The signatures of several requests in one read (a listing page): each id present
  // in the map, with its signatures in the order signatures() gives.
  virtual Result<std::map<std::string, std::vector<SignatureRecord>>> signaturesOf(
      const std::vector<std::string>& requestIds) = 0;
  virtual Result<std::vector<RejectionRecord>> rejections(const std::string& requestId) = 0;
  virtual Result<std::vector<TargetRecord>> targets(const std::string& requestId) = 0;
  // The request, its signatures, rejections and targets, all from one snapshot (what
  // the four reads above give, without a change landing between them); "not_found".
  virtual Result<StoredRequest> loadRequest(const std::string& id) = 0;

  // Adds an approver signature while the request is still in `expectedState`; and, if
  // `nextState` is given, moves it there in the same transaction (the last approval
  // needed). "state_changed" if the request left `expectedState`; "conflict" if this
  // principal already approved.
  virtual Status addApproval(const SignatureRecord& approval, const std::string& expectedState,
                             const std::optional<std::string>& nextState,
                             const OptionalAudit& audit) = 0;
  // Records a rejection and moves the request from `expectedState` to "rejected".
  virtual Status addRejection(const RejectionRecord& rejection, const std::string& expectedState,
                              const OptionalAudit& audit) = 0;
  // Moves a request from `expectedState` to `nextState`: "state_changed" if its state
  // is no longer `expectedState` (this is how an approval racing an expiry is refused),
  // "not_found" if there is no such request.
  virtual Status setState(const std::string& id, const std::string& expectedState,
                          const std::string& nextState, std::int64_t at,
                          const OptionalAudit& audit) = 0;
  // Completion in one transaction: approved -> completed, the completer signature, and
  // one issued token per target (device id -> token JSON), queued for delivery. Every
  // target must get a token ("conflict" otherwise).
  virtual Status completeRequest(const SignatureRecord& completer,
                                 const std::vector<std::pair<std::string, std::string>>& tokens,
                                 const OptionalAudit& audit) = 0;
  // Moves every needs_approval/approved request with expires <= now to "expired" and
  // returns their ids (one audit entry "request.expired" each, actor "coordinator").
  // `notify`, when given, makes the notification events of each expired request (from
  // its row as it was before expiring); they are written in the same transaction. It
  // must not call the store.
  using ExpiryEvents = std::function<std::vector<NotificationEvent>(const RequestRecord&)>;
  virtual Result<std::vector<std::string>> expireDue(std::int64_t now,
                                                     const ExpiryEvents& notify = nullptr) = 0;

  // --- Delivery to devices ------------------------------------------------------------
  // Targets of completed requests with a token for this device that is either not yet
  // delivered, or delivered at or before `redeliverAtOrBefore` and still without a result
  // (the reply carrying it may never have reached the agent: delivery is at least once,
  // and the agent's journal makes execution exactly once).
  virtual Result<std::vector<TargetRecord>> queuedTokens(const std::string& deviceId,
                                                         std::int64_t redeliverAtOrBefore) = 0;
  // queued -> delivered (with the audit entry); delivering again only moves the
  // delivery time, so the next redelivery waits a whole lease. "not_found" if no such
  // target.
  virtual Status markDelivered(const std::string& requestId, const std::string& deviceId,
                               std::int64_t at, const OptionalAudit& audit) = 0;
  // Records a device's execution result (state succeeded/failed/interrupted). Returns
  // true when recorded now, false when the identical result was already recorded (a
  // retried report); "conflict" when a different result is already there.
  virtual Result<bool> recordResult(const std::string& requestId, const std::string& deviceId,
                                    const std::string& resultState, const std::string& resultJson,
                                    std::int64_t at, const OptionalAudit& audit) = 0;

  // --- Devices and enrollment ---------------------------------------------------------
  virtual Status insertDevice(const DeviceRecord& device, const OptionalAudit& audit) = 0;
  virtual Result<DeviceRecord> getDevice(const std::string& id) = 0;
  // Active devices only (removed_at unset), unless includeRemoved.
  virtual Result<std::vector<DeviceRecord>> listDevices(bool includeRemoved) = 0;
  virtual Status updateDeviceFacts(const std::string& id, const std::string& factsJson,
                                   std::int64_t at) = 0;
  // Records the agent version, trust bundle version and libraries (a JSON array, ""
  // when not reported) a device reported with its facts. "not_found" if no such
  // active device.
  virtual Status setDeviceVersions(const std::string& id, const std::string& agentVersion,
                                   std::int64_t bundleVersion,
                                   const std::string& librariesJson) = 0;
  // Sets last_contact; relaxed durability (losing it on power failure is harmless).
  virtual Status touchDevice(const std::string& id, std::int64_t at) = 0;
  // Marks removed; "not_found" if unknown or already removed.
  virtual Status removeDevice(const std::string& id, std::int64_t at,
                              const OptionalAudit& audit) = 0;
  virtual Status insertEnrollmentCode(const EnrollmentCodeRecord& code,
                                      const OptionalAudit& audit) = 0;
  // Single use: marks the code used by `deviceId` if unused and unexpired at `now`;
  // "not_found" otherwise (unknown, used and expired look the same to a caller).
  virtual Result<EnrollmentCodeRecord> consumeEnrollmentCode(const std::string& codeHash,
                                                             const std::string& deviceId,
                                                             std::int64_t now) = 0;

  // --- Artifacts ----------------------------------------------------------------------
  // "conflict" when an artifact with this sha256 is already recorded.
  virtual Status insertArtifact(const ArtifactRecord& artifact, const OptionalAudit& audit) = 0;
  // "not_found" when none.
  virtual Result<ArtifactRecord> getArtifact(const std::string& sha256) = 0;
  // Newest first.
  virtual Result<std::vector<ArtifactRecord>> listArtifacts() = 0;
  // Every request of `action`: its params, whether it is open and when it last changed.
  virtual Result<std::vector<RequestUse>> requestUses(const std::string& action) = 0;
  // Deletes the row of artifact `sha256` with `audit`, in one transaction, unless a
  // request of `action` changed at or after `since` ("conflict": the uses the caller
  // decided on are stale). "not_found" when there is no such row.
  virtual Status deleteArtifact(const std::string& sha256, const std::string& action,
                                std::int64_t since, const OptionalAudit& audit) = 0;
  // The params_json of every request with `action` whose token was issued to `deviceId`
  // and has no result yet (target state queued or delivered, token set): what that
  // device may still need to fetch.
  virtual Result<std::vector<std::string>> openTokenParams(const std::string& deviceId,
                                                           const std::string& action) = 0;

  // --- Bundles ------------------------------------------------------------------------
  virtual Status insertBundle(const BundleRecord& bundle, const OptionalAudit& audit) = 0;
  // "not_found" when no bundle was published yet.
  virtual Result<BundleRecord> latestBundle() = 0;
  // Bundles with version >= fromVersion, ascending.
  virtual Result<std::vector<BundleRecord>> bundlesFrom(std::int64_t fromVersion) = 0;

  // --- Login challenges and sessions ----------------------------------------------------
  virtual Status insertChallenge(const ChallengeRecord& challenge) = 0;
  // Deletes and returns the challenge if unexpired at `now`; "not_found" otherwise.
  virtual Result<ChallengeRecord> consumeChallenge(const std::string& challengeHash,
                                                   std::int64_t now) = 0;
  virtual Status insertSession(const SessionRecord& session) = 0;
  // The session if unexpired at `now`; "not_found" otherwise.
  virtual Result<SessionRecord> getSession(const std::string& tokenHash, std::int64_t now) = 0;
  virtual Status deleteSession(const std::string& tokenHash) = 0;
  // Deletes expired challenges and sessions; returns how many rows went.
  virtual Result<std::int64_t> purgeExpired(std::int64_t now) = 0;

  // --- Audit ----------------------------------------------------------------------------
  // Appends one entry on its own (for events with no other change, e.g. a refused
  // attempt) and returns it with seq and hashes.
  virtual Result<AuditEntry> appendAudit(const AuditEvent& event, std::int64_t at) = 0;
  // Up to `limit` entries with seq >= fromSeq, ascending.
  virtual Result<std::vector<AuditEntry>> listAudit(std::int64_t fromSeq, std::int64_t limit) = 0;
  // Up to `filter.limit` entries matching `filter`, ascending seq, searched over the
  // whole log (not a page of it).
  virtual Result<std::vector<AuditEntry>> listAuditFiltered(const AuditFilter& filter) = 0;
  // Calls `visit` for every entry in seq order, in pages, without loading the whole
  // log; stops early (returning ok) when `visit` returns false.
  virtual Status forEachAudit(const std::function<bool(const AuditEntry&)>& visit) = 0;

  // --- Notification outbox (issue 7) --------------------------------------------------
  // Writes the events whose id is not stored yet (a known id is skipped, so a sweep may
  // offer the same event again); returns how many were new. Durable on return.
  virtual Result<std::int64_t> insertNotifications(const std::vector<NotificationEvent>& events) = 0;
  // Events not yet expanded into deliveries, oldest first.
  virtual Result<std::vector<NotificationEvent>> eventsToFanOut(std::int64_t limit) = 0;
  // In one transaction, for each (event id, deliveries): marks the event fanned out and
  // inserts its deliveries (a known idempotency key is skipped). An event already fanned
  // out is skipped with its deliveries. "invalid_argument" when a delivery names another
  // event or a bad state (nothing is written).
  using FanOutBatch = std::vector<std::pair<std::string, std::vector<NotificationDelivery>>>;
  virtual Status fanOut(const FanOutBatch& batch) = 0;
  // Pending deliveries with next_attempt <= now, oldest first, with their events.
  virtual Result<std::vector<DueDelivery>> dueDeliveries(std::int64_t now, std::int64_t limit) = 0;
  // Records the outcome of an attempt (state, attempts, next_attempt, last_error,
  // sent_at of `outcome`) on a delivery that is still pending, with the audit event in
  // the same transaction; "state_changed" if it is no longer pending.
  virtual Status recordDeliveryAttempt(const NotificationDelivery& outcome,
                                       const OptionalAudit& audit) = 0;
  // Several outcomes in one transaction (one disk sync for a batch of sends); a delivery
  // that is no longer pending is skipped.
  virtual Status recordDeliveryAttempts(
      const std::vector<std::pair<NotificationDelivery, OptionalAudit>>& outcomes) = 0;
  // Counts by state, and the `failureLimit` most recent failed or retrying deliveries.
  virtual Result<OutboxStatus> outboxStatus(std::int64_t failureLimit) = 0;
  // Requests in `state`, updated at or after `updatedSince`, for which no event with id
  // "<request id>:<eventKind>" exists; with `allTargetsFinal`, only those with targets, none of
  // which is still queued or delivered. Oldest first. (The sweep's catch-up query.)
  virtual Result<std::vector<RequestRecord>> requestsWithoutEvent(const std::string& state,
                                                                  const std::string& eventKind,
                                                                  std::int64_t updatedSince,
                                                                  bool allTargetsFinal,
                                                                  std::int64_t limit) = 0;

  // Completed requests without an event "<request id>:<eventKind>" whose results are
  // due: every target reported (none queued or delivered), or completed (`updated`) at
  // or before `tokensDeadBefore`, so their tokens can no longer run. Only requests
  // updated at or after `updatedSince`. Oldest first. (The results sweep.)
  virtual Result<std::vector<RequestRecord>> completedWithoutResults(const std::string& eventKind,
                                                                     std::int64_t updatedSince,
                                                                     std::int64_t tokensDeadBefore,
                                                                     std::int64_t limit) = 0;
  // Retention: deletes sent deliveries last updated before `sentBefore` and failed ones
  // before `failedBefore` (pending ones never), then empties the body and recipients of
  // every fanned-out event created before min(sentBefore, failedBefore) that has no
  // delivery left. The event's id stays, so a sweep never writes it again. At most
  // `limit` of each per call (one short transaction; call again while either count is
  // `limit`). Returns the deliveries deleted and the events emptied.
  virtual Result<std::pair<std::int64_t, std::int64_t>> pruneOutbox(std::int64_t sentBefore,
                                                                    std::int64_t failedBefore,
                                                                    std::int64_t limit) = 0;

  // --- Metrics (issue 7) ------------------------------------------------------------------
  // Counts for /metrics, read in one pass.
  virtual Result<StoreMetrics> metrics() = 0;
};

}  // namespace keyturn::server
