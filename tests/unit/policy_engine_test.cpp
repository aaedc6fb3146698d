// The policy engine's decisions (PROTOCOL.md section 6): what a policy sees, what it
// may return, how the outcomes of several policies combine, and what fails at load.
#include "keyturn/policy_engine.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

using Catch::Matchers::Contains;
using keyturn::DeviceFacts;
using keyturn::policyActionMatches;
using keyturn::PolicyDecision;
using keyturn::PolicyEngine;
using keyturn::PolicyOutcome;
using keyturn::PolicyRequest;
using keyturn::PolicySource;

namespace {

PolicySource policy(const std::string& file, const std::string& name, const std::string& actions,
                    const std::string& body) {
  return {file, "return { name = '" + name + "', actions = { " + actions +
                    " },\n"
                    "  evaluate = function(req, device)\n" +
                    body + "\n  end }\n"};
}

std::unique_ptr<PolicyEngine> mustLoad(std::vector<PolicySource> sources) {
  auto e = PolicyEngine::load(std::move(sources));
  INFO((e.isOk() ? std::string() : e.detail()));
  REQUIRE(e.isOk());
  return std::move(e).value();
}

PolicyRequest request(const std::string& action, const std::string& params = "{}") {
  PolicyRequest r;
  r.id = "req-1";
  r.action = action;
  r.paramsJson = params;
  r.requesterId = "alice";
  return r;
}

keyturn::Error loadError(const std::string& source) {
  auto e = PolicyEngine::load({{"bad.lua", source}});
  REQUIRE_FALSE(e.isOk());
  return e.error();
}

}  // namespace

TEST_CASE("action patterns match exactly or by prefix.* at any depth") {
  CHECK(policyActionMatches("device.wipe", "device.wipe"));
  CHECK_FALSE(policyActionMatches("device.wipe", "device.wiped"));
  CHECK(policyActionMatches("device.*", "device.wipe"));
  CHECK(policyActionMatches("device.*", "device.disk.erase"));
  CHECK_FALSE(policyActionMatches("device.*", "device"));
  CHECK_FALSE(policyActionMatches("device.*", "device."));
  CHECK_FALSE(policyActionMatches("device.*", "devices.wipe"));
  CHECK_FALSE(policyActionMatches("device.*", "script.run"));
}

TEST_CASE("only policies whose actions match are evaluated, prefix.* included") {
  auto engine =
      mustLoad({policy("d.lua", "d", "'device.*'", "return { approvals = 1, group = 'dev' }"),
                policy("s.lua", "s", "'script.run'", "return { approvals = 2, group = 'scr' }")});
  PolicyDecision d = engine->evaluate(request("device.disk.erase"), {});
  REQUIRE(d.status.isOk());
  REQUIRE(d.outcomes.size() == 1);
  CHECK(d.outcomes[0].policy == "d");
  CHECK(d.outcomes[0].file == "d.lua");
  PolicyDecision s = engine->evaluate(request("script.run"), {});
  REQUIRE(s.requirements.size() == 1);
  CHECK(s.requirements[0].group == "scr");
  CHECK(s.requirements[0].policy == "s");
}

TEST_CASE("an action no policy matches needs no approvals") {
  auto engine = mustLoad({policy("d.lua", "d", "'device.wipe'", "return { deny = 'no' }")});
  PolicyDecision d = engine->evaluate(request("app.install"), {});
  CHECK(d.status.isOk());
  CHECK(d.requirements.empty());
  CHECK(d.outcomes.empty());
  CHECK_FALSE(engine->protects("app.install"));
  CHECK(engine->protects("device.wipe"));
}

TEST_CASE("evaluate returning nil leaves the action unprotected") {
  auto engine = mustLoad({policy("d.lua", "d", "'device.lock'", "return nil")});
  PolicyDecision d = engine->evaluate(request("device.lock"), {});
  CHECK(d.status.isOk());
  CHECK(d.requirements.empty());
  REQUIRE(d.outcomes.size() == 1);
  CHECK(d.outcomes[0].kind == PolicyOutcome::Kind::kUnprotected);
}

TEST_CASE("a requirement of zero approvals is an outcome but not a requirement") {
  auto engine =
      mustLoad({policy("d.lua", "d", "'device.lock'", "return { approvals = 0, group = 'g' }")});
  PolicyDecision d = engine->evaluate(request("device.lock"), {});
  CHECK(d.status.isOk());
  CHECK(d.requirements.empty());
  REQUIRE(d.outcomes.size() == 1);
  CHECK(d.outcomes[0].kind == PolicyOutcome::Kind::kRequirement);
  CHECK(d.outcomes[0].approvals == 0);
}

