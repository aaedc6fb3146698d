// SqliteStore: the workflow's state changes, delivery and execution results.
#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>

#include "store/sqlite_rows.h"
#include "store/sqlite_store.h"

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Statement;
using Poco::Int64;

namespace keyturn::server {
namespace {

bool isResultState(const std::string& s) {
  return s == state::kSucceeded || s == state::kFailed || s == state::kInterrupted;
}

}  // namespace

Status SqliteStore::addApproval(const SignatureRecord& a, const std::string& expectedState,
                                const std::optional<std::string>& nextState,
                                const OptionalAudit& audit) {
  return write("add approval", Durability::kFull, [&]() -> Status {
    static const std::string kAlready =
        "SELECT COUNT(*) FROM request_signatures WHERE request_id = ? AND role = 'approver'"
        " AND principal = ?";
    static const std::string kInsert =
        "INSERT INTO request_signatures (request_id, role, principal, kid, at,"
        " protected_b64, signature_b64, notes) VALUES (?, 'approver', ?, ?, ?, ?, ?, ?)";
    static const std::string kState = "UPDATE requests SET state = ?, updated = ? WHERE id = ?";
    static const std::string kTouch = "UPDATE requests SET updated = ? WHERE id = ?";
    if (auto s = expectState(a.requestId, expectedState); !s) return s;
    Int64 already = 0;
    {
      auto q = stmts().query(kAlready);
      q.bind(a.requestId).bind(a.principal);
      if (q.step()) already = q.integer(0);
    }
    if (already > 0) {
      return Status::fail(kConflict, a.principal + " already approved request " + a.requestId);
    }
    stmts().query(kInsert)
        .bind(a.requestId).bind(a.principal).bind(a.kid).bind(a.at).bind(a.protectedB64)
        .bind(a.signatureB64).bind(a.notes)
        .execute();
    if (nextState) {
      stmts().query(kState).bind(*nextState).bind(a.at).bind(a.requestId).execute();
    } else {
      stmts().query(kTouch).bind(a.at).bind(a.requestId).execute();
    }
    appendIf(audit, a.at);
    return Status::ok();
  });
}

Status SqliteStore::addRejection(const RejectionRecord& r, const std::string& expectedState,
                                 const OptionalAudit& audit) {
  return write("add rejection", Durability::kFull, [&]() -> Status {
    if (auto s = expectState(r.requestId, expectedState); !s) return s;
    db() << "INSERT INTO rejections (request_id, principal, notes, at) VALUES (?, ?, ?, ?)",
        bind(r.requestId), bind(r.principal), bind(r.notes), bind(Int64(r.at)), now;
    db() << "UPDATE requests SET state = 'rejected', updated = ? WHERE id = ?",
        bind(Int64(r.at)), bind(r.requestId), now;
    appendIf(audit, r.at);
    return Status::ok();
  });
}

Status SqliteStore::setState(const std::string& id, const std::string& expectedState,
                             const std::string& nextState, std::int64_t at,
                             const OptionalAudit& audit) {
  return write("set request state", Durability::kFull, [&]() -> Status {
    Statement update(db());
    update << "UPDATE requests SET state = ?, updated = ? WHERE id = ? AND state = ?",
        bind(nextState), bind(Int64(at)), bind(id), bind(expectedState);
    if (update.execute() == 0) {
      auto s = expectState(id, expectedState);
      return s ? Status::fail(kStateChanged, "request " + id + " changed meanwhile") : s;
    }
    appendIf(audit, at);
    return Status::ok();
  });
}

Status SqliteStore::completeRequest(const SignatureRecord& c,
                                    const std::vector<std::pair<std::string, std::string>>& tokens,
                                    const OptionalAudit& audit) {
  return write("complete request", Durability::kFull, [&]() -> Status {
    static const std::string kCount = "SELECT COUNT(*) FROM request_targets WHERE request_id = ?";
    static const std::string kInsert =
        "INSERT INTO request_signatures (request_id, role, principal, kid, at,"
        " protected_b64, signature_b64, notes) VALUES (?, 'completer', ?, ?, ?, ?, ?, ?)";
    static const std::string kToken =
        "UPDATE request_targets SET token = ?, state = 'queued', updated = ?"
        " WHERE request_id = ? AND device_id = ?";
    static const std::string kMissing =
        "SELECT COUNT(*) FROM request_targets WHERE request_id = ? AND token IS NULL";
    static const std::string kCompleted =
        "UPDATE requests SET state = 'completed', updated = ? WHERE id = ?";
    auto count = [&](const std::string& sql) {
      auto q = stmts().query(sql);
      q.bind(c.requestId);
      return q.step() ? q.integer(0) : Int64(0);
    };
    if (auto s = expectState(c.requestId, state::kApproved); !s) return s;
    const Int64 targetCount = count(kCount);
    if (targetCount != static_cast<Int64>(tokens.size())) {
      return Status::fail(kConflict, "request " + c.requestId + " has " +
                                         std::to_string(targetCount) + " targets but " +
                                         std::to_string(tokens.size()) + " tokens were issued");
    }
    stmts().query(kInsert)
        .bind(c.requestId).bind(c.principal).bind(c.kid).bind(c.at).bind(c.protectedB64)
        .bind(c.signatureB64).bind(c.notes)
        .execute();
    if (!tokens.empty()) {
      for (const auto& [device, token] : tokens)
        stmts().query(kToken).bind(token).bind(c.at).bind(c.requestId).bind(device).execute();
      const Int64 missing = count(kMissing);
      if (missing != 0) {
        return Status::fail(kConflict, std::to_string(missing) + " targets of request " +
                                           c.requestId + " got no token");
      }
    }
    stmts().query(kCompleted).bind(c.at).bind(c.requestId).execute();
    appendIf(audit, c.at);
    return Status::ok();
  });
}

Result<std::vector<std::string>> SqliteStore::expireDue(std::int64_t nowSeconds,
                                                         const ExpiryEvents& notify) {
  std::vector<std::string> expired;
  auto s = write("expire requests", Durability::kFull, [&]() -> Status {
    expired.clear();
    db() << "SELECT id FROM requests WHERE state IN ('needs_approval', 'approved')"
                " AND expires <= ? ORDER BY id",
        bind(Int64(nowSeconds)), into(expired), now;
    for (const auto& id : expired) {
      db() << "UPDATE requests SET state = 'expired', updated = ? WHERE id = ?",
          bind(Int64(nowSeconds)), bind(id), now;
      db() << "UPDATE request_targets SET state = 'expired', updated = ? WHERE request_id = ?",
          bind(Int64(nowSeconds)), bind(id), now;
      appendAuditLocked({"coordinator", "request.expired", id, "{}"}, nowSeconds);
    }
    if (notify) insertNotificationsLocked(expiryEventsLocked(expired, notify));
    return Status::ok();
  });
  if (!s) return s.error();
  return expired;
}

Result<std::vector<TargetRecord>> SqliteStore::queuedTokens(const std::string& deviceId,
                                                             std::int64_t redeliverAtOrBefore) {
  std::vector<TargetRecord> out;
  auto s = read("fetch queued tokens", [&]() -> Status {
    Statement st(db());
    st << "SELECT t.request_id AS request_id, t.device_id AS device_id, t.idx AS idx,"
          " t.state AS state, t.token AS token, t.result_json AS result_json,"
          " t.updated AS updated FROM request_targets t JOIN requests r ON r.id = t.request_id"
          " WHERE t.device_id = ? AND t.token IS NOT NULL AND r.state = 'completed'"
          " AND (t.state = 'queued' OR (t.state = 'delivered' AND t.updated <= ?))"
          " ORDER BY t.updated, t.request_id",
        bind(deviceId), bind(Int64(redeliverAtOrBefore));
    st.execute();
    RecordSet rs(st);
    for (bool more = rs.moveFirst(); more; more = rs.moveNext()) out.push_back(rows::target(rs));
    return Status::ok();
  });
  if (!s) return s.error();
  return out;
}

Status SqliteStore::markDelivered(const std::string& requestId, const std::string& deviceId,
                                  std::int64_t at, const OptionalAudit& audit) {
  return write("mark delivered", Durability::kFull, [&]() -> Status {
    std::vector<std::string> found;
    db() << "SELECT state FROM request_targets WHERE request_id = ? AND device_id = ?"
                " AND token IS NOT NULL",
        bind(requestId), bind(deviceId), into(found), now;
    if (found.empty()) {
      return Status::fail(kNotFound, "no token for " + deviceId + " in request " + requestId);
    }
    if (found.front() == state::kDelivered) {  // delivered again: a new lease
      db() << "UPDATE request_targets SET updated = ? WHERE request_id = ? AND device_id = ?",
          bind(Int64(at)), bind(requestId), bind(deviceId), now;
      return Status::ok();
    }
    if (found.front() != state::kQueued) return Status::ok();  // has a result already
    db() << "UPDATE request_targets SET state = 'delivered', updated = ?"
                " WHERE request_id = ? AND device_id = ?",
        bind(Int64(at)), bind(requestId), bind(deviceId), now;
    appendIf(audit, at);
    return Status::ok();
  });
}

Result<bool> SqliteStore::recordResult(const std::string& requestId, const std::string& deviceId,
                                       const std::string& resultState,
                                       const std::string& resultJson, std::int64_t at,
                                       const OptionalAudit& audit) {
  if (!isResultState(resultState)) {
    return Result<bool>::fail(kInvalid, "not an execution result state: " + resultState);
  }
  bool recorded = false;
  auto s = write("record result", Durability::kFull, [&]() -> Status {
    Statement st(db());
    st << std::string("SELECT ") + rows::kTargetColumns +
              " FROM request_targets WHERE request_id = ? AND device_id = ?",
        bind(requestId), bind(deviceId);
    st.execute();
    RecordSet rs(st);
    if (!rs.moveFirst()) {
      return Status::fail(kNotFound, "request " + requestId + " has no target " + deviceId);
    }
    const TargetRecord t = rows::target(rs);
    if (isResultState(t.state)) {
      if (t.state == resultState && t.resultJson == resultJson) return Status::ok();
      return Status::fail(kConflict, "a different result for " + deviceId + " in request " +
                                         requestId + " is already recorded (" + t.state + ")");
    }
    if (!t.token) {
      return Status::fail(kStateChanged, "no token was issued to " + deviceId + " for request " +
                                             requestId);
    }
    db() << "UPDATE request_targets SET state = ?, result_json = ?, updated = ?"
                " WHERE request_id = ? AND device_id = ?",
        bind(resultState), bind(resultJson), bind(Int64(at)), bind(requestId), bind(deviceId), now;
    appendIf(audit, at);
    recorded = true;
    return Status::ok();
  });
  if (!s) return s.error();
  return recorded;
}

}  // namespace keyturn::server
