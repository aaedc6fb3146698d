#include "store/sqlite_store.h"

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/SQLite/SQLiteException.h>
#include <Poco/Data/SQLite/Utility.h>
#include <Poco/Data/Statement.h>

#include <sqlite3.h>

#include "keyturn/json.h"
#include "store/migrator.h"
#include "store/sqlite_rows.h"

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Statement;
using Poco::Int64;

namespace keyturn::server {
namespace {

std::once_flag gRegisterOnce;
constexpr std::size_t kLoginTimeoutSeconds = 5;

// Poco's SQLite connector retries a failed open until its login timeout (60 s by
// default); opening once with SQLite itself first gives a bad path its error at once.
std::string preflightOpen(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  std::string error = rc == SQLITE_OK ? "" : (db ? sqlite3_errmsg(db) : "out of memory");
  sqlite3_close(db);
  return error;
}

std::string sqlOf(const char* head, const char* columns, const char* tail) {
  return std::string(head) + columns + tail;
}

}  // namespace

thread_local SqliteStore::Connection* SqliteStore::active_ = nullptr;

namespace {

// Makes `c` the connection store bodies use on this thread until the scope ends.
template <class Connection>
class UseConnection {
 public:
  UseConnection(Connection*& slot, Connection* c) : slot_(slot), previous_(slot) { slot_ = c; }
  ~UseConnection() { slot_ = previous_; }
  UseConnection(const UseConnection&) = delete;
  UseConnection& operator=(const UseConnection&) = delete;

 private:
  Connection*& slot_;
  Connection* previous_;
};

}  // namespace

SqliteStore::Connection::Connection(const Poco::Data::Session& s)
    : session(s), statements(Poco::Data::SQLite::Utility::dbHandle(session)) {}

SqliteStore::SqliteStore(const Poco::Data::Session& writer, const Poco::Data::Session& reader)
    : writer_(writer), reader_(reader) {}

SqliteStore::Connection& SqliteStore::current() { return active_ ? *active_ : writer_; }

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path,
                                                       const SqliteOptions& options) {
  const std::string where = "database " + path;
  try {
    std::call_once(gRegisterOnce, [] { Poco::Data::SQLite::Connector::registerConnector(); });
    if (auto error = preflightOpen(path); !error.empty()) {
      return Result<std::unique_ptr<SqliteStore>>::fail(kStorage, "cannot open " + where + ": " + error);
    }
    Poco::Data::Session session("SQLite", path, kLoginTimeoutSeconds);
    Int64 timeout = options.busyTimeoutMs;
    session << "PRAGMA busy_timeout = " + std::to_string(timeout), now;
    std::string mode;
    session << "PRAGMA journal_mode = WAL", into(mode), now;
    if (mode != "wal") {
      return Result<std::unique_ptr<SqliteStore>>::fail(
          kStorage, where + ": cannot use the WAL journal (got '" + mode + "')");
    }
    session << "PRAGMA foreign_keys = ON", now;
    session << "PRAGMA synchronous = FULL", now;
    auto migrated = Migrator("sqlite").migrate(session);
    if (!migrated) {
      return Result<std::unique_ptr<SqliteStore>>::fail(kStorage,
                                                        where + ": " + migrated.detail());
    }
    // The reader: same file, already migrated and in WAL mode (a property of the file).
    Poco::Data::Session reader("SQLite", path, kLoginTimeoutSeconds);
    reader << "PRAGMA busy_timeout = " + std::to_string(timeout), now;
    reader << "PRAGMA query_only = ON", now;  // a read body that tried to write would fail
    return std::unique_ptr<SqliteStore>(new SqliteStore(session, reader));
  } catch (const Poco::Exception& e) {
    return storageError("cannot open " + where, e);
  } catch (const std::exception& e) {
    return storageError("cannot open " + where, e);
  }
}

void SqliteStore::setDurability(Durability durability) {
  if (durability == durability_) return;
  writer_.session << (durability == Durability::kFull ? "PRAGMA synchronous = FULL"
                                               : "PRAGMA synchronous = NORMAL"),
      now;
  durability_ = durability;
}

