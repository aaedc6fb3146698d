// The Store on SQLite through Poco::Data: one connection, serialised by a mutex (SQLite
// has a single writer anyway), WAL journal, busy timeout, schema migrated on open.
#pragma once

#include <Poco/Data/Session.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "store/statement_cache.h"
#include "store/storage_error.h"
#include "store/store.h"
#include "store/transaction.h"

namespace keyturn::server {

struct SqliteOptions {
  int busyTimeoutMs = 5000;  // how long a write waits for another writer's lock
};

class SqliteStore final : public Store {
 public:
  // Opens or creates the database at `path`, enables WAL and foreign keys, and migrates
  // it to the latest embedded schema. Fails with reason "storage" and a detail naming
  // the path when the file cannot be opened, written or migrated (a read-only folder,
  // a full disk, a database from a newer build); never throws.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path,
                                                   const SqliteOptions& options = {});

  Status insertRequest(const RequestRecord& request, const std::vector<std::string>& deviceIds,
                       const SignatureRecord& requesterSignature,
                       const OptionalAudit& audit) override;
  Result<RequestRecord> getRequest(const std::string& id) override;
  Result<std::vector<RequestRecord>> listRequests(const RequestFilter& filter) override;
  Result<std::int64_t> countRequests(const RequestFilter& filter) override;
  Result<std::vector<SignatureRecord>> signatures(const std::string& requestId) override;
  Result<std::vector<RejectionRecord>> rejections(const std::string& requestId) override;
  Result<std::vector<TargetRecord>> targets(const std::string& requestId) override;
  Result<StoredRequest> loadRequest(const std::string& id) override;
  Result<std::map<std::string, std::vector<SignatureRecord>>> signaturesOf(
      const std::vector<std::string>& requestIds) override;
  Status addApproval(const SignatureRecord& approval, const std::string& expectedState,
                     const std::optional<std::string>& nextState,
                     const OptionalAudit& audit) override;
  Status addRejection(const RejectionRecord& rejection, const std::string& expectedState,
                      const OptionalAudit& audit) override;
  Status setState(const std::string& id, const std::string& expectedState,
                  const std::string& nextState, std::int64_t at,
                  const OptionalAudit& audit) override;
  Status completeRequest(const SignatureRecord& completer,
                         const std::vector<std::pair<std::string, std::string>>& tokens,
                         const OptionalAudit& audit) override;
  Result<std::vector<std::string>> expireDue(std::int64_t now,
                                             const ExpiryEvents& notify = nullptr) override;

  Result<std::vector<TargetRecord>> queuedTokens(const std::string& deviceId,
                                                 std::int64_t redeliverAtOrBefore) override;
  Status markDelivered(const std::string& requestId, const std::string& deviceId,
                       std::int64_t at, const OptionalAudit& audit) override;
  Result<bool> recordResult(const std::string& requestId, const std::string& deviceId,
                            const std::string& resultState, const std::string& resultJson,
                            std::int64_t at, const OptionalAudit& audit) override;

  Status insertDevice(const DeviceRecord& device, const OptionalAudit& audit) override;
  Result<DeviceRecord> getDevice(const std::string& id) override;
  Result<std::vector<DeviceRecord>> listDevices(bool includeRemoved) override;
  Status updateDeviceFacts(const std::string& id, const std::string& factsJson,
                           std::int64_t at) override;
  Status setDeviceVersions(const std::string& id, const std::string& agentVersion,
                           std::int64_t bundleVersion, const std::string& librariesJson) override;
  Status touchDevice(const std::string& id, std::int64_t at) override;
  Status insertArtifact(const ArtifactRecord& artifact, const OptionalAudit& audit) override;
  Result<ArtifactRecord> getArtifact(const std::string& sha256) override;
  Result<std::vector<ArtifactRecord>> listArtifacts() override;
  Result<std::vector<RequestUse>> requestUses(const std::string& action) override;
  Status deleteArtifact(const std::string& sha256, const std::string& action, std::int64_t since,
                        const OptionalAudit& audit) override;
  Result<std::vector<std::string>> openTokenParams(const std::string& deviceId,
                                                   const std::string& action) override;
  Status removeDevice(const std::string& id, std::int64_t at, const OptionalAudit& audit) override;
  Status insertEnrollmentCode(const EnrollmentCodeRecord& code, const OptionalAudit& audit) override;
  Result<EnrollmentCodeRecord> consumeEnrollmentCode(const std::string& codeHash,
                                                     const std::string& deviceId,
                                                     std::int64_t now) override;

  Status insertBundle(const BundleRecord& bundle, const OptionalAudit& audit) override;
  Result<BundleRecord> latestBundle() override;
  Result<std::vector<BundleRecord>> bundlesFrom(std::int64_t fromVersion) override;

  Status insertChallenge(const ChallengeRecord& challenge) override;
  Result<ChallengeRecord> consumeChallenge(const std::string& challengeHash,
                                           std::int64_t now) override;
  Status insertSession(const SessionRecord& session) override;
  Result<SessionRecord> getSession(const std::string& tokenHash, std::int64_t now) override;
  Status deleteSession(const std::string& tokenHash) override;
  Result<std::int64_t> purgeExpired(std::int64_t now) override;

  Result<AuditEntry> appendAudit(const AuditEvent& event, std::int64_t at) override;
  Result<std::vector<AuditEntry>> listAudit(std::int64_t fromSeq, std::int64_t limit) override;
  Result<std::vector<AuditEntry>> listAuditFiltered(const AuditFilter& filter) override;
  Status forEachAudit(const std::function<bool(const AuditEntry&)>& visit) override;

