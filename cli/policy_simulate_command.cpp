// keyturn policy simulate: keyturn/policy_simulation.h, printed as the "why" of a request.
#include <iostream>
#include <set>

#include "keyturn/json.h"
#include "keyturn/policy_kit.h"
#include "keyturn/policy_simulation.h"
#include "keyturn/token_gate.h"
#include "online/online_client.h"
#include "policy_cli.h"

namespace keyturn::cli {

namespace {

constexpr const char* kSimulateHelp =
    "usage: keyturn policy simulate (--bundle FILE | --policies DIR | --server) --action A\n"
    "         --device-facts FILE|DIR --requester ID [--groups g1,g2] [--param k=v ...]\n"
    "         [--targets N] [--justification TEXT] [--now T] [--known-action A ...] [-o json]\n"
    "  Evaluates the request with the agent's own policy engine and prints, for every policy,\n"
    "  whether its actions match and what it returned, then the combined requirement.\n"
    "  --device-facts is one facts file ({\"id\",\"ownership\",\"platform\",\"os_version\",\n"
    "  \"groups\",\"tags\"}) or a folder of them: the combined requirement then covers every\n"
    "  device (per group, the largest count). With --bundle the requester's groups come from\n"
    "  the bundle's roster; with --policies from --groups. --server simulates against the\n"
    "  coordinator's bundle in force (the profile of keyturn login). --param values are JSON\n"
    "  when they parse as JSON (3, true, [1]), else strings. Exit 0 when the request can proceed with the requirement shown, 1 when\n"
    "  a device would deny it or fail closed (policy_error), 2 on a usage or I/O error.\n";

std::vector<std::string> splitCommas(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    if (comma > start) out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

// --param k=v ... as a JSON object text.
Result<std::string> paramsObject(const std::vector<std::string>& params) {
  std::set<std::string> seen;
  std::string out = "{";
  for (const auto& kv : params) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      return Result<std::string>::fail("usage", "--param takes key=value, got \"" + kv + "\"");
    std::string key = kv.substr(0, eq), value = kv.substr(eq + 1);
    if (!seen.insert(key).second) return Result<std::string>::fail("usage", "--param " + key + " is given twice");
    bool isJson = json::parse(value).isOk();
    out += (out.size() > 1 ? "," : "") + json::quote(key) + ":" + (isJson ? value : json::quote(value));
  }
  return out + "}";
}

struct Built {
  PolicyRequest request;
  std::vector<PolicySource> sources;
};

Result<Built> buildRequest(const tools::CommandArgs& args) {
  using R = Result<Built>;
  auto bundle = args.get("bundle");
  auto dir = args.get("policies");
  bool server = args.flag("server");
  if (int(bundle.has_value()) + int(dir.has_value()) + int(server) != 1)
    return R::fail("usage", "give exactly one of --bundle FILE, --policies DIR and --server");
  Result<policykit::PolicySet> set = Result<policykit::PolicySet>::fail("usage", "no policies");
  if (server) {
    // The coordinator's bundle in force, through the logged-in profile (keyturn login).
    auto client = OnlineClient::open();
    if (!client) return client.error();
    auto text = fetchBundleInForce(*client.value());
    if (!text) return text.error();
    set = policykit::policySetFromBundle(text.value(), "the coordinator's bundle in force");
  } else {
    set = policykit::loadPolicySet(bundle ? *bundle : *dir);
  }
  if (!set) return set.error();
  if (dir && set->bundle) return R::fail("usage", "--policies takes a folder; " + *dir + " is a file (use --bundle)");
  if (bundle && !set->bundle) return R::fail("usage", "--bundle takes a bundle file; " + *bundle + " is a folder");

  Built b;
  b.sources = set->sources;
  PolicyRequest& req = b.request;
  for (auto [name, field] : {std::pair{"action", &req.action}, {"requester", &req.requesterId}}) {
    auto v = args.require(name);
    if (!v) return v.error();
    *field = v.value();
  }
  std::set<std::string> known(args.all("known-action").begin(), args.all("known-action").end());
  if (!builtinActions().count(req.action) && !known.count(req.action))
    return R::fail("unknown_action", "action \"" + req.action +
                                         "\" is not in the catalogue: every agent refuses it whatever the policies say "
                                         "(--known-action " +
                                         req.action + " if a plugin provides it)");
  req.id = args.get("id").value_or("simulated");
  req.justification = args.get("justification").value_or("");
  if (set->bundle) {
    if (args.get("groups"))
      return R::fail("usage", "with --bundle the requester's groups come from the roster; drop --groups");
    const BundlePrincipal* who = set->bundle->principalById(req.requesterId);
    if (!who)
      return R::fail("unknown_principal", "requester \"" + req.requesterId + "\" is not in the bundle's roster");
    req.requesterGroups = who->groups;
  } else {
    req.requesterGroups = splitCommas(args.get("groups").value_or(""));
  }
  auto params = paramsObject(args.all("param"));
  if (!params) return params.error();
  req.paramsJson = params.value();
  auto targets = args.integer("targets");
  if (!targets) return targets.error();
  req.targetCount = targets.value().value_or(1);
  auto now = args.now();
  if (!now) return now.error();
  req.now = now.value();
  req.created = req.now;
  req.expires = req.now + 3600;
  return b;
}

std::string tallyLine(const policykit::OutcomeTally& t, std::size_t devices) {
  std::string line = "      -> " + policykit::describeOutcome(t.outcome);
  if (devices > 1)
    line += "   on " + std::to_string(t.devices) + " of " + std::to_string(devices) + " devices (first " +
            t.firstDevice + ")";
  return line + "\n";
}

std::string reportText(const PolicyRequest& req, const std::vector<DeviceFacts>& devices,
                       const policykit::SimulationReport& r) {
  std::string t = "request  " + req.action + " by " + req.requesterId +
                  " (groups: " + (req.requesterGroups.empty() ? "none" : joined(req.requesterGroups)) + "), " +
                  std::to_string(req.targetCount) + " target(s), params " + req.paramsJson + "\n";
  t += "devices  " + std::to_string(devices.size());
  if (devices.size() == 1) t += " (" + devices[0].id + ", " + devices[0].ownership + ")";
  if (r.evaluations < r.devices)
    t += ", " + std::to_string(r.evaluations) + " evaluations (devices with equal facts evaluated once)";
  t += "\npolicies\n";
  for (const auto& p : r.policies) {
    t += "  " + p.info.name + " (" + p.info.file + ") " + (p.matched ? "matched" : "not matched") + ": actions " +
         joined(p.info.actions) + "\n";
    for (const auto& o : p.outcomes) t += tallyLine(o, r.devices);
  }
  for (const auto& ref : r.refusals)
    t += "refused  " + ref.device + ": " + ref.error.reason + ": " + ref.error.detail + "\n";
  if (r.denied + r.errors > r.refusals.size())
    t += "refused  ... and " + std::to_string(r.denied + r.errors - r.refusals.size()) + " more\n";
  t += "combined " + policykit::describeVerdict(r);
  if (r.verdict == "requirements") {
    std::string why;
    for (const auto& q : r.combined)
      why += (why.empty() ? "" : "; ") + std::to_string(q.approvals) + " " + q.group + " from policy " + q.policy;
    t += "\nwhy      " + why;
  }
  return t;
}

std::string reportJson(const PolicyRequest& req, const policykit::SimulationReport& r) {
  std::string policies;
  for (const auto& p : r.policies) {
    std::string outcomes;
    for (const auto& o : p.outcomes)
      outcomes += (outcomes.empty() ? "" : ",") + std::string("{\"kind\":\"") + policykit::outcomeKind(o.outcome.kind) +
                  "\",\"approvals\":" + std::to_string(o.outcome.approvals) +
                  ",\"group\":" + json::quote(o.outcome.group) + ",\"message\":" + json::quote(o.outcome.message) +
                  ",\"devices\":" + std::to_string(o.devices) + ",\"first_device\":" + json::quote(o.firstDevice) + "}";
    policies += (policies.empty() ? "" : ",") + std::string("{\"name\":") + json::quote(p.info.name) +
                ",\"file\":" + json::quote(p.info.file) + ",\"actions\":" + jsonStrings(p.info.actions) +
                ",\"matched\":" + (p.matched ? "true" : "false") + ",\"outcomes\":[" + outcomes + "]}";
  }
  std::string refusals;
  for (const auto& ref : r.refusals)
    refusals += (refusals.empty() ? "" : ",") + std::string("{\"device\":") + json::quote(ref.device) +
                ",\"reason\":" + json::quote(ref.error.reason) + ",\"detail\":" + json::quote(ref.error.detail) + "}";
  return "{\"request\":{\"action\":" + json::quote(req.action) + ",\"requester\":" + json::quote(req.requesterId) +
         ",\"groups\":" + jsonStrings(req.requesterGroups) + ",\"targets\":" + std::to_string(req.targetCount) +
         ",\"params\":" + req.paramsJson + "},\"devices\":" + std::to_string(r.devices) +
         ",\"evaluations\":" + std::to_string(r.evaluations) + ",\"policies\":[" + policies +
         "],\"combined\":" + jsonRequirements(r.combined) + ",\"verdict\":" + json::quote(r.verdict) +
         ",\"summary\":" + json::quote(policykit::describeVerdict(r)) + ",\"denied\":" + std::to_string(r.denied) +
         ",\"errors\":" + std::to_string(r.errors) + ",\"refusals\":[" + refusals + "]}";
}

}  // namespace

int policySimulate(int argc, char** argv) {
  tools::ArgSpec spec{
      {"bundle", "policies", "action", "device-facts", "requester", "groups", "targets", "justification", "now", "id"},
      {"param", "known-action"},
      {"server"}};
  auto p = parsePolicyCommand(argc, argv, spec, kSimulateHelp, 0);
  if (!p) return p.reason() == "help" ? 0 : 2;
  const Output& out = p->parsed.out;
  auto built = buildRequest(p->parsed.args);
  if (!built) return out.fail(built.error());
  auto factsPath = p->parsed.args.require("device-facts");
  if (!factsPath) return out.fail(factsPath.error());
  auto devices = policykit::loadDeviceFacts(factsPath.value());
  if (!devices) {
    Error e = devices.error();
    if (e.reason == "malformed") e.reason = "usage";  // bad input, not a refused request
    return out.fail(e);
  }
  auto report = policykit::simulate(built->sources, built->request, devices.value());
  if (!report) return out.fail(report.error());
  out.done(reportText(built->request, devices.value(), report.value()), reportJson(built->request, report.value()));
  return report->verdict == "error" || report->verdict == "denied" ? 1 : 0;
}

}  // namespace keyturn::cli