Status SqliteStore::write(const char* what, Durability durability,
                          const std::function<Status()>& body) {
  if (durability == Durability::kFull) {
    PendingWrite mine{what, &body, Status::ok()};
    std::unique_lock<std::mutex> queue(groupMu_);
    groupQueue_.push_back(&mine);
    groupCv_.wait(queue, [&] { return mine.done || !groupLeader_; });
    if (mine.done) return mine.status;  // a leader committed it with its group
    // Lead: take everything queued so far (this write included) as one group.
    groupLeader_ = true;
    std::vector<PendingWrite*> group;
    group.swap(groupQueue_);
    queue.unlock();
    commitGroup(group);
    queue.lock();
    for (PendingWrite* w : group) w->done = true;
    groupLeader_ = false;
    queue.unlock();
    groupCv_.notify_all();
    return mine.status;
  }
  std::lock_guard lock(mu_);
  UseConnection use(active_, &writer_);
  try {
    setDurability(durability);
    Transaction tx(writer_.session);
    if (auto s = tx.begin(); !s) return Status::fail(kStorage, std::string(what) + ": " + s.detail());
    if (auto s = body(); !s) return s;  // the transaction rolls back
    if (auto s = tx.commit(); !s) return Status::fail(kStorage, std::string(what) + ": " + s.detail());
    return Status::ok();
  } catch (const Poco::Data::SQLite::ConstraintViolationException& e) {
    return Status::fail(kConflict, std::string(what) + ": " + e.displayText());
  } catch (const Poco::Exception& e) {
    return storageError(what, e);
  } catch (const std::exception& e) {
    return storageError(what, e);
  }
}

Status SqliteStore::runBody(const PendingWrite& w) {
  try {
    return (*w.body)();
  } catch (const Poco::Data::SQLite::ConstraintViolationException& e) {
    return Status::fail(kConflict, std::string(w.what) + ": " + e.displayText());
  } catch (const Poco::Exception& e) {
    return storageError(w.what, e);
  } catch (const std::exception& e) {
    return storageError(w.what, e);
  }
}

void SqliteStore::commitGroup(const std::vector<PendingWrite*>& group) {
  std::lock_guard lock(mu_);
  UseConnection use(active_, &writer_);  // the bodies of every writer of the group
  const bool alone = group.size() == 1;  // no savepoint needed: the transaction is its own
  // Bodies that succeeded but whose transaction did not commit are not acknowledged.
  auto failSucceeded = [&](const std::string& detail) {
    for (PendingWrite* w : group)
      if (w->status) w->status = Status::fail(kStorage, std::string(w->what) + ": " + detail);
  };
  try {
    setDurability(Durability::kFull);
    Transaction tx(writer_.session);
    if (auto s = tx.begin(); !s) return failSucceeded(s.detail());
    bool anyChange = false;
    for (PendingWrite* w : group) {
      if (!alone) writer_.statements.query("SAVEPOINT group_write").execute();
      w->status = runBody(*w);
      if (!alone) {
        // A failed body's changes are undone; ROLLBACK TO throws if SQLite already ended
        // the whole transaction (then nothing of the group is committed: caught below).
        if (!w->status) writer_.statements.query("ROLLBACK TO group_write").execute();
        writer_.statements.query("RELEASE group_write").execute();
      }
      anyChange = anyChange || bool(w->status);
    }
    if (!anyChange) return;  // the transaction rolls back
    if (auto s = tx.commit(); !s) return failSucceeded(s.detail());
  } catch (const Poco::Exception& e) {
    failSucceeded("transaction aborted: " + e.displayText());
  } catch (const std::exception& e) {
    failSucceeded(std::string("transaction aborted: ") + e.what());
  }
}

