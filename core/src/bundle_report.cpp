#include "keyturn/bundle_report.h"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <set>
#include <sstream>

#include "keyturn/crypto_util.h"
#include "keyturn/json.h"
#include "keyturn/policy_kit.h"

namespace keyturn::policykit {
namespace {

std::string joined(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::string keyList(const BundlePrincipal& p) {
  std::vector<std::string> kids;
  for (const auto& k : p.keys) kids.push_back(k.kid());
  std::sort(kids.begin(), kids.end());
  return joined(kids, ",");
}

std::string utc(std::uint64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string strings(const std::vector<std::string>& v) {
  std::string out = "[";
  for (const auto& s : v) out += (out.size() > 1 ? "," : "") + json::quote(s);
  return out + "]";
}

}  // namespace

std::vector<std::string> rosterChanges(const TrustBundle& a, const TrustBundle& b) {
  std::vector<std::string> out;
  for (const auto& p : b.principals) {
    const auto* old = a.principalById(p.id);
    if (!old) {
      out.push_back("principal added: " + p.id + " groups [" + joined(p.groups) + "]");
      continue;
    }
    std::set<std::string> og(old->groups.begin(), old->groups.end()), ng(p.groups.begin(), p.groups.end());
    for (const auto& g : ng)
      if (!og.count(g)) out.push_back("group membership added: " + p.id + " joins " + g);
    for (const auto& g : og)
      if (!ng.count(g)) out.push_back("group membership removed: " + p.id + " leaves " + g);
    if (keyList(*old) != keyList(p)) out.push_back("keys changed: " + p.id + " now " + keyList(p));
  }
  for (const auto& p : a.principals)
    if (!b.principalById(p.id)) out.push_back("principal removed: " + p.id);
  if (a.updateGroup != b.updateGroup || a.threshold != b.threshold)
    out.push_back("update rule: " + std::to_string(a.threshold) + " of " + a.updateGroup + " -> " +
                  std::to_string(b.threshold) + " of " + b.updateGroup);
  for (const auto& [perm, groups] : b.roles) {
    auto it = a.roles.find(perm);
    if (it == a.roles.end() || it->second != groups)
      out.push_back("role " + perm + ": [" + (it == a.roles.end() ? "" : joined(it->second)) + "] -> [" +
                    joined(groups) + "]");
  }
  for (const auto& [perm, groups] : a.roles)
    if (!b.roles.count(perm)) out.push_back("role removed: " + perm + " [" + joined(groups) + "]");
  std::set<std::string> ai, bi;
  for (const auto& k : a.issuers) ai.insert(k.kid());
  for (const auto& k : b.issuers) bi.insert(k.kid());
  for (const auto& k : bi)
    if (!ai.count(k)) out.push_back("issuer key added: " + k);
  for (const auto& k : ai)
    if (!bi.count(k)) out.push_back("issuer key removed: " + k);
  if (a.expires != b.expires) out.push_back("expires: " + utc(a.expires) + " -> " + utc(b.expires));
  return out;
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
