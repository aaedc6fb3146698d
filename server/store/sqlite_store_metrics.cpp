// SqliteStore: the counts /metrics shows (server/app/metrics_server.h). Read-only.
#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>

#include <algorithm>

#include "store/sqlite_rows.h"
#include "store/sqlite_store.h"

using namespace Poco::Data::Keywords;
using Poco::Int64;

namespace keyturn::server {

Result<StoreMetrics> SqliteStore::metrics() {
  StoreMetrics m;
  auto s = read("metrics", [&]() -> Status {
    std::vector<std::string> keys;
    std::vector<Int64> counts;
    db() << "SELECT state, COUNT(*) FROM requests GROUP BY state", into(keys), into(counts), now;
    for (std::size_t i = 0; i < keys.size(); ++i) m.requestsByState[keys[i]] = counts[i];
    db() << "SELECT COUNT(*) FROM request_signatures WHERE role = 'approver'",
        into(m.approvals), now;
    db() << "SELECT COUNT(*) FROM rejections", into(m.rejections), now;
    db() << "SELECT COUNT(*) FROM request_targets WHERE token IS NOT NULL",
        into(m.tokensIssued), now;
    keys.clear();
    counts.clear();
    db() << "SELECT state, COUNT(*) FROM request_targets GROUP BY state", into(keys),
        into(counts), now;
    for (std::size_t i = 0; i < keys.size(); ++i) m.targetsByState[keys[i]] = counts[i];
    std::vector<std::string> actions, outcomes;
    counts.clear();
    db() << "SELECT r.action, t.state, COUNT(*) FROM request_targets t JOIN requests r"
                " ON r.id = t.request_id WHERE t.state IN ('succeeded', 'failed', 'interrupted')"
                " GROUP BY r.action, t.state",
        into(actions), into(outcomes), into(counts), now;
    for (std::size_t i = 0; i < actions.size(); ++i)
      m.resultsByActionOutcome[{actions[i], outcomes[i]}] = counts[i];
    std::vector<Int64> created, at;
    db() << "SELECT r.created, MAX(s.at) FROM requests r JOIN request_signatures s"
                " ON s.request_id = r.id AND s.role = 'approver'"
                " WHERE r.state IN ('approved', 'completed') GROUP BY r.id, r.created",
        into(created), into(at), now;
    for (std::size_t i = 0; i < created.size(); ++i)
      m.timeToApprove.push_back(std::max<Int64>(0, at[i] - created[i]));
    created.clear();
    at.clear();
    db() << "SELECT r.created, s.at FROM requests r JOIN request_signatures s"
                " ON s.request_id = r.id AND s.role = 'completer' WHERE r.state = 'completed'",
        into(created), into(at), now;
    for (std::size_t i = 0; i < created.size(); ++i)
      m.timeToComplete.push_back(std::max<Int64>(0, at[i] - created[i]));
    db() << "SELECT COUNT(*) FROM devices WHERE removed_at IS NULL", into(m.devicesActive), now;
    db() << "SELECT COUNT(*) FROM devices WHERE removed_at IS NULL AND last_contact IS NULL",
        into(m.devicesNeverSeen), now;
    std::vector<Int64> contact;
    db() << "SELECT last_contact FROM devices WHERE removed_at IS NULL"
                " AND last_contact IS NOT NULL",
        into(contact), now;
    m.lastContact.assign(contact.begin(), contact.end());
    return Status::ok();
  });
  if (!s) return s.error();
  return m;
}

}  // namespace keyturn::server
