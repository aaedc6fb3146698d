// The readable diff of a proposed bundle against the one in force, shown to
// approvers before they sign (maa.bundle.update).
#include <map>
#include <set>

#include "keyturn/json.h"
#include "service/workflow_internal.h"

namespace keyturn::server::workflow {
namespace {

std::string strings(const std::vector<std::string>& v) {
  std::string out = "[";
  for (const auto& s : v) out += (out.size() > 1 ? "," : "") + json::quote(s);
  return out + "]";
}

std::vector<std::string> kids(const std::vector<Ed25519PublicKey>& keys) {
  std::vector<std::string> out;
  for (const auto& k : keys) out.push_back(k.kid());
  return out;
}

// Elements of `a` not in `b`.
std::vector<std::string> minus(const std::vector<std::string>& a,
                               const std::vector<std::string>& b) {
  std::set<std::string> sb(b.begin(), b.end());
  std::vector<std::string> out;
  for (const auto& x : a)
    if (!sb.count(x)) out.push_back(x);
  return out;
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

std::string principalsDiff(const TrustBundle& a, const TrustBundle& b) {
  std::string out = "[";
  auto add = [&](const std::string& member) { out += (out.size() > 1 ? "," : "") + member; };
  for (const auto& p : a.principals) {
    const BundlePrincipal* n = b.principalById(p.id);
    if (!n) {
      add(object(
          {{"id", json::quote(p.id)}, {"change", "\"removed\""}, {"groups", strings(p.groups)}}));
      continue;
    }
    auto ga = minus(n->groups, p.groups), gr = minus(p.groups, n->groups);
    auto ka = minus(kids(n->keys), kids(p.keys)), kr = minus(kids(p.keys), kids(n->keys));
    if (ga.empty() && gr.empty() && ka.empty() && kr.empty()) continue;
    add(object({{"id", json::quote(p.id)},
                {"change", "\"modified\""},
                {"groups_added", strings(ga)},
                {"groups_removed", strings(gr)},
                {"keys_added", strings(ka)},
                {"keys_removed", strings(kr)}}));
  }
  for (const auto& p : b.principals)
    if (!a.principalById(p.id))
      add(object({{"id", json::quote(p.id)},
                  {"change", "\"added\""},
                  {"groups", strings(p.groups)},
                  {"keys", strings(kids(p.keys))}}));
  return out + "]";
}

std::string rolesDiff(const TrustBundle& a, const TrustBundle& b) {
  std::set<std::string> names;
  for (const auto& [k, v] : a.roles) names.insert(k);
  for (const auto& [k, v] : b.roles) names.insert(k);
  std::string out = "[";
  for (const auto& name : names) {
    auto ia = a.roles.find(name);
    auto ib = b.roles.find(name);
    std::vector<std::string> before = ia == a.roles.end() ? std::vector<std::string>{} : ia->second;
    std::vector<std::string> after = ib == b.roles.end() ? std::vector<std::string>{} : ib->second;
    if (before == after) continue;
    out += (out.size() > 1 ? "," : "") + object({{"role", json::quote(name)},
                                                 {"before", strings(before)},
                                                 {"after", strings(after)}});
  }
  return out + "]";
}

}  // namespace

std::string bundleDiffJson(const TrustBundle& current, const TrustBundle& proposed) {
  auto ia = kids(current.issuers), ib = kids(proposed.issuers);
  return object({
      {"from_version", std::to_string(current.version)},
      {"to_version", std::to_string(proposed.version)},
      {"policies", policiesDiff(current, proposed)},
      {"principals", principalsDiff(current, proposed)},
      {"roles", rolesDiff(current, proposed)},
      {"issuers", object({{"added", strings(minus(ib, ia))}, {"removed", strings(minus(ia, ib))}})},
      {"update", object({{"before", object({{"group", json::quote(current.updateGroup)},
                                            {"threshold", std::to_string(current.threshold)}})},
                         {"after", object({{"group", json::quote(proposed.updateGroup)},
                                           {"threshold", std::to_string(proposed.threshold)}})}})},
      {"expires", object({{"before", std::to_string(current.expires)},
                          {"after", std::to_string(proposed.expires)}})},
  });
}

}  // namespace keyturn::server::workflow