Status SqliteStore::read(const char* what, const std::function<Status()>& body) {
  std::lock_guard lock(readMu_);
  UseConnection use(active_, &reader_);
  sqlite3* handle = Poco::Data::SQLite::Utility::dbHandle(reader_.session);
  try {
    // One read transaction: the body's statements all see the same committed state,
    // even when the writer commits in between. Ended whatever the body does.
    reader_.statements.query("BEGIN").execute();
    struct End {
      sqlite3* db;
      ~End() {
        if (!sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      }
    } end{handle};
    Status s = body();
    reader_.statements.query("COMMIT").execute();
    return s;
  } catch (const Poco::Exception& e) {
    return storageError(what, e);
  } catch (const std::exception& e) {
    return storageError(what, e);
  }
}

void SqliteStore::appendIf(const OptionalAudit& audit, std::int64_t at) {
  if (audit) appendAuditLocked(*audit, at);
  if (!audit.notifications.empty()) insertNotificationsLocked(audit.notifications);
}

Status SqliteStore::expectState(const std::string& id, const std::string& expected) {
  static const std::string kSql = "SELECT state FROM requests WHERE id = ?";
  auto q = stmts().query(kSql);
  q.bind(id);
  if (!q.step()) return Status::fail(kNotFound, "no request " + id);
  const std::string found = q.text(0);
  if (found != expected) {
    return Status::fail(kStateChanged, "request " + id + " is " + found + ", not " + expected);
  }
  return Status::ok();
}

Status SqliteStore::insertRequest(const RequestRecord& r, const std::vector<std::string>& deviceIds,
                                  const SignatureRecord& sig, const OptionalAudit& audit) {
  return write("insert request", Durability::kFull, [&]() -> Status {
    static const std::string kPending =
        "SELECT COUNT(*) FROM requests WHERE tenant = ? AND action = ? AND target_root = ?"
        " AND state IN ('needs_approval', 'approved')";
    static const std::string kInsert = sqlOf("INSERT INTO requests (", rows::kRequestColumns,
                                             ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    static const std::string kTarget =
        "INSERT INTO request_targets (request_id, device_id, idx, state, updated)"
        " VALUES (?, ?, ?, 'queued', ?)";
    static const std::string kSignature = sqlOf(
        "INSERT INTO request_signatures (", rows::kSignatureColumns,
        ") VALUES (?, 'requester', ?, ?, ?, ?, ?, ?)");
    Int64 pending = 0;
    {
      auto q = stmts().query(kPending);
      q.bind(r.tenant).bind(r.action).bind(r.targetRoot);
      if (q.step()) pending = q.integer(0);
    }
    if (pending > 0) {
      return Status::fail(kConflict, "a request for " + r.action +
                                         " on the same targets is already pending");
    }
    stmts().query(kInsert)
        .bind(r.id).bind(r.tenant).bind(r.action).bind(r.paramsJson).bind(r.requester)
        .bind(r.justification).bind(r.created).bind(r.expires).bind(r.bundleVersion)
        .bind(r.targetCount).bind(r.targetRoot).bind(r.payloadB64).bind(r.state)
        .bind(r.requirementsJson).bind(r.updated)
        .execute();
    for (std::size_t i = 0; i < deviceIds.size(); ++i) {
      stmts().query(kTarget)
          .bind(r.id).bind(deviceIds[i]).bind(static_cast<std::int64_t>(i)).bind(r.created)
          .execute();
    }
    stmts().query(kSignature)
        .bind(r.id).bind(sig.principal).bind(sig.kid).bind(sig.at).bind(sig.protectedB64)
        .bind(sig.signatureB64).bind(sig.notes)
        .execute();
    appendIf(audit, r.created);
    return Status::ok();
  });
}

Status SqliteStore::readRequest(const std::string& id, RequestRecord& out) {
  static const std::string kSql = sqlOf("SELECT ", rows::kRequestColumns, " FROM requests WHERE id = ?");
  auto q = stmts().query(kSql);
  q.bind(id);
  if (!q.step()) return Status::fail(kNotFound, "no request " + id);
  out = rows::request(q);
  return Status::ok();
}

void SqliteStore::readSignatures(const std::string& requestId, std::vector<SignatureRecord>& out) {
  static const std::string kSql =
      sqlOf("SELECT ", rows::kSignatureColumns,
            " FROM request_signatures WHERE request_id = ? ORDER BY"
            " CASE role WHEN 'requester' THEN 0 WHEN 'approver' THEN 1 ELSE 2 END, at");
  auto q = stmts().query(kSql);
  q.bind(requestId);
  while (q.step()) out.push_back(rows::signature(q));
}

void SqliteStore::readRejections(const std::string& requestId, std::vector<RejectionRecord>& out) {
  static const std::string kSql =
      "SELECT request_id, principal, notes, at FROM rejections WHERE request_id = ? ORDER BY at";
  auto q = stmts().query(kSql);
  q.bind(requestId);
  while (q.step()) out.push_back({q.text(0), q.text(1), q.text(2), q.integer(3)});
}

void SqliteStore::readTargets(const std::string& requestId, std::vector<TargetRecord>& out) {
  static const std::string kSql =
      sqlOf("SELECT ", rows::kTargetColumns, " FROM request_targets WHERE request_id = ? ORDER BY idx");
  auto q = stmts().query(kSql);
  q.bind(requestId);
  while (q.step()) out.push_back(rows::target(q));
}

Result<RequestRecord> SqliteStore::getRequest(const std::string& id) {
  RequestRecord out;
  auto s = read("get request", [&] { return readRequest(id, out); });
  if (!s) return s.error();
  return out;
}

Result<std::map<std::string, std::vector<SignatureRecord>>> SqliteStore::signaturesOf(
    const std::vector<std::string>& requestIds) {
  std::map<std::string, std::vector<SignatureRecord>> out;
  for (const auto& id : requestIds) out[id];
  if (requestIds.empty()) return out;
  auto s = read("list signatures of requests", [&]() -> Status {
    // One statement for any number of ids: they are bound as one JSON array.
    static const std::string kSql =
        sqlOf("SELECT ", rows::kSignatureColumns,
              " FROM request_signatures WHERE request_id IN (SELECT value FROM json_each(?))"
              " ORDER BY request_id,"
              " CASE role WHEN 'requester' THEN 0 WHEN 'approver' THEN 1 ELSE 2 END, at");
    std::string ids = "[";
    for (const auto& id : requestIds) ids += (ids.size() > 1 ? "," : "") + json::quote(id);
    ids += "]";
    auto q = stmts().query(kSql);
    q.bind(ids);
    while (q.step()) {
      SignatureRecord r = rows::signature(q);
      out[r.requestId].push_back(std::move(r));
    }
    return Status::ok();
  });
  if (!s) return s.error();
  return out;
}

Result<StoredRequest> SqliteStore::loadRequest(const std::string& id) {
  StoredRequest out;
  auto s = read("load request", [&]() -> Status {
    if (Status found = readRequest(id, out.request); !found) return found;
    readSignatures(id, out.signatures);
    readRejections(id, out.rejections);
    readTargets(id, out.targets);
    return Status::ok();
  });
  if (!s) return s.error();
  return out;
}

namespace {

// The WHERE clause of a request filter (after `WHERE 1 = 1`), and its binding in the
// same order.
std::string requestWhere(const RequestFilter& f, bool keyset) {
  std::string sql;
  if (f.requester) sql += " AND requester = ?";
  if (f.state) sql += " AND state = ?";
  if (f.action) sql += " AND action = ?";
  if (f.device)
    sql += " AND EXISTS (SELECT 1 FROM request_targets t WHERE t.request_id = requests.id"
           " AND t.device_id = ?)";
  if (keyset && f.after) sql += " AND (created < ? OR (created = ? AND id < ?))";
  return sql;
}

void bindRequestWhere(Statement& st, const RequestFilter& f, bool keyset) {
  if (f.requester) st, bind(*f.requester);
  if (f.state) st, bind(*f.state);
  if (f.action) st, bind(*f.action);
  if (f.device) st, bind(*f.device);
  if (keyset && f.after) st, bind(Int64(f.after->first)), bind(Int64(f.after->first)), bind(f.after->second);
}

}  // namespace

Result<std::vector<RequestRecord>> SqliteStore::listRequests(const RequestFilter& f) {
  std::vector<RequestRecord> out;
  auto s = read("list requests", [&]() -> Status {
    Statement st(db());
    st << std::string("SELECT ") + rows::kRequestColumns + " FROM requests WHERE 1 = 1" +
              requestWhere(f, true) + " ORDER BY created DESC, id DESC LIMIT ? OFFSET ?";
    bindRequestWhere(st, f, true);
    st, bind(Int64(f.limit)), bind(Int64(f.offset));
    st.execute();
    RecordSet rs(st);
    for (bool more = rs.moveFirst(); more; more = rs.moveNext()) out.push_back(rows::request(rs));
    return Status::ok();
  });
  if (!s) return s.error();
  return out;
}

Result<std::int64_t> SqliteStore::countRequests(const RequestFilter& f) {
  Int64 count = 0;
  auto s = read("count requests", [&]() -> Status {
    Statement st(db());
    st << "SELECT COUNT(*) FROM requests WHERE 1 = 1" + requestWhere(f, false);
    bindRequestWhere(st, f, false);
    st, into(count);
    st.execute();
    return Status::ok();
  });
  if (!s) return s.error();
  return static_cast<std::int64_t>(count);
}

Result<std::vector<SignatureRecord>> SqliteStore::signatures(const std::string& requestId) {
  std::vector<SignatureRecord> out;
  auto s = read("list signatures", [&] {
    readSignatures(requestId, out);
    return Status::ok();
  });
  if (!s) return s.error();
  return out;
}

Result<std::vector<RejectionRecord>> SqliteStore::rejections(const std::string& requestId) {
  std::vector<RejectionRecord> out;
  auto s = read("list rejections", [&] {
    readRejections(requestId, out);
    return Status::ok();
  });
  if (!s) return s.error();
  return out;
}

Result<std::vector<TargetRecord>> SqliteStore::targets(const std::string& requestId) {
  std::vector<TargetRecord> out;
  auto s = read("list targets", [&] {
    readTargets(requestId, out);
    return Status::ok();
  });
  if (!s) return s.error();
  return out;
}

}  // namespace keyturn::server
