#include "keyturn/bundle_report.h"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <set>
#include <sstream>

#include "keyturn/crypto_util.h"
#include "keyturn/json.h"
#include "keyturn/policy_kit.h"
#include "keyturn/time_format.h"

namespace keyturn::policykit {
namespace {

std::string joined(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::vector<std::string> kidList(const std::vector<Ed25519PublicKey>& keys) {
  std::vector<std::string> kids;
  for (const auto& k : keys) kids.push_back(k.kid());
  std::sort(kids.begin(), kids.end());
  return kids;
}

// Elements of `a` not in `b`, in `a`'s order.
std::vector<std::string> minus(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::set<std::string> sb(b.begin(), b.end());
  std::vector<std::string> out;
  for (const auto& x : a)
    if (!sb.count(x)) out.push_back(x);
  return out;
}

std::string utc(std::uint64_t t) { return utcTimestamp(static_cast<std::int64_t>(t)); }

std::string strings(const std::vector<std::string>& v) {
  std::string out = "[";
  for (const auto& s : v) out += (out.size() > 1 ? "," : "") + json::quote(s);
  return out + "]";
}

}  // namespace

RosterDiff rosterDiff(const TrustBundle& a, const TrustBundle& b) {
  RosterDiff d;
  for (const auto& p : b.principals) {
    const auto* old = a.principalById(p.id);
    PrincipalChange c{p.id, old ? "modified" : "added", p.groups, kidList(p.keys), {}, {}, {}, {}};
    if (old) {
      c.groupsAdded = minus(p.groups, old->groups);
      c.groupsRemoved = minus(old->groups, p.groups);
      auto oldKeys = kidList(old->keys);
      c.keysAdded = minus(c.keys, oldKeys);
      c.keysRemoved = minus(oldKeys, c.keys);
      if (c.groupsAdded.empty() && c.groupsRemoved.empty() && c.keysAdded.empty() && c.keysRemoved.empty()) continue;
    }
    d.principals.push_back(std::move(c));
  }
  for (const auto& p : a.principals)
    if (!b.principalById(p.id)) d.principals.push_back({p.id, "removed", p.groups, kidList(p.keys), {}, {}, {}, {}});
  std::set<std::string> names;
  for (const auto& [perm, groups] : a.roles) names.insert(perm);
  for (const auto& [perm, groups] : b.roles) names.insert(perm);
  for (const auto& perm : names) {
    auto ia = a.roles.find(perm);
    auto ib = b.roles.find(perm);
    RoleChange r{perm, ia != a.roles.end(), ib != b.roles.end(), {}, {}};
    if (r.before) r.beforeGroups = ia->second;
    if (r.after) r.afterGroups = ib->second;
    if (r.before == r.after && r.beforeGroups == r.afterGroups) continue;
    d.roles.push_back(std::move(r));
  }
  auto ai = kidList(a.issuers), bi = kidList(b.issuers);
  d.issuersAdded = minus(bi, ai);
  d.issuersRemoved = minus(ai, bi);
  d.updateGroupBefore = a.updateGroup;
  d.updateGroupAfter = b.updateGroup;
  d.thresholdBefore = a.threshold;
  d.thresholdAfter = b.threshold;
  d.expiresBefore = a.expires;
  d.expiresAfter = b.expires;
  return d;
}

std::vector<std::string> rosterLines(const RosterDiff& d) {
  std::vector<std::string> out;
  for (const auto& c : d.principals) {
    if (c.change == "added") {
      out.push_back("principal added: " + c.id + " groups [" + joined(c.groups) + "]");
    } else if (c.change == "removed") {
      out.push_back("principal removed: " + c.id);
    } else {
      for (const auto& g : c.groupsAdded) out.push_back("group membership added: " + c.id + " joins " + g);
      for (const auto& g : c.groupsRemoved) out.push_back("group membership removed: " + c.id + " leaves " + g);
      if (!c.keysAdded.empty() || !c.keysRemoved.empty())
        out.push_back("keys changed: " + c.id + " now " + joined(c.keys, ","));
    }
  }
  if (d.updateGroupBefore != d.updateGroupAfter || d.thresholdBefore != d.thresholdAfter)
    out.push_back("update rule: " + std::to_string(d.thresholdBefore) + " of " + d.updateGroupBefore + " -> " +
                  std::to_string(d.thresholdAfter) + " of " + d.updateGroupAfter);
  for (const auto& r : d.roles)
    if (r.after) out.push_back("role " + r.role + ": [" + joined(r.beforeGroups) + "] -> [" + joined(r.afterGroups) + "]");
  for (const auto& r : d.roles)
    if (!r.after) out.push_back("role removed: " + r.role + " [" + joined(r.beforeGroups) + "]");
  for (const auto& k : d.issuersAdded) out.push_back("issuer key added: " + k);
  for (const auto& k : d.issuersRemoved) out.push_back("issuer key removed: " + k);
  if (d.expiresBefore != d.expiresAfter)
    out.push_back("expires: " + utc(d.expiresBefore) + " -> " + utc(d.expiresAfter));
  return out;
}

std::vector<std::string> rosterChanges(const TrustBundle& a, const TrustBundle& b) {
  return rosterLines(rosterDiff(a, b));
}

Result<BundleChangeReport> bundleChangeReport(std::string_view currentText, const std::string& currentOrigin,
                                              std::string_view proposedText, const std::string& proposedOrigin,
                                              const std::string& examplesDir) {
  using R = Result<BundleChangeReport>;
  auto cur = TrustBundle::parse(currentText);
  if (!cur) return R::fail(cur.reason(), currentOrigin + ": " + cur.detail());
  auto next = TrustBundle::parse(proposedText);
  if (!next) return R::fail(next.reason(), proposedOrigin + ": " + next.detail());
  auto oldSet = policySetFromBundle(currentText, currentOrigin);
  if (!oldSet) return oldSet.error();
  auto newSet = policySetFromBundle(proposedText, proposedOrigin);
  if (!newSet) return newSet.error();
  BundleChangeReport r;
  r.fromVersion = cur.value().version;
  r.toVersion = next.value().version;
  r.tenant = next.value().tenant;
  r.sha256 = toHex(next.value().fileSha256);
  r.roster = rosterChanges(cur.value(), next.value());
  std::vector<ExampleRequest> examples;
  if (!examplesDir.empty() && std::filesystem::is_directory(examplesDir)) {
    if (auto loaded = loadExamples(examplesDir)) {
      examples = std::move(loaded).value();
      r.examplesFrom = examplesDir;
    } else {
      r.examplesError = loaded.detail();
    }
  }
  r.policies = diffPolicySets(oldSet.value(), newSet.value(), examples);
  return r;
}

std::string reportText(const BundleChangeReport& r) {
  std::ostringstream s;
  s << "bundle v" << r.fromVersion << " -> v" << r.toVersion << " (tenant " << r.tenant << ", sha256 " << r.sha256
    << ")\n";
  s << "roster: " << r.roster.size() << " change(s)\n";
  for (const auto& line : r.roster) s << "  " << line << "\n";
  const DiffReport& d = r.policies;
  s << "policies: " << d.policies.size() << " changed\n";
  for (const auto& c : d.policies)
    s << "  " << c.change << " " << c.name << " (" << (c.newFile.empty() ? c.oldFile : c.newFile) << ")\n";
  if (!d.oldLoadError.empty()) s << "  the bundle in force does not load: " << d.oldLoadError << "\n";
  if (!d.newLoadError.empty()) s << "  NEW does not load: " << d.newLoadError << "\n";
  if (!r.examplesError.empty()) s << "examples: NOT LOADED: " << r.examplesError << "\n";
  s << "examples: " << d.examples << " evaluated"
    << (r.examplesFrom.empty() ? std::string(" (none found)") : " from " + r.examplesFrom) << ", "
    << d.changed.size() << " change\n";
  for (const auto& c : d.changed) s << "  " << c.name << "\n    before: " << c.before << "\n    after:  " << c.after << "\n";
  return s.str();
}

std::string reportJson(const BundleChangeReport& r) {
  const DiffReport& d = r.policies;
  std::ostringstream j;
  j << "{\"from\":" << r.fromVersion << ",\"to\":" << r.toVersion << ",\"tenant\":" << json::quote(r.tenant)
    << ",\"sha256\":" << json::quote(r.sha256) << ",\"roster\":" << strings(r.roster) << ",\"policies\":[";
  for (std::size_t i = 0; i < d.policies.size(); ++i)
    j << (i ? "," : "") << "{\"name\":" << json::quote(d.policies[i].name)
      << ",\"change\":" << json::quote(d.policies[i].change) << "}";
  j << "],\"old_load_error\":" << json::quote(d.oldLoadError) << ",\"new_load_error\":" << json::quote(d.newLoadError)
    << ",\"examples\":" << d.examples << ",\"examples_from\":" << json::quote(r.examplesFrom)
    << ",\"examples_error\":" << json::quote(r.examplesError)
    << ",\"examples_changed\":[";
  for (std::size_t i = 0; i < d.changed.size(); ++i)
    j << (i ? "," : "") << "{\"name\":" << json::quote(d.changed[i].name)
      << ",\"file\":" << json::quote(d.changed[i].file) << ",\"before\":" << json::quote(d.changed[i].before)
      << ",\"after\":" << json::quote(d.changed[i].after) << "}";
  j << "],\"text\":" << json::quote(reportText(r)) << "}";
  return j.str();
}

}  // namespace keyturn::policykit
