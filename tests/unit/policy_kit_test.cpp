// The policy authoring kit in core (issue 8): policy folders and facts, simulation,
// lint, diff and the policy test runner, each against the real PolicyEngine.
#include "keyturn/policy_kit.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "fixtures.h"
#include "keyturn/bundle_report.h"
#include "keyturn/json.h"
#include "keyturn/policy_diff.h"
#include "keyturn/policy_lint.h"
#include "keyturn/policy_simulation.h"
#include "keyturn/policy_test_runner.h"

using Catch::Matchers::Contains;
using namespace keyturn;
using namespace keyturn::policykit;
namespace fs = std::filesystem;

namespace {

const std::string kSource = KEYTURN_SOURCE_DIR;
const std::string kFixtures = kSource + "/tests/policy/fixtures";

struct KitDir {
  fs::path path;
  KitDir() {
    static int n = 0;
    path = fs::temp_directory_path() / ("kt-policykit-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~KitDir() { fs::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    fs::create_directories((path / name).parent_path());
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
  std::string str() const { return path.string(); }
};

PolicySource wipePolicy(const std::string& file, const std::string& name, const std::string& body) {
  return {file, "return { name = '" + name + "', actions = { 'device.wipe' },\n evaluate = function(req, device)\n" +
                    body + "\n end }\n"};
}

DeviceFacts facts(const std::string& id, const std::string& ownership) {
  DeviceFacts f;
  f.id = id;
  f.ownership = ownership;
  return f;
}

PolicyRequest wipe() {
  PolicyRequest r;
  r.id = "req-1";
  r.action = "device.wipe";
  r.requesterId = "alice";
  return r;
}

std::vector<LintFinding> findingsOf(const std::vector<LintFinding>& all, const std::string& file) {
  std::vector<LintFinding> out;
  for (const auto& f : all)
    if (f.file == file) out.push_back(f);
  return out;
}

bool hasFinding(const std::vector<LintFinding>& all, const std::string& file, const std::string& check, int line,
                const std::string& text) {
  for (const auto& f : findingsOf(all, file))
    if (f.check == check && f.line == line && f.message.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("a policy folder is its *.lua files except tests, in name order") {
  KitDir d;
  d.write("b.lua", "return 2");
  d.write("a.lua", "return 1");
  d.write("a_test.lua", "test()");
  d.write("notes.txt", "x");
  d.write("sub/c.lua", "return 3");
  auto set = loadPolicyFolder(d.str());
  REQUIRE(set.isOk());
  REQUIRE(set->size() == 2);
  CHECK(set.value()[0].name == "a.lua");
  CHECK(set.value()[1].name == "b.lua");
  auto missing = loadPolicyFolder(d.str() + "/nope");
  REQUIRE_FALSE(missing.isOk());
  CHECK(missing.reason() == "io");
}

TEST_CASE("device facts are read strictly, one file or a folder of them") {
  auto ok = parseDeviceFacts(R"({"id":"d1","ownership":"personal","groups":["kiosk"],"tags":{"site":"berlin"}})", "f");
  REQUIRE(ok.isOk());
  CHECK(ok->ownership == "personal");
  CHECK(ok->tags.at("site") == "berlin");
  CHECK(parseDeviceFacts(R"({"id":"d1"})", "f")->ownership == "unknown");
  CHECK_THAT(parseDeviceFacts(R"({"id":"d1","owner":"x"})", "f").detail(), Contains("owner"));
  CHECK_THAT(parseDeviceFacts(R"({"id":"d1","ownership":"mine"})", "f").detail(),
             Contains("corporate, personal or unknown"));
  CHECK(parseDeviceFacts(R"({"ownership":"corporate"})", "f").reason() == "malformed");
  CHECK(parseDeviceFacts("{\"id\":", "f").reason() == "malformed");

  KitDir d;
  d.write("a.json", R"({"id":"a"})");
  d.write("b.json", R"({"id":"b","ownership":"corporate"})");
  auto all = loadDeviceFacts(d.str());
  REQUIRE(all.isOk());
  CHECK(all->size() == 2);
  d.write("c.json", R"({"id":"c","ownership":42})");
  auto bad = loadDeviceFacts(d.str());
  REQUIRE_FALSE(bad.isOk());
  CHECK_THAT(bad.detail(), Contains("c.json"));
  KitDir empty;
  CHECK(loadDeviceFacts(empty.str()).reason() == "io");
  CHECK(loadDeviceFacts(empty.str() + "/missing.json").reason() == "io");
}

TEST_CASE("simulate shows every policy, whether it matched, and the combined requirement") {
  std::vector<PolicySource> sources = {
      wipePolicy("wipe.lua", "wipe",
                 "if device.ownership == 'personal' then return { approvals = 2, group = 'hr' } end\n"
                 "return { approvals = 1, group = 'it' }"),
      {"lock.lua", "return { name = 'lock', actions = { 'device.lock' }, evaluate = function() return nil end }"},
      wipePolicy("none.lua", "none", "return nil"),
  };
  auto r =
      simulate(sources, wipe(), {facts("laptop", "corporate"), facts("phone", "personal"), facts("pc", "corporate")});
  REQUIRE(r.isOk());
  REQUIRE(r->policies.size() == 3);
  CHECK(r->policies[0].matched);
  CHECK_FALSE(r->policies[1].matched);
  CHECK(r->policies[1].outcomes.empty());
  REQUIRE(r->policies[0].outcomes.size() == 2);
  CHECK(r->policies[0].outcomes[0].outcome.group == "it");
  CHECK(r->policies[0].outcomes[0].devices == 2);
  CHECK(r->policies[0].outcomes[1].firstDevice == "phone");
  CHECK(r->policies[2].outcomes[0].outcome.kind == PolicyOutcome::Kind::kUnprotected);
  CHECK(r->verdict == "requirements");
  REQUIRE(r->combined.size() == 2);
  CHECK(describeVerdict(r.value()) == "requires 1 from it, 2 from hr");
  CHECK(r->combined[1].policy == "wipe");
}

TEST_CASE("simulate gives the same answer with one engine or several") {
  std::vector<PolicySource> sources = {
      wipePolicy("w.lua", "w",
                 "if device.tags.n == '7' then return { deny = 'seven' } end return { approvals = 1, group = 'g' }")};
  std::vector<DeviceFacts> devices;
  for (int i = 0; i < 20; ++i) {
    devices.push_back(facts("d" + std::to_string(i), "corporate"));
    devices.back().tags["n"] = std::to_string(i);
  }
  auto one = simulate(sources, wipe(), devices, {1, {}});
  auto two = simulate(sources, wipe(), devices, {2, {}});
  REQUIRE(one.isOk());
  REQUIRE(two.isOk());
  CHECK(one->verdict == "denied");
  CHECK(one->denied == 1);
  CHECK(two->denied == 1);
  CHECK(one->refusals.at(0).device == "d7");
  CHECK(two->refusals.at(0).device == "d7");
  CHECK(one->policies[0].outcomes.size() == two->policies[0].outcomes.size());
}

TEST_CASE("simulating a looping or escaping policy reports policy_error and returns") {
  auto start = std::chrono::steady_clock::now();
  // The escaping one first: all policies of a request share one budget, so a policy
  // after the loop is "not evaluated".
  std::vector<PolicySource> sources = {wipePolicy("esc.lua", "esc", "return io.open('/etc/passwd')"),
                                       wipePolicy("loop.lua", "loop", "while true do end")};
  auto r = simulate(sources, wipe(), {facts("a", "corporate"), facts("b", "personal")});
  REQUIRE(r.isOk());
  CHECK(r->verdict == "error");
  CHECK(r->errors == 2);
  CHECK_THAT(r->policies[0].outcomes.at(0).outcome.message, Contains("global 'io'"));
  CHECK_THAT(r->policies[1].outcomes.at(0).outcome.message, Contains("instruction limit"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("simulate fails when a policy does not load") {
  auto r = simulate({{"bad.lua", "return {"}}, wipe(), {facts("a", "corporate")});
  REQUIRE_FALSE(r.isOk());
  CHECK_THAT(r.detail(), Contains("bad.lua"));
}

TEST_CASE("lint reports each finding with its file and line") {
  auto set = loadPolicyFolder(kFixtures + "/lint");
  REQUIRE(set.isOk());
  auto f = lintPolicies(set.value());
  CHECK(hasErrors(f));
  CHECK(hasFinding(f, "syntax.lua", "load", 7, "does not compile"));
  CHECK(hasFinding(f, "misspelled.lua", "field", 3, "did you mean 'actions'"));
  CHECK(hasFinding(f, "misspelled.lua", "field", 4, "did you mean 'evaluate'"));
  CHECK(hasFinding(f, "unknown_action.lua", "action", 3, "\"device.explode\""));
  CHECK(hasFinding(f, "unknown_action.lua", "action", 3, "\"gadget.*\""));
  CHECK(hasFinding(f, "forbidden.lua", "global", 5, "'os'"));
  CHECK(hasFinding(f, "forbidden.lua", "global", 7, "'math.random'"));
  CHECK(hasFinding(f, "no_return.lua", "return", 4, "no return"));
  CHECK(hasFinding(f, "dup_b.lua", "duplicate", 2, "dup_a.lua"));
  auto clean = findingsOf(f, "clean.lua");
  REQUIRE(clean.size() == 1);  // only the ignored `description` field
  CHECK(clean[0].severity == LintFinding::Severity::kWarning);
}

TEST_CASE("lint finds a loop that can never return and accepts plugin actions when told") {
  PolicySource loop{"loop.lua",
                    "return { name = 'l', actions = { 'plugin.reboot' },\n evaluate = function(req, device)\n"
                    "  while true do\n    local x = 1\n  end\n end }\n"};
  auto f = lintPolicies({loop});
  CHECK(hasFinding(f, "loop.lua", "return", 3, "can never return"));
  CHECK(hasFinding(f, "loop.lua", "action", 1, "plugin.reboot"));
  LintOptions withPlugin;
  withPlugin.extraActions = {"plugin.reboot"};
  CHECK_FALSE(hasFinding(lintPolicies({loop}, withPlugin), "loop.lua", "action", 1, "plugin.reboot"));
}

TEST_CASE("the shipped policies lint clean") {
  for (const std::string dir : {"/policies", "/policies/examples"}) {
    auto set = loadPolicyFolder(kSource + dir);
    REQUIRE(set.isOk());
    auto f = lintPolicies(set.value());
    INFO(dir << ": " << (f.empty() ? "" : f[0].file + ": " + f[0].message));
    CHECK(f.empty());
  }
}

TEST_CASE("the policy test runner passes the shipped tests and points at a failing line") {
  auto files = discoverPolicyTests(kSource + "/policies");
  REQUIRE(files.isOk());
  CHECK(files->size() >= 8);
  for (const auto& file : files.value()) {
    auto r = runPolicyTestFile(file);
    INFO(file.testPath << " " << r.error);
    CHECK(r.failed() == 0);
    CHECK(r.passed() > 0);
  }
  KitDir d;
  d.write("p.lua",
          "return { name = 'p', actions = { 'device.wipe' }, evaluate = function() "
          "return { approvals = 1, group = 'g' } end }");
  d.write("p_test.lua",
          "test('right', function()\n  expect_approvals(request{}, device{}, 1, 'g')\nend)\n"
          "test('wrong', function()\n  expect_deny(request{}, device{})\nend)\n");
  auto r = runPolicyTestFile({d.str() + "/p_test.lua", d.str() + "/p.lua"});
  CHECK(r.passed() == 1);
  CHECK(r.failed() == 1);
  CHECK_THAT(r.cases.at(1).message, Contains("p_test.lua:5: expected a deny, got ok: 1 from g"));
}

TEST_CASE("a looping or escaping policy fails its tests and the runner returns") {
  auto start = std::chrono::steady_clock::now();
  auto files = discoverPolicyTests(kFixtures + "/sandbox");
  REQUIRE(files.isOk());
  int failed = 0, passed = 0;
  for (const auto& file : files.value()) {
    auto r = runPolicyTestFile(file);
    failed += r.failed();
    passed += r.passed();
    for (const auto& c : r.cases) CHECK_THAT(c.message, Contains("policy_error"));
  }
  CHECK(passed == 0);
  CHECK(failed == 4);
  CHECK_FALSE(fs::exists("/tmp/keyturn-policy-escaped"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
}

TEST_CASE("a test file is confined too: no os, no io, no load, and a time limit") {
  KitDir d;
  d.write("p.lua", "return { name = 'p', actions = { 'device.wipe' }, evaluate = function() return nil end }");
  d.write("p_test.lua",
          "test('os', function() os.exit(3) end)\n"
          "test('io', function() io.open('/etc/passwd') end)\n"
          "test('load', function() load('return 1')() end)\n"
          "test('spin', function() while true do end end)\n");
  TestRunOptions options;
  options.testTime = std::chrono::milliseconds(200);
  auto r = runPolicyTestFile({d.str() + "/p_test.lua", d.str() + "/p.lua"}, options);
  REQUIRE(r.cases.size() == 4);
  CHECK(r.failed() == 4);
  CHECK_THAT(r.cases[0].message, Contains("global 'os'"));
  CHECK_THAT(r.cases[1].message, Contains("global 'io'"));
  CHECK_THAT(r.cases[2].message, Contains("global 'load'"));
  CHECK_THAT(r.cases[3].message, Contains("test time limit"));
}

TEST_CASE("a missing policy, a broken test file or no tests at all is a failure") {
  KitDir d;
  d.write("orphan_test.lua", "test('x', function() end)");
  CHECK_THAT(runPolicyTestFile({d.str() + "/orphan_test.lua", d.str() + "/orphan.lua"}).error, Contains("cannot read"));
  d.write("p.lua", "return { name = 'p', actions = { 'device.wipe' }, evaluate = function() return nil end }");
  d.write("p_test.lua", "test('x', function()");
  auto broken = runPolicyTestFile({d.str() + "/p_test.lua", d.str() + "/p.lua"});
  CHECK(broken.failed() == 1);
  CHECK_THAT(broken.error, Contains("does not load"));
  d.write("p_test.lua", "-- nothing");
  CHECK_THAT(runPolicyTestFile({d.str() + "/p_test.lua", d.str() + "/p.lua"}).error, Contains("no test"));
  CHECK(discoverPolicyTests(d.str() + "/nope").reason() == "io");
}

TEST_CASE("diff lists changed policies and every example whose decision changes") {
  KitDir oldDir, newDir;
  oldDir.write("wipe.lua", wipePolicy("", "wipe", "return { approvals = 1, group = 'it' }").source);
  oldDir.write("gone.lua",
               "return { name = 'gone', actions = { 'app.install' }, evaluate = function() return nil end }");
  newDir.write("wipe.lua", wipePolicy("", "wipe",
                                      "if device.ownership == 'personal' then return { approvals = 2, "
                                      "group = 'hr' } end return { approvals = 1, group = 'it' }")
                               .source);
  newDir.write("new.lua", "return { name = 'new', actions = { 'device.lock' }, evaluate = function() return nil end }");
  KitDir ex;
  ex.write(
      "a.json",
      R"({"name":"corporate wipe","request":{"action":"device.wipe"},"device":{"id":"c","ownership":"corporate"}})");
  ex.write("b.json",
           R"({"name":"personal wipe","request":{"action":"device.wipe"},"device":{"id":"p","ownership":"personal"}})");
  auto examples = loadExamples(ex.str());
  REQUIRE(examples.isOk());
  auto r = diffPolicySets(loadPolicySet(oldDir.str()).value(), loadPolicySet(newDir.str()).value(), examples.value());
  REQUIRE(r.policies.size() == 3);
  CHECK((r.policies[0].name == "gone" && r.policies[0].change == "removed"));
  CHECK((r.policies[1].name == "wipe" && r.policies[1].change == "modified"));
  CHECK((r.policies[2].name == "new" && r.policies[2].change == "added"));
  CHECK(r.examples == 2);
  REQUIRE(r.changed.size() == 1);
  CHECK(r.changed[0].name == "personal wipe");
  CHECK(r.changed[0].before == "requires 1 from it");
  CHECK(r.changed[0].after == "requires 2 from hr");
}

TEST_CASE("diff against a set that does not load shows every example failing closed") {
  KitDir oldDir, newDir;
  oldDir.write("wipe.lua", wipePolicy("", "wipe", "return { approvals = 1, group = 'it' }").source);
  newDir.write("wipe.lua", "return {");
  ExampleRequest ex;
  ex.name = "w";
  ex.request = wipe();
  ex.device = facts("c", "corporate");
  auto r = diffPolicySets(loadPolicySet(oldDir.str()).value(), loadPolicySet(newDir.str()).value(), {ex});
  CHECK_THAT(r.newLoadError, Contains("does not compile"));
  REQUIRE(r.changed.size() == 1);
  CHECK_THAT(r.changed[0].after, Contains("policy_error"));
}

TEST_CASE("the saved example requests parse, and bad ones are refused with their file") {
  auto shipped = loadExamples(kSource + "/policies/examples");
  REQUIRE(shipped.isOk());
  CHECK(shipped->size() >= 6);
  CHECK(parseExample(R"({"request":{"action":"device.wipe","colour":"red"},"device":{"id":"d"}})", "x.json").reason() ==
        "malformed");
  CHECK(parseExample(R"({"request":{},"device":{"id":"d"}})", "x.json").reason() == "malformed");
  CHECK_THAT(parseExample(R"({"request":{"action":"device.wipe"},"device":{}})", "x.json").detail(),
             Contains("x.json"));
}

TEST_CASE("devices with equal facts are evaluated once only when no policy can see the id") {
  CHECK(policiesIgnoreDeviceId({wipePolicy("a.lua", "a", "if device.groups['kiosk'] then return nil end return nil")}));
  CHECK_FALSE(policiesIgnoreDeviceId({wipePolicy("a.lua", "a", "if device.id == 'x' then return nil end")}));
  CHECK_FALSE(policiesIgnoreDeviceId({wipePolicy("a.lua", "a", "local k = 'i' .. 'd' return device[k]")}));
  CHECK_FALSE(policiesIgnoreDeviceId({wipePolicy("a.lua", "a", "for k, v in pairs(device) do end")}));
  CHECK_FALSE(policiesIgnoreDeviceId({wipePolicy("a.lua", "a", "return device['id']")}));

  std::vector<DeviceFacts> devices;
  for (int i = 0; i < 30; ++i) devices.push_back(facts("d" + std::to_string(i), i % 3 ? "corporate" : "personal"));
  auto blind = wipePolicy("a.lua", "a",
                          "if device.ownership == 'personal' then return { deny = 'byod' } end "
                          "return { approvals = 1, group = 'g' }");
  auto grouped = simulate({blind}, wipe(), devices);
  SimulationOptions perDevice;
  perDevice.groupEqualFacts = false;
  auto each = simulate({blind}, wipe(), devices, perDevice);
  REQUIRE(grouped.isOk());
  REQUIRE(each.isOk());
  CHECK(grouped->evaluations == 2);
  CHECK(each->evaluations == 30);
  CHECK(grouped->denied == each->denied);
  CHECK(grouped->refusals.size() == each->refusals.size());
  CHECK(grouped->refusals.at(1).device == "d3");
  CHECK(grouped->policies[0].outcomes.at(0).devices == each->policies[0].outcomes.at(0).devices);

  auto seesId = wipePolicy("b.lua", "b", "if device.id == 'd5' then return { deny = 'five' } end return nil");
  auto r = simulate({seesId}, wipe(), devices);
  REQUIRE(r.isOk());
  CHECK(r->evaluations == 30);
  CHECK(r->denied == 1);
}

// The proposal report (keyturn/bundle_report.h): roster lines, policy diff and example
// re-runs, as text and as JSON, from two bundles' bytes.
TEST_CASE("bundle report: a bundle change report lists roster changes, changed policies and changed examples") {
  keyturn::test::Tenant t;
  BundleDraft next = t.draft(2);
  next.principals.erase(std::remove_if(next.principals.begin(), next.principals.end(),
                                       [](const auto& p) { return p.id == "erin"; }),
                        next.principals.end());
  next.threshold = 3;
  next.policies.push_back({"apps.lua",
                           "return { name = 'apps', actions = { 'app.install' },\n"
                           "  evaluate = function(req, device) return { approvals = 1, group = 'device-approvers' } end }\n"});
  std::string cur = t.sign(t.draft(1), {"alice", "bob"});
  std::string prop = t.sign(next, {"alice"});
  KitDir examples;
  examples.write("app.json",
                 R"({"name":"install htop","request":{"action":"app.install","requester":"alice"},)"
                 R"("device":{"id":"d1"}})");
  auto r = bundleChangeReport(cur, "v1", prop, "v2", examples.str());
  REQUIRE(r);
  CHECK(r.value().fromVersion == 1);
  CHECK(r.value().toVersion == 2);
  const auto& roster = r.value().roster;
  CHECK(std::find(roster.begin(), roster.end(), "principal removed: erin") != roster.end());
  CHECK(std::find_if(roster.begin(), roster.end(),
                     [](const std::string& l) { return l.rfind("update rule: 2 of", 0) == 0; }) != roster.end());
  REQUIRE(r.value().policies.changed.size() == 1);

  std::string text = policykit::reportText(r.value());
  CHECK_THAT(text, Catch::Contains("bundle v1 -> v2"));
  CHECK_THAT(text, Catch::Contains("added apps (apps.lua)"));
  CHECK_THAT(text, Catch::Contains("examples: 1 evaluated from " + examples.str() + ", 1 change"));
  CHECK_THAT(text, Catch::Contains("before: no approvals needed"));

  auto parsed = json::parseObject(policykit::reportJson(r.value()));
  REQUIRE(parsed);
  CHECK(parsed.value()->getValue<std::string>("text") == text);
  CHECK(parsed.value()->getArray("examples_changed")->size() == 1);
}

TEST_CASE("bundle report: the roster diff names each principal, group, key and role change once") {
  keyturn::test::Tenant t;
  BundleDraft next = t.draft(2);
  Ed25519PrivateKey spare = keyturn::test::fixedKey("bob-laptop");
  for (auto& p : next.principals) {
    if (p.id == "bob") p.keysX.push_back(spare.publicKey().x());
    if (p.id == "dave") p.groups.push_back("device-approvers");
  }
  next.principals.erase(std::remove_if(next.principals.begin(), next.principals.end(),
                                       [](const auto& p) { return p.id == "erin"; }),
                        next.principals.end());
  next.roles = {{"devices.enroll", {"device-admins"}}};  // audit.read revoked, devices.enroll granted
  auto cur = TrustBundle::parse(t.sign(t.draft(1), {"alice", "bob"}));
  auto prop = TrustBundle::parse(t.sign(next, {"alice"}));
  REQUIRE(cur);
  REQUIRE(prop);
  policykit::RosterDiff d = policykit::rosterDiff(cur.value(), prop.value());

  REQUIRE(d.principals.size() == 3);  // bob, dave modified; erin removed (last)
  CHECK(d.principals[0].id == "bob");
  CHECK(d.principals[0].change == "modified");
  CHECK(d.principals[0].keysAdded == std::vector<std::string>{spare.publicKey().kid()});
  CHECK(d.principals[0].groupsAdded.empty());
  CHECK(d.principals[1].id == "dave");
  CHECK(d.principals[1].groupsAdded == std::vector<std::string>{"device-approvers"});
  CHECK(d.principals[2].id == "erin");
  CHECK(d.principals[2].change == "removed");
  REQUIRE(d.roles.size() == 2);
  CHECK(d.roles[0].role == "audit.read");
  CHECK((d.roles[0].before && !d.roles[0].after));
  CHECK(d.roles[1].role == "devices.enroll");
  CHECK((!d.roles[1].before && d.roles[1].after));
  CHECK(d.issuersAdded.empty());
  CHECK(d.issuersRemoved.empty());

  // The readable lines are this same diff.
  auto lines = policykit::rosterLines(d);
  CHECK(lines == policykit::rosterChanges(cur.value(), prop.value()));
  CHECK(std::find(lines.begin(), lines.end(), "group membership added: dave joins device-approvers") != lines.end());
  CHECK(std::find(lines.begin(), lines.end(), "role removed: audit.read [auditors, maa-admins]") != lines.end());
  CHECK(std::find(lines.begin(), lines.end(), "role devices.enroll: [] -> [device-admins]") != lines.end());
  CHECK(std::find_if(lines.begin(), lines.end(),
                     [](const std::string& l) { return l.rfind("keys changed: bob now ", 0) == 0; }) != lines.end());
}

TEST_CASE("bundle report: a bundle change report names the side that does not parse") {
  keyturn::test::Tenant t;
  std::string cur = t.sign(t.draft(1), {"alice", "bob"});
  auto r = bundleChangeReport(cur, "v1", "{not json", "proposal.json", "");
  REQUIRE_FALSE(r);
  CHECK(r.reason() == "malformed");
  CHECK_THAT(r.detail(), Catch::StartsWith("proposal.json: "));
}

TEST_CASE("bundle report: a bundle change report shows an examples folder that does not load instead of hiding it") {
  keyturn::test::Tenant t;
  std::string cur = t.sign(t.draft(1), {"alice", "bob"});
  std::string prop = t.sign(t.draft(2), {"alice"});
  KitDir examples;
  examples.write("broken.json", "{\"name\": ");
  auto r = bundleChangeReport(cur, "v1", prop, "v2", examples.str());
  REQUIRE(r);
  CHECK_THAT(r.value().examplesError, Catch::Contains("broken.json"));
  CHECK(r.value().examplesFrom.empty());
  CHECK_THAT(policykit::reportText(r.value()), Catch::Contains("examples: NOT LOADED: "));
  // A folder that does not exist is simply "none found".
  auto none = bundleChangeReport(cur, "v1", prop, "v2", examples.str() + "/missing");
  REQUIRE(none);
  CHECK(none.value().examplesError.empty());
  CHECK_THAT(policykit::reportText(none.value()), Catch::Contains("(none found)"));
}
