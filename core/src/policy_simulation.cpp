#include "keyturn/policy_simulation.h"

#include <algorithm>
#include <thread>
#include <unordered_map>

#include "keyturn/approval_rules.h"
#include "keyturn/policy_kit.h"
#include "policy_lua_lexer.h"

namespace keyturn::policykit {

namespace {

bool sameOutcome(const PolicyOutcome& a, const PolicyOutcome& b) {
  return a.kind == b.kind && a.approvals == b.approvals && a.group == b.group && a.message == b.message;
}

bool matches(const PolicyInfo& info, const std::string& action) {
  return std::any_of(info.actions.begin(), info.actions.end(),
                     [&](const std::string& p) { return policyActionMatches(p, action); });
}

// Evaluates devices[order[begin..end)] with one engine, writing decisions in place.
void evaluateRange(const PolicyEngine& engine, const PolicyRequest& request, const std::vector<DeviceFacts>& devices,
                   const std::vector<std::size_t>& order, std::size_t begin, std::size_t end,
                   std::vector<PolicyDecision>& out) {
  for (std::size_t i = begin; i < end; ++i) out[i] = engine.evaluate(request, devices[order[i]]);
}

// Everything a policy can see of a device except its id, as one string.
std::string factsKey(const DeviceFacts& f) {
  std::string k = f.ownership + '\0' + f.platform + '\0' + f.osVersion + '\0';
  for (const auto& g : f.groups) k += g + '\x01';
  k += '\0';
  for (const auto& [tag, value] : f.tags) k += tag + '\x01' + value + '\x02';
  return k;
}

void tally(PolicySimulation& p, const PolicyOutcome& o, const std::string& device) {
  for (auto& t : p.outcomes) {
    if (sameOutcome(t.outcome, o)) {
      ++t.devices;
      return;
    }
  }
  PolicyOutcome kept = o;
  kept.policy = p.info.name;
  kept.file = p.info.file;
  p.outcomes.push_back(OutcomeTally{kept, 1, device});
}

}  // namespace

Result<SimulationReport> simulate(const std::vector<PolicySource>& sources, const PolicyRequest& request,
                                  const std::vector<DeviceFacts>& devices, SimulationOptions options) {
  using R = Result<SimulationReport>;
  if (devices.empty()) return R::fail("usage", "no device facts to simulate against");
  unsigned engines = options.engines != 0 ? options.engines : std::max(1u, std::thread::hardware_concurrency());

  // classOf[d]: the index into `order` of the device evaluated for device d.
  std::vector<std::size_t> order, classOf(devices.size());
  if (options.groupEqualFacts && policiesIgnoreDeviceId(sources)) {
    std::unordered_map<std::string, std::size_t> seen;
    for (std::size_t d = 0; d < devices.size(); ++d) {
      auto [it, fresh] = seen.emplace(factsKey(devices[d]), order.size());
      if (fresh) order.push_back(d);
      classOf[d] = it->second;
    }
  } else {
    for (std::size_t d = 0; d < devices.size(); ++d) order.push_back(d), classOf[d] = d;
  }
  engines = static_cast<unsigned>(std::min<std::size_t>(engines, order.size()));

  // Each engine is its own worker process, so the devices are split between them.
  std::vector<std::unique_ptr<PolicyEngine>> loaded;
  for (unsigned i = 0; i < engines; ++i) {
    auto e = PolicyEngine::load(sources, options.limits);
    if (!e) return e.error();
    loaded.push_back(std::move(e).value());
  }
  std::vector<PolicyDecision> decisions(order.size());
  if (engines == 1) {
    evaluateRange(*loaded[0], request, devices, order, 0, order.size(), decisions);
  } else {
    std::vector<std::thread> threads;
    std::size_t per = (order.size() + engines - 1) / engines;
    for (unsigned i = 0; i < engines; ++i) {
      std::size_t begin = std::min(order.size(), i * per), end = std::min(order.size(), begin + per);
      threads.emplace_back(evaluateRange, std::cref(*loaded[i]), std::cref(request), std::cref(devices),
                           std::cref(order), begin, end, std::ref(decisions));
    }
    for (auto& t : threads) t.join();
  }

  SimulationReport report;
  report.devices = devices.size();
  report.evaluations = order.size();
  const auto& infos = loaded[0]->policies();
  std::vector<std::size_t> matching;
  for (std::size_t i = 0; i < infos.size(); ++i) {
    report.policies.push_back(PolicySimulation{infos[i], matches(infos[i], request.action), {}});
    if (report.policies.back().matched) matching.push_back(i);
  }

  std::vector<std::vector<Requirement>> perDevice;
  for (std::size_t d = 0; d < devices.size(); ++d) {
    const PolicyDecision& dec = decisions[classOf[d]];
    if (dec.outcomes.size() == matching.size()) {
      for (std::size_t k = 0; k < matching.size(); ++k)
        tally(report.policies[matching[k]], dec.outcomes[k], devices[d].id);
    } else {
      // No per-policy answer (the worker was killed at the time limit, or params were
      // refused): every matching policy is charged with the decision's error.
      PolicyOutcome o;
      o.kind = PolicyOutcome::Kind::kError;
      o.message = dec.status.isOk() ? "no answer" : dec.status.detail();
      for (auto k : matching) tally(report.policies[k], o, devices[d].id);
    }
    if (dec.status.isOk()) {
      perDevice.push_back(dec.requirements);
      continue;
    }
    (dec.status.reason() == "policy_denied" ? report.denied : report.errors)++;
    if (report.refusals.size() < kMaxRefusalsListed) report.refusals.push_back({devices[d].id, dec.status.error()});
  }
  report.combined = mergeRequirements(perDevice);
  if (report.errors > 0)
    report.verdict = "error";
  else if (report.denied > 0)
    report.verdict = "denied";
  else
    report.verdict = report.combined.empty() ? "unprotected" : "requirements";
  return report;
}

bool policiesIgnoreDeviceId(const std::vector<PolicySource>& sources) {
  using Kind = LuaToken::Kind;
  for (const auto& src : sources) {
    auto toks = tokenizeLua(src.source);
    for (std::size_t i = 0; i < toks.size(); ++i) {
      const auto& t = toks[i];
      if (t.kind == Kind::kName && (t.text == "id" || t.text == "pairs" || t.text == "next")) return false;
      if (t.kind == Kind::kString && t.text.find("id") != std::string::npos) return false;
      bool indexing = t.kind == Kind::kSymbol && t.text == "[" && i > 0 &&
                      (toks[i - 1].kind == Kind::kName || toks[i - 1].kind == Kind::kString ||
                       (toks[i - 1].kind == Kind::kSymbol && (toks[i - 1].text == "]" || toks[i - 1].text == ")")));
      bool literalKey = i + 2 < toks.size() &&
                        (toks[i + 1].kind == Kind::kString || toks[i + 1].kind == Kind::kNumber) &&
                        toks[i + 2].kind == Kind::kSymbol && toks[i + 2].text == "]";
      if (indexing && !literalKey) return false;
    }
  }
  return true;
}

std::string describeVerdict(const SimulationReport& r) {
  std::string of = " of " + std::to_string(r.devices) + (r.devices == 1 ? " device" : " devices");
  if (r.verdict == "error")
    return "policy_error on " + std::to_string(r.errors) + of + " (the agent refuses: fails closed)";
  if (r.verdict == "denied") return "denied on " + std::to_string(r.denied) + of;
  if (r.verdict == "unprotected") return "no approvals needed";
  return "requires " + describeRequirements(r.combined);
}

}  // namespace keyturn::policykit