TEST_CASE("requirements of several policies must each be met, in bundle order") {
  auto engine = mustLoad(
      {policy("a.lua", "a", "'device.wipe'",
              "return { approvals = 1, group = 'device-approvers' }"),
       policy("b.lua", "b", "'device.*'", "return nil"),
       policy("c.lua", "c", "'device.*'", "return { approvals = 2, group = 'maa-admins' }")});
  PolicyDecision d = engine->evaluate(request("device.wipe"), {});
  REQUIRE(d.status.isOk());
  REQUIRE(d.outcomes.size() == 3);
  CHECK(d.outcomes[0].policy == "a");
  CHECK(d.outcomes[1].policy == "b");
  CHECK(d.outcomes[2].policy == "c");
  REQUIRE(d.requirements.size() == 2);
  CHECK(d.requirements[0].group == "device-approvers");
  CHECK(d.requirements[0].approvals == 1);
  CHECK(d.requirements[1].group == "maa-admins");
  CHECK(d.requirements[1].approvals == 2);
  CHECK(d.requirements[1].policy == "c");
}

TEST_CASE("a deny beats every requirement and names the policy and its reason") {
  auto engine = mustLoad(
      {policy("a.lua", "a", "'device.wipe'", "return { approvals = 1, group = 'g' }"),
       policy("b.lua", "office-hours", "'device.wipe'", "return { deny = 'outside office hours' }"),
       policy("c.lua", "c", "'device.wipe'", "return { deny = 'second' }")});
  PolicyDecision d = engine->evaluate(request("device.wipe"), {});
  CHECK(d.status.reason() == "policy_denied");
  CHECK_THAT(d.status.detail(), Contains("office-hours"));
  CHECK_THAT(d.status.detail(), Contains("outside office hours"));
  CHECK(d.requirements.empty());
  CHECK(d.outcomes.size() == 3);
}

TEST_CASE("an error in any matching policy beats a deny (fail closed)") {
  auto engine = mustLoad({policy("a.lua", "a", "'device.wipe'", "return { deny = 'no' }"),
                          policy("b.lua", "broken", "'device.wipe'", "return nil + 1")});
  PolicyDecision d = engine->evaluate(request("device.wipe"), {});
  CHECK(d.status.reason() == "policy_error");
  CHECK_THAT(d.status.detail(), Contains("broken (b.lua)"));
  CHECK_THAT(d.status.detail(), Contains("b.lua:3: attempt to perform arithmetic on a nil value"));
  CHECK(d.requirements.empty());
}

TEST_CASE("evaluate results of any other shape are a policy_error") {
  auto [ret, detail] = GENERATE(table<std::string, std::string>({
      {"1", "evaluate returned a number"},
      {"'x'", "evaluate returned a string"},
      {"true", "evaluate returned a boolean"},
      {"function() end", "evaluate returned a function"},
      {"{}", "needs both 'approvals' and 'group'"},
      {"{ approvals = 1 }", "needs both 'approvals' and 'group'"},
      {"{ group = 'g' }", "needs both 'approvals' and 'group'"},
      {"{ approvals = 1.5, group = 'g' }", "'approvals' must be an integer from 0 to 16"},
      {"{ approvals = 1.0, group = 'g' }", "'approvals' must be an integer from 0 to 16"},
      {"{ approvals = '1', group = 'g' }", "'approvals' must be an integer from 0 to 16"},
      {"{ approvals = 17, group = 'g' }", "'approvals' must be an integer from 0 to 16"},
      {"{ approvals = -1, group = 'g' }", "'approvals' must be an integer from 0 to 16"},
      {"{ approvals = 1, group = '' }", "'group' must be a non-empty string"},
      {"{ approvals = 1, group = 5 }", "'group' must be a non-empty string"},
      {"{ approvals = 1, group = 'g', note = 'x' }", "unexpected key 'note'"},
      {"{ deny = 5 }", "'deny' must be a string"},
      {"{ deny = 'x', approvals = 1, group = 'g' }", "mixes 'deny' with"},
      {"{ 1, 'g' }", "has a key that is not a string"},
  }));
  auto engine = mustLoad({policy("p.lua", "p", "'device.wipe'", "return " + ret)});
  PolicyDecision d = engine->evaluate(request("device.wipe"), {});
  INFO(ret);
  CHECK(d.status.reason() == "policy_error");
  CHECK_THAT(d.status.detail(), Contains(detail));
}

