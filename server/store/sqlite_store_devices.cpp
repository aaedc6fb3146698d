// SqliteStore: devices, enrollment codes, bundles, login challenges and sessions.
#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>

#include "store/sqlite_rows.h"
#include "store/sqlite_store.h"

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Statement;
using Poco::Int64;

namespace keyturn::server {

Status SqliteStore::insertDevice(const DeviceRecord& d, const OptionalAudit& audit) {
  return write("insert device", Durability::kFull, [&]() -> Status {
    db() << "INSERT INTO devices (id, cert_fingerprint, facts_json, enrolled_at)"
                " VALUES (?, ?, ?, ?)",
        bind(d.id), bind(d.certFingerprint), bind(d.factsJson), bind(Int64(d.enrolledAt)), now;
    appendIf(audit, d.enrolledAt);
    return Status::ok();
  });
}

Result<DeviceRecord> SqliteStore::getDevice(const std::string& id) {
  std::optional<DeviceRecord> out;
  auto s = read("get device", [&]() -> Status {
    static const std::string kSql =
        std::string("SELECT ") + rows::kDeviceColumns + " FROM devices WHERE id = ?";
    auto q = stmts().query(kSql);
    q.bind(id);
    if (!q.step()) return Status::fail(kNotFound, "no device " + id);
    out = rows::device(q);
    return Status::ok();
  });
  if (!s) return s.error();
  return *out;
}

Result<std::vector<DeviceRecord>> SqliteStore::listDevices(bool includeRemoved) {
  std::vector<DeviceRecord> out;
  auto s = read("list devices", [&]() -> Status {
    Statement st(db());
    st << std::string("SELECT ") + rows::kDeviceColumns + " FROM devices" +
              (includeRemoved ? "" : " WHERE removed_at IS NULL") + " ORDER BY id";
    st.execute();
    RecordSet rs(st);
    for (bool more = rs.moveFirst(); more; more = rs.moveNext()) out.push_back(rows::device(rs));
    return Status::ok();
  });
  if (!s) return s.error();
  return out;
}

Status SqliteStore::updateDeviceFacts(const std::string& id, const std::string& factsJson,
                                      std::int64_t at) {
  return write("update device facts", Durability::kFull, [&]() -> Status {
    Statement st(db());
    st << "UPDATE devices SET facts_json = ?, last_contact = ? WHERE id = ? AND removed_at IS NULL",
        bind(factsJson), bind(Int64(at)), bind(id);
    if (st.execute() == 0) return Status::fail(kNotFound, "no active device " + id);
    return Status::ok();
  });
}

Status SqliteStore::touchDevice(const std::string& id, std::int64_t at) {
  return write("touch device", Durability::kNormal, [&]() -> Status {
    Statement st(db());
    st << "UPDATE devices SET last_contact = ? WHERE id = ? AND removed_at IS NULL",
        bind(Int64(at)), bind(id);
    if (st.execute() == 0) return Status::fail(kNotFound, "no active device " + id);
    return Status::ok();
  });
}

Status SqliteStore::removeDevice(const std::string& id, std::int64_t at,
                                 const OptionalAudit& audit) {
  return write("remove device", Durability::kFull, [&]() -> Status {
    Statement st(db());
    st << "UPDATE devices SET removed_at = ? WHERE id = ? AND removed_at IS NULL",
        bind(Int64(at)), bind(id);
    if (st.execute() == 0) return Status::fail(kNotFound, "no active device " + id);
    appendIf(audit, at);
    return Status::ok();
  });
}

Status SqliteStore::insertEnrollmentCode(const EnrollmentCodeRecord& c, const OptionalAudit& audit) {
  return write("insert enrollment code", Durability::kFull, [&]() -> Status {
    db() << "INSERT INTO enrollment_codes (code_hash, created_by, created, expires)"
                " VALUES (?, ?, ?, ?)",
        bind(c.codeHash), bind(c.createdBy), bind(Int64(c.created)), bind(Int64(c.expires)), now;
    appendIf(audit, c.created);
    return Status::ok();
  });
}

Result<EnrollmentCodeRecord> SqliteStore::consumeEnrollmentCode(const std::string& codeHash,
                                                                const std::string& deviceId,
                                                                std::int64_t nowSeconds) {
  EnrollmentCodeRecord out;
  auto s = write("consume enrollment code", Durability::kFull, [&]() -> Status {
    Statement st(db());
    st << "UPDATE enrollment_codes SET used_at = ?, device_id = ?"
          " WHERE code_hash = ? AND used_at IS NULL AND expires > ?",
        bind(Int64(nowSeconds)), bind(deviceId), bind(codeHash), bind(Int64(nowSeconds));
    if (st.execute() == 0) {
      return Status::fail(kNotFound, "unknown, used or expired enrollment code");
    }
    std::string createdBy;
    Int64 created = 0, expires = 0;
    db() << "SELECT created_by, created, expires FROM enrollment_codes WHERE code_hash = ?",
        bind(codeHash), into(createdBy), into(created), into(expires), now;
    out = {codeHash, createdBy, created, expires, nowSeconds, deviceId};
    return Status::ok();
  });
  if (!s) return s.error();
  return out;
}

Status SqliteStore::insertBundle(const BundleRecord& b, const OptionalAudit& audit) {
  return write("insert bundle", Durability::kFull, [&]() -> Status {
    db() << "INSERT INTO bundles (version, sha256, file, published_at) VALUES (?, ?, ?, ?)",
        bind(Int64(b.version)), bind(b.sha256), bind(b.file), bind(Int64(b.publishedAt)), now;
    appendIf(audit, b.publishedAt);
    return Status::ok();
  });
}

Result<std::vector<BundleRecord>> SqliteStore::bundlesFrom(std::int64_t fromVersion) {
  std::vector<BundleRecord> out;
  auto s = read("list bundles", [&]() -> Status {
    Statement st(db());
    st << "SELECT version, sha256, file, published_at FROM bundles WHERE version >= ?"
          " ORDER BY version",
        bind(Int64(fromVersion));
    st.execute();
    RecordSet rs(st);
    for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
      out.push_back({rows::integer(rs, "version"), rows::text(rs, "sha256"),
                     rows::text(rs, "file"), rows::integer(rs, "published_at")});
    }
    return Status::ok();
  });
  if (!s) return s.error();
  return out;
}

