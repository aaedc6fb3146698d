#include "keyturn/policy_diff.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>

#include "keyturn/crypto_util.h"
#include "keyturn/json.h"

namespace keyturn::policykit {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxExampleBytes = 1024u * 1024u;

// One policy set as the diff sees it: its policies keyed by name (by file name when
// the set does not load) and an engine to evaluate examples with.
struct LoadedSet {
  std::map<std::string, std::pair<const PolicySource*, std::vector<std::string>>> byName;
  std::unique_ptr<PolicyEngine> engine;
  std::string loadError;
};

LoadedSet loadSet(const PolicySet& set, const PolicyLimits& limits) {
  LoadedSet out;
  auto engine = PolicyEngine::load(set.sources, limits);
  if (!engine) {
    out.loadError = engine.reason() + ": " + engine.detail();
    for (const auto& s : set.sources) out.byName[s.name] = {&s, {}};
    return out;
  }
  out.engine = std::move(engine).value();
  const auto& infos = out.engine->policies();
  for (std::size_t i = 0; i < infos.size(); ++i) out.byName[infos[i].name] = {&set.sources[i], infos[i].actions};
  return out;
}

// The decision as text, its requirements sorted: the order of policies in a set says
// nothing about what a request needs, so reordering files is not a change.
std::string decisionUnder(const LoadedSet& s, const PolicyRequest& req, const DeviceFacts& dev) {
  if (!s.engine) return s.loadError;
  PolicyDecision d = s.engine->evaluate(req, dev);
  std::sort(d.requirements.begin(), d.requirements.end(), [](const Requirement& a, const Requirement& b) {
    return a.group != b.group ? a.group < b.group : a.approvals < b.approvals;
  });
  return describeDecision(d);
}

Result<std::vector<std::string>> stringArray(const json::Object& o, const std::string& key, const std::string& where) {
  auto arr = json::getArray(o, key, where);
  if (!arr) return arr.error();
  std::vector<std::string> out;
  for (std::size_t i = 0; i < arr.value()->size(); ++i) {
    auto s =
        json::asString(arr.value()->get(static_cast<unsigned>(i)), where + "." + key + "[" + std::to_string(i) + "]");
    if (!s) return s.error();
    out.push_back(s.value());
  }
  return out;
}

}  // namespace

Result<ExampleRequest> parseExample(std::string_view text, const std::string& where) {
  using R = Result<ExampleRequest>;
  auto bad = [&](const std::string& d) { return R::fail("malformed", where + ": " + d); };
  auto root = json::parseObject(text);
  if (!root) return bad(root.detail());
  const auto& o = *root.value();
  if (Status s = json::onlyMembers(o, {"name", "description", "request", "device"}, "example"); !s)
    return bad(s.detail());
  ExampleRequest ex;
  ex.file = fs::path(where).filename().string();
  ex.name = ex.file;
  if (o.has("name")) {
    auto n = json::getString(o, "name", "example");
    if (!n) return bad(n.detail());
    ex.name = n.value();
  }
  auto req = json::getObject(o, "request", "example");
  if (!req) return bad(req.detail());
  const auto& r = *req.value();
  if (Status s = json::onlyMembers(
          r, {"id", "action", "params", "requester", "groups", "justification", "targets", "created", "expires", "now"},
          "example.request");
      !s)
    return bad(s.detail());
  auto action = json::getString(r, "action", "example.request");
  if (!action) return bad(action.detail());
  PolicyRequest& p = ex.request;
  p.action = action.value();
  p.id = "example";
  for (auto [key, field] :
       {std::pair{"id", &p.id}, {"requester", &p.requesterId}, {"justification", &p.justification}}) {
    if (!r.has(key)) continue;
    auto v = json::getString(r, key, "example.request");
    if (!v) return bad(v.detail());
    *field = v.value();
  }
  if (r.has("params")) {
    auto params = json::getObject(r, "params", "example.request");
    if (!params) return bad(params.detail());
    p.paramsJson = json::stringify(params.value());
  }
  if (r.has("groups")) {
    auto groups = stringArray(r, "groups", "example.request");
    if (!groups) return bad(groups.detail());
    p.requesterGroups = groups.value();
    ex.groupsGiven = true;
  }
  if (r.has("targets")) {
    auto n = json::getInteger(r, "targets", "example.request");
    if (!n) return bad(n.detail());
    p.targetCount = n.value();
  }
  for (auto [key, field] : {std::pair{"created", &p.created}, {"expires", &p.expires}, {"now", &p.now}}) {
    if (!r.has(key)) continue;
    auto n = json::getInteger(r, key, "example.request");
    if (!n) return bad(n.detail());
    *field = static_cast<std::int64_t>(n.value());
  }
  auto dev = json::getObject(o, "device", "example");
  if (!dev) return bad(dev.detail());
  auto facts = parseDeviceFacts(json::stringify(dev.value()), where);
  if (!facts) return facts.error();
  ex.device = std::move(facts).value();
  return ex;
}

Result<std::vector<ExampleRequest>> loadExamples(const std::string& dir) {
  using R = Result<std::vector<ExampleRequest>>;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return R::fail("io", dir + " is not a folder of example requests");
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec) && it->path().extension() == ".json") files.push_back(it->path());
  if (ec) return R::fail("io", "cannot list " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  std::vector<ExampleRequest> out;
  for (const auto& f : files) {
    auto text = readFile(f.string(), kMaxExampleBytes);
    if (!text) return R::fail("io", "cannot read " + f.string() + ": " + std::strerror(errno));
    auto ex = parseExample(*text, f.string());
    if (!ex) return ex.error();
    out.push_back(std::move(ex).value());
  }
  return out;
}

PolicyRequest exampleRequestFor(const ExampleRequest& ex, const PolicySet& set) {
  PolicyRequest req = ex.request;
  if (!ex.groupsGiven && set.bundle) {
    if (const BundlePrincipal* p = set.bundle->principalById(req.requesterId)) req.requesterGroups = p->groups;
  }
  return req;
}

DiffReport diffPolicySets(const PolicySet& oldSet, const PolicySet& newSet, const std::vector<ExampleRequest>& examples,
                          const PolicyLimits& limits) {
  DiffReport report;
  LoadedSet before = loadSet(oldSet, limits), after = loadSet(newSet, limits);
  report.oldLoadError = before.loadError;
  report.newLoadError = after.loadError;
  for (const auto& [name, old] : before.byName) {
    auto it = after.byName.find(name);
    if (it == after.byName.end()) {
      report.policies.push_back({name, "removed", old.first->name, "", old.second, {}});
    } else if (it->second.first->source != old.first->source) {
      report.policies.push_back(
          {name, "modified", old.first->name, it->second.first->name, old.second, it->second.second});
    }
  }
  for (const auto& [name, now] : after.byName)
    if (!before.byName.count(name)) report.policies.push_back({name, "added", "", now.first->name, {}, now.second});

  report.examples = examples.size();
  for (const auto& ex : examples) {
    std::string was = decisionUnder(before, exampleRequestFor(ex, oldSet), ex.device);
    std::string will = decisionUnder(after, exampleRequestFor(ex, newSet), ex.device);
    if (was != will) report.changed.push_back({ex.name, ex.file, was, will});
  }
  return report;
}

}  // namespace keyturn::policykit