TEST_CASE("req and device carry exactly the fields the spec names") {
  auto engine = mustLoad({policy("p.lua", "p", "'device.wipe'", R"(
    local f = {
      req.id, req.action, req.params.mode, tostring(req.params.n), math.type(req.params.n),
      tostring(req.params.list[2]), tostring(req.params.obj.k), tostring(req.params.missing),
      req.requester.id, tostring(req.requester.groups['g1']), tostring(req.requester.groups['zz']),
      req.justification, tostring(req.targets.count), tostring(req.created),
      tostring(req.expires), tostring(req.now),
      device.id, device.ownership, device.platform, device.os_version,
      tostring(device.groups['corp']), device.tags['site'],
    }
    return { deny = table.concat(f, '|') })")});
  PolicyRequest r = request(
      "device.wipe", R"({"mode":"full","n":3,"list":[1,2.5],"obj":{"k":true},"missing":null})");
  r.id = "r-9";
  r.requesterId = "bob";
  r.requesterGroups = {"g1", "g2"};
  r.justification = "lost laptop";
  r.targetCount = 12;
  r.created = 100;
  r.expires = 200;
  r.now = 150;
  DeviceFacts dev;
  dev.id = "dev-1";
  dev.ownership = "personal";
  dev.platform = "linux";
  dev.osVersion = "12";
  dev.groups = {"corp"};
  dev.tags = {{"site", "berlin"}};
  PolicyDecision d = engine->evaluate(r, dev);
  CHECK(d.status.reason() == "policy_denied");
  CHECK_THAT(
      d.status.detail(),
      Contains("denied: r-9|device.wipe|full|3|integer|2.5|true|nil|bob|true|nil|lost laptop|"
               "12|100|200|150|dev-1|personal|linux|12|true|berlin"));
}

TEST_CASE("missing device facts are unknown, empty strings or empty tables") {
  auto engine = mustLoad({policy("p.lua", "p", "'device.wipe'", R"(
    return { deny = table.concat({ device.ownership, '[' .. device.id .. ']',
      '[' .. device.platform .. ']', '[' .. device.os_version .. ']',
      tostring(next(device.groups)), tostring(next(device.tags)),
      tostring(next(req.requester.groups)), tostring(next(req.params)) }, ' ') })")});
  PolicyDecision d = engine->evaluate(request("device.wipe"), DeviceFacts{});
  CHECK_THAT(d.status.detail(), Contains("denied: unknown [] [] [] nil nil nil nil"));
}

TEST_CASE("params that are not a JSON object are a policy_error") {
  auto engine = mustLoad({policy("p.lua", "p", "'device.wipe'", "return nil")});
  CHECK(engine->evaluate(request("device.wipe", "[1]"), {}).status.reason() == "policy_error");
  CHECK(engine->evaluate(request("device.wipe", "{bad"), {}).status.reason() == "policy_error");
}

TEST_CASE("a global set in one evaluation is nil in the next") {
  auto engine =
      mustLoad({policy("p.lua", "p", "'device.wipe'",
                       "if leaked ~= nil or counter ~= nil then return { deny = 'leaked' } end\n"
                       "leaked = true\n"
                       "return nil")});
  engine = mustLoad({{"p.lua",
                      "counter = (counter or 0) + 1\n"
                      "return { name = 'p', actions = { 'device.wipe' },\n"
                      "  evaluate = function(req, device)\n"
                      "    if leaked ~= nil or counter ~= 1 then return { deny = 'leaked' } end\n"
                      "    leaked = true\n"
                      "    return nil\n"
                      "  end }"}});
  for (int i = 0; i < 3; ++i) CHECK(engine->evaluate(request("device.wipe"), {}).status.isOk());
}

TEST_CASE("a policy that changes req or device does not change what the next policy sees") {
  auto engine =
      mustLoad({policy("a.lua", "a", "'device.wipe'",
                       "req.action = 'x'; req.requester.groups['break-glass'] = true\n"
                       "device.ownership = 'corporate'; req.params.mode = 'none'\n"
                       "return nil"),
                policy("b.lua", "b", "'device.wipe'",
                       "if req.action ~= 'device.wipe' or req.requester.groups['break-glass']\n"
                       "  or device.ownership ~= 'personal' or req.params.mode ~= 'full' then\n"
                       "  return { deny = 'saw a change' } end\n"
                       "return { approvals = 1, group = 'g' }")});
  DeviceFacts dev;
  dev.ownership = "personal";
  PolicyDecision d = engine->evaluate(request("device.wipe", R"({"mode":"full"})"), dev);
  INFO((d.status.isOk() ? std::string() : d.status.detail()));
  CHECK(d.status.isOk());
  CHECK(d.requirements.size() == 1);
}

TEST_CASE("policies() lists every policy with its file, name and actions") {
  auto engine = mustLoad({policy("a.lua", "alpha", "'device.wipe', 'script.*'", "return nil")});
  REQUIRE(engine->policies().size() == 1);
  CHECK(engine->policies()[0].file == "a.lua");
  CHECK(engine->policies()[0].name == "alpha");
  CHECK(engine->policies()[0].actions == std::vector<std::string>{"device.wipe", "script.*"});
}

TEST_CASE("a syntax error fails the load naming the file and line") {
  auto e = loadError("return {\n  name = 'x',\n  actions = { 'a' }\n  evaluate = 1 }");
  CHECK(e.reason == "policy_error");
  CHECK_THAT(e.detail, Contains("bad.lua does not compile"));
  CHECK_THAT(e.detail, Contains("bad.lua:4:"));
}

TEST_CASE("a policy without name, actions or evaluate fails the load") {
  auto [source, detail] = GENERATE(table<std::string, std::string>({
      {"return 5", "returns a number, not a table"},
      {"return nil", "returns a nil, not a table"},
      {"return { actions = { 'a' }, evaluate = function() end }", "no non-empty string 'name'"},
      {"return { name = '', actions = { 'a' }, evaluate = function() end }",
       "no non-empty string 'name'"},
      {"return { name = 'n', evaluate = function() end }", "no table 'actions'"},
      {"return { name = 'n', actions = {}, evaluate = function() end }",
       "non-empty array of strings"},
      {"return { name = 'n', actions = { x = 'a' }, evaluate = function() end }",
       "non-empty array of strings"},
      {"return { name = 'n', actions = { 1 }, evaluate = function() end }", "actions[1] must be"},
      {"return { name = 'n', actions = { '*' }, evaluate = function() end }", "actions[1] must be"},
      {"return { name = 'n', actions = { 'a' } }", "no function 'evaluate'"},
      {"error('boom')", "bad.lua:1: boom"},
  }));
  INFO(source);
  auto e = loadError(source);
  CHECK(e.reason == "policy_error");
  CHECK_THAT(e.detail, Contains("bad.lua"));
  CHECK_THAT(e.detail, Contains(detail));
}

TEST_CASE("a policy that loops forever at top level fails the load") {
  auto e = loadError("while true do end");
  CHECK(e.reason == "policy_error");
  CHECK_THAT(e.detail,
             Contains("bad.lua does not load: policy instruction limit (1000000) exceeded"));
}

TEST_CASE("a policy that hangs in C at top level fails the load when the worker is killed") {
  keyturn::PolicyLimits limits;
  limits.wallTime = std::chrono::milliseconds(20);
  auto e = PolicyEngine::load(
      {{"hang.lua", "string.find(string.rep('a', 40), string.rep('a*', 40) .. 'b')"}}, limits);
  REQUIRE_FALSE(e.isOk());
  CHECK(e.reason() == "policy_error");
  CHECK_THAT(e.detail(), Contains("hang.lua does not load: policy time limit (20 ms) exceeded"));
}

TEST_CASE("the first source that does not load is named even after good ones") {
  auto e =
      PolicyEngine::load({policy("good.lua", "g", "'a'", "return nil"), {"bad.lua", "return 1"}});
  REQUIRE_FALSE(e.isOk());
  CHECK_THAT(e.detail(), Contains("bad.lua"));
}

TEST_CASE("an empty bundle loads and protects nothing") {
  auto engine = mustLoad({});
  CHECK(engine->evaluate(request("device.wipe"), {}).status.isOk());
}

TEST_CASE("concurrent evaluations are serialised and all answered") {
  auto engine = mustLoad({policy("p.lua", "p", "'device.*'",
                                 "return { approvals = req.targets.count, group = 'g' }")});
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        PolicyRequest r = request("device.lock");
        r.targetCount = static_cast<std::uint64_t>(1 + (t + i) % 16);
        PolicyDecision d = engine->evaluate(r, {});
        if (d.status.isOk() && d.requirements.size() == 1 &&
            d.requirements[0].approvals == static_cast<int>(r.targetCount))
          ++good;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(good == 200);
}

TEST_CASE("the read-only library tables can still be read, iterated and used as methods") {
  auto engine = mustLoad({policy("p.lua", "p", "'device.wipe'", R"(
    local n = 0
    for k, v in pairs(string) do n = n + 1 end
    local parts = { tostring(n > 10), tostring(string.dump), ('ab'):upper(), ('x'):rep(3, '-'),
                    tostring(math.maxinteger > 0), tostring(math.random), utf8.char(72, 105),
                    table.concat(table.move({ 1, 2 }, 1, 2, 1, {}), ',') }
    return { deny = table.concat(parts, ' ') })")});
  PolicyDecision d = engine->evaluate(request("device.wipe"), {});
  CHECK_THAT(d.status.detail(), Contains("denied: true nil AB x-x-x true nil Hi 1,2"));
}
