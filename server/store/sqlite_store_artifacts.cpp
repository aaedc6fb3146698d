// SqliteStore: artifacts (app.install source "artifact") and the versions agents report.
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

namespace {

constexpr const char* kArtifactColumns = "sha256, size, name, uploaded_by, uploaded_at";

ArtifactRecord artifactRow(RecordSet& rs) {
  ArtifactRecord a;
  a.sha256 = rows::text(rs, "sha256");
  a.size = rows::integer(rs, "size");
  a.name = rows::text(rs, "name");
  a.uploadedBy = rows::text(rs, "uploaded_by");
  a.uploadedAt = rows::integer(rs, "uploaded_at");
  return a;
}

}  // namespace

Status SqliteStore::setDeviceVersions(const std::string& id, const std::string& agentVersion,
                                      std::int64_t bundleVersion, const std::string& librariesJson) {
  return write("set device versions", Durability::kNormal, [&]() -> Status {
    Statement st(db());
    Poco::Nullable<std::string> libraries;
    if (!librariesJson.empty()) libraries = librariesJson;
    st << "UPDATE devices SET agent_version = ?, bundle_version = ?, agent_libraries = ?"
          " WHERE id = ? AND removed_at IS NULL",
        bind(agentVersion), bind(Int64(bundleVersion)), bind(libraries), bind(id);
    if (st.execute() == 0) return Status::fail(kNotFound, "no active device " + id);
    return Status::ok();
  });
}

Status SqliteStore::insertArtifact(const ArtifactRecord& a, const OptionalAudit& audit) {
  return write("insert artifact", Durability::kFull, [&]() -> Status {
    db() << "INSERT INTO artifacts (sha256, size, name, uploaded_by, uploaded_at)"
                " VALUES (?, ?, ?, ?, ?)",
        bind(a.sha256), bind(Int64(a.size)), bind(a.name), bind(a.uploadedBy),
        bind(Int64(a.uploadedAt)), now;
    appendIf(audit, a.uploadedAt);
    return Status::ok();
  });
}

Result<ArtifactRecord> SqliteStore::getArtifact(const std::string& sha256) {
  std::optional<ArtifactRecord> out;
  auto s = read("get artifact", [&]() -> Status {
    Statement st(db());
    st << std::string("SELECT ") + kArtifactColumns + " FROM artifacts WHERE sha256 = ?",
        bind(sha256);
    st.execute();
    RecordSet rs(st);
    if (!rs.moveFirst()) return Status::fail(kNotFound, "no artifact " + sha256);
    out = artifactRow(rs);
    return Status::ok();
  });
  if (!s) return s.error();
  return *out;
}

Result<std::vector<ArtifactRecord>> SqliteStore::listArtifacts() {
  std::vector<ArtifactRecord> out;
  auto s = read("list artifacts", [&]() -> Status {
    Statement st(db());
    st << std::string("SELECT ") + kArtifactColumns +
              " FROM artifacts ORDER BY uploaded_at DESC, sha256";
    st.execute();
    RecordSet rs(st);
    for (bool more = rs.moveFirst(); more; more = rs.moveNext()) out.push_back(artifactRow(rs));
    return Status::ok();
  });
  if (!s) return s.error();
  return out;
}

Result<std::vector<RequestUse>> SqliteStore::requestUses(const std::string& action) {
  std::vector<RequestUse> out;
  auto s = read("request uses", [&]() -> Status {
    Statement st(db());
    st << "SELECT r.params_json, r.updated, CASE WHEN r.state IN ('needs_approval', 'approved')"
          " OR (r.state = 'completed' AND EXISTS (SELECT 1 FROM request_targets t"
          " WHERE t.request_id = r.id AND t.state IN ('queued', 'delivered'))) THEN 1 ELSE 0 END"
          " AS still_open FROM requests r WHERE r.action = ?",
        bind(action);
    st.execute();
    RecordSet rs(st);
    for (bool more = rs.moveFirst(); more; more = rs.moveNext())
      out.push_back({rows::text(rs, "params_json"), rows::integer(rs, "still_open") != 0,
                     rows::integer(rs, "updated")});
    return Status::ok();
  });
  if (!s) return s.error();
  return out;
}

Status SqliteStore::deleteArtifact(const std::string& sha256, const std::string& action,
                                   std::int64_t since, const OptionalAudit& audit) {
  return write("delete artifact", Durability::kFull, [&]() -> Status {
    Int64 changed = 0;
    db() << "SELECT COUNT(*) FROM requests WHERE action = ? AND updated >= ?", bind(action),
        bind(Int64(since)), into(changed), now;
    if (changed > 0)
      return Status::fail(kConflict, "a request of " + action + " changed since the check");
    Statement st(db());
    st << "DELETE FROM artifacts WHERE sha256 = ?", bind(sha256);
    if (st.execute() == 0) return Status::fail(kNotFound, "no artifact " + sha256);
    appendIf(audit, since);
    return Status::ok();
  });
}

Result<std::vector<std::string>> SqliteStore::openTokenParams(const std::string& deviceId,
                                                              const std::string& action) {
  std::vector<std::string> out;
  auto s = read("open token params", [&]() -> Status {
    Statement st(db());
    st << "SELECT r.params_json FROM request_targets t JOIN requests r ON r.id = t.request_id"
          " WHERE t.device_id = ? AND t.state IN ('queued', 'delivered')"
          " AND t.token IS NOT NULL AND r.action = ?",
        bind(deviceId), bind(action);
    st.execute();
    RecordSet rs(st);
    for (bool more = rs.moveFirst(); more; more = rs.moveNext())
      out.push_back(rows::text(rs, "params_json"));
    return Status::ok();
  });
  if (!s) return s.error();
  return out;
}

}  // namespace keyturn::server