  // sqlite_store_outbox.cpp
  Result<std::int64_t> insertNotifications(const std::vector<NotificationEvent>& events) override;
  Result<std::vector<NotificationEvent>> eventsToFanOut(std::int64_t limit) override;
  Status fanOut(const FanOutBatch& batch) override;
  Result<std::vector<DueDelivery>> dueDeliveries(std::int64_t now, std::int64_t limit) override;
  Status recordDeliveryAttempt(const NotificationDelivery& outcome,
                               const OptionalAudit& audit) override;
  Status recordDeliveryAttempts(
      const std::vector<std::pair<NotificationDelivery, OptionalAudit>>& outcomes) override;
  Result<OutboxStatus> outboxStatus(std::int64_t failureLimit) override;
  Result<std::vector<RequestRecord>> requestsWithoutEvent(const std::string& state,
                                                          const std::string& eventKind,
                                                          std::int64_t updatedSince,
                                                          bool allTargetsFinal,
                                                          std::int64_t limit) override;
  Result<std::vector<RequestRecord>> completedWithoutResults(const std::string& eventKind,
                                                             std::int64_t updatedSince,
                                                             std::int64_t tokensDeadBefore,
                                                             std::int64_t limit) override;
  Result<std::pair<std::int64_t, std::int64_t>> pruneOutbox(std::int64_t sentBefore,
                                                            std::int64_t failedBefore,
                                                            std::int64_t limit) override;
  // sqlite_store_metrics.cpp
  Result<StoreMetrics> metrics() override;

 private:
  enum class Durability { kFull, kNormal };

  SqliteStore(const Poco::Data::Session& writer, const Poco::Data::Session& reader);

  // Runs `body` (returning Status, free to throw Poco exceptions) inside a write
  // transaction under the mutex; its changes are committed only if it returned ok, and
  // write() returns ok only once they are committed (with kFull: synced to disk). Every
  // exception becomes reason "storage" (or "conflict" for a constraint violation) naming
  // `what`.
  // Group commit: kFull writes that arrive while another is committing wait, then run
  // together in one transaction, each body inside its own SAVEPOINT (a failing body
  // rolls back to it and leaves the others), so concurrent callers share one fsync. A
  // failed COMMIT fails every body of the group; none is acknowledged.
  Status write(const char* what, Durability durability, const std::function<Status()>& body);
  struct PendingWrite {
    const char* what;
    const std::function<Status()>* body;
    Status status;
    bool done = false;
  };
  // One transaction for `group` under the mutex; sets each entry's status.
  void commitGroup(const std::vector<PendingWrite*>& group);
  // `body` inside the open transaction, exceptions converted as write() describes.
  Status runBody(const PendingWrite& w);
  // Runs a read-only `body` on the reader connection under its own mutex, inside one
  // read transaction (one snapshot of committed data for the whole body), converting
  // exceptions the same way. Reads never wait for a commit's fsync on the writer.
  Status read(const char* what, const std::function<Status()>& body);
  // The rows of one request, inside the caller's read() or write().
  Status readRequest(const std::string& id, RequestRecord& out);
  void readSignatures(const std::string& requestId, std::vector<SignatureRecord>& out);
  void readRejections(const std::string& requestId, std::vector<RejectionRecord>& out);
  void readTargets(const std::string& requestId, std::vector<TargetRecord>& out);
  // Sets PRAGMA synchronous when it differs from the connection's current setting.
  void setDurability(Durability durability);
  // Appends inside the caller's transaction (the chain head is read under its lock).
  AuditEntry appendAuditLocked(const AuditEvent& event, std::int64_t at);
  void appendIf(const OptionalAudit& audit, std::int64_t at);
  // Inserts events inside the caller's transaction; a known id is skipped. Returns how
  // many were new.
  std::int64_t insertNotificationsLocked(const std::vector<NotificationEvent>& events);
  // The events `notify` makes for the requests `ids` (rows read inside the transaction).
  std::vector<NotificationEvent> expiryEventsLocked(const std::vector<std::string>& ids,
                                                    const ExpiryEvents& notify);
  // One outcome inside the caller's transaction; false when the row is not pending.
  bool recordDeliveryLocked(const NotificationDelivery& outcome, const OptionalAudit& audit);
  // The request's current state inside a transaction; "not_found" / "state_changed".
  Status expectState(const std::string& id, const std::string& expected);

  // One SQLite connection and its prepared statements (the hot statements, compiled
  // once on the connection's handle; statements is declared after session so it is
  // finalized before the connection closes).
  struct Connection {
    explicit Connection(const Poco::Data::Session& s);
    Poco::Data::Session session;
    StatementCache statements;
  };
  // The connection of the write() or read() running on this thread (the writer when
  // none is): store bodies reach the database only through db() and stmts(), so the
  // same body code runs on either connection.
  Connection& current();
  Poco::Data::Session& db() { return current().session; }
  StatementCache& stmts() { return current().statements; }
  static thread_local Connection* active_;

  // Two connections to one WAL database: every write on writer_ under mu_ (one writer,
  // as SQLite allows), every read on reader_ under readMu_ (PRAGMA query_only). WAL lets
  // the reader read committed data while the writer commits, so a request's session
  // lookup and its reply do not queue behind another request's fsync.
  std::mutex mu_;
  Connection writer_;
  std::mutex readMu_;
  Connection reader_;
  // Group commit (write()): kFull writes queue here while a leader commits.
  std::mutex groupMu_;
  std::condition_variable groupCv_;
  std::vector<PendingWrite*> groupQueue_;
  bool groupLeader_ = false;
  Durability durability_ = Durability::kFull;
};

}  // namespace keyturn::server
