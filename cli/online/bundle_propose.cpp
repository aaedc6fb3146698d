// keyturn bundle propose: a trust bundle change submitted as a maa.bundle.update
// request. The report shown first is the one `keyturn policy diff` prints (core
// policy_diff) plus what changed in the roster: principals, groups, keys, roles, the
// update rule. The proposed bundle travels in the request's params, signed by the
// requester like any request; approvers sign the bundle itself.
#include <Poco/JSON/Array.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <sstream>

#include "cli_output.h"
#include "keyturn/bundle.h"
#include "keyturn/crypto_util.h"
#include "keyturn/json.h"
#include "keyturn/policy_diff.h"
#include "keyturn/policy_kit.h"
#include "keyturn/token.h"
#include "online/online_client.h"
#include "online/online_commands.h"
#include "policy_cli.h"

namespace keyturn::cli {
namespace {

// Where proposals go (docs/openapi.yaml).
constexpr const char* kProposeRoute = "/api/v1/bundle-proposals";

constexpr const char* kHelp =
    "usage: keyturn bundle propose --bundle NEW.json [--current CURRENT.json] --justification TEXT\n"
    "         [--examples DIR] [--dry-run] [-o json]\n"
    "  Shows what NEW changes against the bundle in force (fetched from the coordinator, or\n"
    "  CURRENT when given: principals, groups, keys, roles, update rule, and the policy diff\n"
    "  with its example requests, the report of keyturn policy diff), then submits\n"
    "  it as a maa.bundle.update request: this admin signs NEW (the unsigned draft of keyturn\n"
    "  bundle new), approvers add their bundle signatures with keyturn request approve, and\n"
    "  keyturn request complete publishes it. --dry-run only shows the diff.\n"
    "  Exit 0 submitted (or shown), 1 refused, 2 usage or I/O, 3 unreachable.\n";

std::string keyList(const BundlePrincipal& p) {
  std::vector<std::string> kids;
  for (const auto& k : p.keys) kids.push_back(k.kid());
  std::sort(kids.begin(), kids.end());
  return joined(kids, ",");
}

// Roster changes between two bundles, one line each.
std::vector<std::string> rosterChanges(const TrustBundle& a, const TrustBundle& b) {
  std::vector<std::string> out;
  for (const auto& p : b.principals) {
    const auto* old = a.principalById(p.id);
    if (!old) {
      out.push_back("principal added: " + p.id + " groups [" + joined(p.groups) + "]");
      continue;
    }
    std::set<std::string> og(old->groups.begin(), old->groups.end()),
        ng(p.groups.begin(), p.groups.end());
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
      out.push_back("role " + perm + ": [" + (it == a.roles.end() ? "" : joined(it->second)) +
                    "] -> [" + joined(groups) + "]");
  }
  for (const auto& [perm, groups] : a.roles)
    if (!b.roles.count(perm)) out.push_back("role removed: " + perm + " [" + joined(groups) + "]");
  std::set<std::string> ai, bi;
  for (const auto& k : a.issuers) ai.insert(k.kid());
  for (const auto& k : b.issuers) bi.insert(k.kid());
  if (ai != bi) out.push_back("issuer keys changed");
  if (a.expires != b.expires)
    out.push_back("expires: " + isoTime(a.expires) + " -> " + isoTime(b.expires));
  return out;
}

}  // namespace

int bundlePropose(int argc, char** argv) {
  auto p = parseCommand(
      argc, argv, {{"bundle", "current", "justification", "examples"}, {}, {"dry-run"}}, kHelp);
  if (!p) return p.reason() == "help" ? 0 : 2;
  const Output& out = p->out;
  auto newPath = p->args.require("bundle");
  if (!newPath) return out.fail(newPath.error());
  auto curPath = p->args.get("current");
  bool dryRun = p->args.flag("dry-run");
  auto justification = p->args.require("justification");
  if (!dryRun && !justification) return out.fail(justification.error());
  // The bundle in force: from --current, else from the coordinator (one connection,
  // reused to submit).
  std::unique_ptr<OnlineClient> client;
  std::string texts[2], origins[2] = {"", newPath.value()};
  if (curPath) {
    auto text = readFile(*curPath, kMaxBundleBytes);
    if (!text) return out.fail(Error{"io", "cannot read " + *curPath + ": " + std::strerror(errno)});
    texts[0] = std::move(*text);
    origins[0] = *curPath;
  } else {
    auto opened = OnlineClient::open();
    if (!opened) return out.fail(opened.error());
    client = std::move(opened).value();
    auto fetched = fetchBundleInForce(*client);
    if (!fetched) return out.fail(fetched.error());
    texts[0] = std::move(fetched).value();
    origins[0] = "the coordinator's bundle in force";
  }
  auto newText = readFile(newPath.value(), kMaxBundleBytes);
  if (!newText) return out.fail(Error{"io", "cannot read " + newPath.value() + ": " + std::strerror(errno)});
  texts[1] = std::move(*newText);
  TrustBundle bundles[2];
  for (int i = 0; i < 2; ++i) {
    auto b = TrustBundle::parse(texts[i]);
    if (!b) return out.fail(Error{b.reason(), origins[i] + ": " + b.detail()});
    bundles[i] = b.value();
  }
  const TrustBundle &cur = bundles[0], &next = bundles[1];
  auto oldSet = policykit::policySetFromBundle(texts[0], origins[0]);
  auto newSet = policykit::policySetFromBundle(texts[1], origins[1]);
  if (!oldSet) return out.fail(oldSet.error());
  if (!newSet) return out.fail(newSet.error());
  std::string examplesDir = p->args.get("examples").value_or("policies/examples");
  auto examples = policykit::loadExamples(examplesDir);
  std::vector<policykit::ExampleRequest> ex =
      examples ? examples.value() : std::vector<policykit::ExampleRequest>{};
  auto diff = policykit::diffPolicySets(oldSet.value(), newSet.value(), ex);

  std::ostringstream s, j;
  s << "bundle v" << cur.version << " -> v" << next.version << " (tenant " << next.tenant
    << ", sha256 " << toHex(next.fileSha256) << ")\n";
  auto roster = rosterChanges(cur, next);
  s << "roster: " << roster.size() << " change(s)\n";
  for (const auto& r : roster) s << "  " << r << "\n";
  s << "policies: " << diff.policies.size() << " changed\n";
  for (const auto& c : diff.policies)
    s << "  " << c.change << " " << c.name << " (" << (c.newFile.empty() ? c.oldFile : c.newFile)
      << ")\n";
  if (!diff.newLoadError.empty()) s << "  NEW does not load: " << diff.newLoadError << "\n";
  s << "examples: " << diff.examples << " evaluated"
    << (examples ? " from " + examplesDir : " (none found)") << ", " << diff.changed.size()
    << " change\n";
  for (const auto& c : diff.changed)
    s << "  " << c.name << "\n    before: " << c.before << "\n    after:  " << c.after << "\n";
  j << "{\"from\":" << cur.version << ",\"to\":" << next.version
    << ",\"sha256\":" << json::quote(toHex(next.fileSha256))
    << ",\"roster\":" << jsonStrings(roster) << ",\"policies\":[";
  for (std::size_t i = 0; i < diff.policies.size(); ++i)
    j << (i ? "," : "") << "{\"name\":" << json::quote(diff.policies[i].name)
      << ",\"change\":" << json::quote(diff.policies[i].change) << "}";
  j << "],\"examples_changed\":" << diff.changed.size();
  if (dryRun) return out.done(s.str(), j.str() + "}");

  // The proposal is the new bundle carrying exactly one signature: this admin's own
  // bundle signature, which also counts toward the update threshold.
  if (!next.signatures.empty())
    return out.fail(Error{
        "usage", newPath.value() + " is already signed; propose the unsigned draft from "
                                   "keyturn bundle new (approvers sign it through the request)"});
  if (!client) {
    auto opened = OnlineClient::open();
    if (!opened) return out.fail(opened.error());
    client = std::move(opened).value();
  }
  OnlineClient& c = *client;
  auto key = c.key();
  if (!key) return out.fail(key.error());
  std::cerr << s.str();
  JwsEnvelope env = next.envelope;
  appendSignature(env, *key.value(),
                  bundleSignatureHeader(key.value()->publicKey().kid(), nowSeconds()));
  auto stored = c.call("POST", kProposeRoute,
                       "{\"bundle\":" + env.serialize() +
                           ",\"justification\":" + json::quote(justification.value()) + "}");
  if (!stored) return out.fail(stored.error());
  std::string id = stored.value()->optValue<std::string>("id", "");
  return out.done(id + "\nbundle v" + std::to_string(next.version) + " proposed as request " + id +
                      ": " + stored.value()->optValue<std::string>("state", "?") +
                      "; approvers: keyturn request approve " + id + " --notes TEXT",
                  j.str() + ",\"request\":" + json::stringify(stored.value()) + "}");
}

}  // namespace keyturn::cli
