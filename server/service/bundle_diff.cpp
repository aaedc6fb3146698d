// The readable diff of a proposed bundle against the one in force, shown to
// approvers before they sign (maa.bundle.update).
#include <map>

#include "keyturn/bundle_report.h"
#include "keyturn/json.h"
#include "service/workflow_internal.h"

namespace keyturn::server::workflow {
namespace {

std::string strings(const std::vector<std::string>& v) {
  std::string out = "[";
  for (const auto& s : v) out += (out.size() > 1 ? "," : "") + json::quote(s);
  return out + "]";
}

std::string policiesDiff(const TrustBundle& a, const TrustBundle& b) {
  std::map<std::string, std::string> before, after;
  for (const auto& p : a.policies) before[p.name] = p.source;
  for (const auto& p : b.policies) after[p.name] = p.source;
  std::string out = "[";
  auto add = [&](const std::string& name, const char* change, const std::string* oldSrc,
                 const std::string* newSrc) {
    if (out.size() > 1) out += ",";
    out += object({{"file", json::quote(name)},
                   {"change", json::quote(change)},
                   {"old_source", oldSrc ? json::quote(*oldSrc) : "null"},
                   {"new_source", newSrc ? json::quote(*newSrc) : "null"}});
  };
  for (const auto& [name, src] : before) {
    auto it = after.find(name);
    if (it == after.end())
      add(name, "removed", &src, nullptr);
    else if (it->second != src)
      add(name, "modified", &src, &it->second);
  }
  for (const auto& [name, src] : after)
    if (!before.count(name)) add(name, "added", nullptr, &src);
  return out + "]";
}

// The roster part comes from core's rosterDiff, the same comparison behind the report
// lines `keyturn bundle propose` prints.
std::string principalsDiff(const policykit::RosterDiff& d) {
  std::string out = "[";
  for (const auto& c : d.principals) {
    if (out.size() > 1) out += ",";
    if (c.change == "removed")
      out += object({{"id", json::quote(c.id)}, {"change", "\"removed\""}, {"groups", strings(c.groups)}});
    else if (c.change == "added")
      out += object({{"id", json::quote(c.id)},
                     {"change", "\"added\""},
                     {"groups", strings(c.groups)},
                     {"keys", strings(c.keys)}});
    else
      out += object({{"id", json::quote(c.id)},
                     {"change", "\"modified\""},
                     {"groups_added", strings(c.groupsAdded)},
                     {"groups_removed", strings(c.groupsRemoved)},
                     {"keys_added", strings(c.keysAdded)},
                     {"keys_removed", strings(c.keysRemoved)}});
  }
  return out + "]";
}

std::string rolesDiff(const policykit::RosterDiff& d) {
  std::string out = "[";
  for (const auto& r : d.roles)
    out += (out.size() > 1 ? "," : "") + object({{"role", json::quote(r.role)},
                                                 {"before", strings(r.beforeGroups)},
                                                 {"after", strings(r.afterGroups)}});
  return out + "]";
}

}  // namespace

std::string bundleDiffJson(const TrustBundle& current, const TrustBundle& proposed) {
  const policykit::RosterDiff d = policykit::rosterDiff(current, proposed);
  return object({
      {"from_version", std::to_string(current.version)},
      {"to_version", std::to_string(proposed.version)},
      {"policies", policiesDiff(current, proposed)},
      {"principals", principalsDiff(d)},
      {"roles", rolesDiff(d)},
      {"issuers", object({{"added", strings(d.issuersAdded)}, {"removed", strings(d.issuersRemoved)}})},
      {"update", object({{"before", object({{"group", json::quote(d.updateGroupBefore)},
                                            {"threshold", std::to_string(d.thresholdBefore)}})},
                         {"after", object({{"group", json::quote(d.updateGroupAfter)},
                                           {"threshold", std::to_string(d.thresholdAfter)}})}})},
      {"expires", object({{"before", std::to_string(d.expiresBefore)},
                          {"after", std::to_string(d.expiresAfter)}})},
  });
}

}  // namespace keyturn::server::workflow