Result<BundleRecord> SqliteStore::latestBundle() {
  std::optional<BundleRecord> out;
  auto s = read("latest bundle", [&]() -> Status {
    Statement st(db());
    st << "SELECT version, sha256, file, published_at FROM bundles ORDER BY version DESC LIMIT 1";
    st.execute();
    RecordSet rs(st);
    if (!rs.moveFirst()) return Status::fail(kNotFound, "no bundle published yet");
    out = BundleRecord{rows::integer(rs, "version"), rows::text(rs, "sha256"),
                       rows::text(rs, "file"), rows::integer(rs, "published_at")};
    return Status::ok();
  });
  if (!s) return s.error();
  return *out;
}

Status SqliteStore::insertChallenge(const ChallengeRecord& c) {
  return write("insert challenge", Durability::kNormal, [&]() -> Status {
    db() << "INSERT INTO login_challenges (challenge_hash, principal, expires) VALUES (?, ?, ?)",
        bind(c.challengeHash), bind(c.principal), bind(Int64(c.expires)), now;
    return Status::ok();
  });
}

Result<ChallengeRecord> SqliteStore::consumeChallenge(const std::string& challengeHash,
                                                      std::int64_t nowSeconds) {
  ChallengeRecord out;
  // Durable: a consumed challenge must stay consumed across a crash (no replayed login).
  auto s = write("consume challenge", Durability::kFull, [&]() -> Status {
    std::vector<std::string> principal;
    std::vector<Int64> expires;
    db() << "SELECT principal, expires FROM login_challenges WHERE challenge_hash = ?",
        bind(challengeHash), into(principal), into(expires), now;
    db() << "DELETE FROM login_challenges WHERE challenge_hash = ?", bind(challengeHash), now;
    if (principal.empty() || expires.front() <= nowSeconds) {
      return Status::fail(kNotFound, "unknown, used or expired login challenge");
    }
    out = {challengeHash, principal.front(), expires.front()};
    return Status::ok();
  });
  if (!s) return s.error();
  return out;
}

Status SqliteStore::insertSession(const SessionRecord& sess) {
  return write("insert session", Durability::kFull, [&]() -> Status {
    db() << "INSERT INTO sessions (token_hash, principal, created, expires) VALUES (?, ?, ?, ?)",
        bind(sess.tokenHash), bind(sess.principal), bind(Int64(sess.created)),
        bind(Int64(sess.expires)), now;
    return Status::ok();
  });
}

Result<SessionRecord> SqliteStore::getSession(const std::string& tokenHash, std::int64_t nowSeconds) {
  std::optional<SessionRecord> out;
  auto s = read("get session", [&]() -> Status {
    static const std::string kSql =
        "SELECT principal, created, expires FROM sessions WHERE token_hash = ? AND expires > ?";
    auto q = stmts().query(kSql);
    q.bind(tokenHash).bind(nowSeconds);
    if (!q.step()) return Status::fail(kNotFound, "no such session or it expired");
    out = SessionRecord{tokenHash, q.text(0), q.integer(1), q.integer(2)};
    return Status::ok();
  });
  if (!s) return s.error();
  return *out;
}

Status SqliteStore::deleteSession(const std::string& tokenHash) {
  return write("delete session", Durability::kFull, [&]() -> Status {
    db() << "DELETE FROM sessions WHERE token_hash = ?", bind(tokenHash), now;
    return Status::ok();
  });
}

Result<std::int64_t> SqliteStore::purgeExpired(std::int64_t nowSeconds) {
  std::int64_t removed = 0;
  auto s = write("purge expired", Durability::kNormal, [&]() -> Status {
    Statement a(db()), b(db());
    a << "DELETE FROM login_challenges WHERE expires <= ?", bind(Int64(nowSeconds));
    b << "DELETE FROM sessions WHERE expires <= ?", bind(Int64(nowSeconds));
    removed = static_cast<std::int64_t>(a.execute() + b.execute());
    return Status::ok();
  });
  if (!s) return s.error();
  return removed;
}

}  // namespace keyturn::server
