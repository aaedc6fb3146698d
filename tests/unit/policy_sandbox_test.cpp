// One test per sandbox escape route or resource limit of PROTOCOL.md section 6. Each
// runs a policy that tries the escape and asserts the exact refusal: the decision is
// policy_error and the detail says what stopped it.
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>

#include "child_processes.h"
#include "keyturn/policy_engine.h"

using Catch::Matchers::Contains;
using keyturn::DeviceFacts;
using keyturn::PolicyDecision;
using keyturn::PolicyEngine;
using keyturn::PolicyRequest;
using keyturn::PolicySource;

namespace {

// A policy for device.wipe whose evaluate body is `body`.
PolicySource policyWith(const std::string& body, const std::string& file = "escape.lua") {
  return {file,
          "return { name = 'escape', actions = { 'device.wipe' },\n"
          "  evaluate = function(req, device)\n" +
              body + "\n  end }\n"};
}

std::unique_ptr<PolicyEngine> engineFor(const std::string& body) {
  auto e = PolicyEngine::load({policyWith(body)});
  INFO((e.isOk() ? std::string() : e.detail()));
  REQUIRE(e.isOk());
  return std::move(e).value();
}

PolicyRequest wipe(const std::string& params = "{}") {
  PolicyRequest r;
  r.id = "req-1";
  r.action = "device.wipe";
  r.paramsJson = params;
  r.requesterId = "alice";
  return r;
}

PolicyDecision run(const std::string& body) { return engineFor(body)->evaluate(wipe(), {}); }

// Runs `body` and checks it is refused as policy_error with `detail` in the detail.
void expectRefused(const std::string& body, const std::string& detail) {
  PolicyDecision d = run(body);
  REQUIRE_FALSE(d.status.isOk());
  CHECK(d.status.reason() == "policy_error");
  CHECK_THAT(d.status.detail(), Contains(detail));
}

}  // namespace

TEST_CASE("a policy chunk that is Lua bytecode is refused as malformed before it runs") {
  auto e = PolicyEngine::load({{"evil.lua", std::string("\x1bLuaT\x00\x19\x93\r\n", 10)}});
  REQUIRE_FALSE(e.isOk());
  CHECK(e.reason() == "malformed");
  CHECK_THAT(e.detail(), Contains("evil.lua"));
  CHECK_THAT(e.detail(), Contains("bytecode"));
}

TEST_CASE("load is not available, so bytecode cannot be loaded at run time") {
  expectRefused("return load('\\27Lua')", "attempt to call a nil value (global 'load')");
}

TEST_CASE("loadfile is not available") {
  expectRefused("return loadfile('/etc/passwd')",
                "attempt to call a nil value (global 'loadfile')");
}

TEST_CASE("dofile is not available") {
  expectRefused("return dofile('/etc/passwd')", "attempt to call a nil value (global 'dofile')");
}

TEST_CASE("string.dump is not available") {
  expectRefused("return string.dump(function() end)", "attempt to call a nil value (field 'dump')");
}

TEST_CASE("string methods see the restricted library, so (\"\").dump does not exist") {
  expectRefused("return (''):dump()", "attempt to call a nil value (method 'dump')");
}

TEST_CASE("require is not available") {
  expectRefused("return require('os')", "attempt to call a nil value (global 'require')");
}

TEST_CASE("package is not available") {
  expectRefused("return package.loaded", "attempt to index a nil value (global 'package')");
}

TEST_CASE("io is not available") {
  expectRefused("return io.open('/etc/passwd')", "attempt to index a nil value (global 'io')");
}

TEST_CASE("os is not available") {
  expectRefused("return os.execute('id')", "attempt to index a nil value (global 'os')");
}

TEST_CASE("debug is not available") {
  expectRefused("return debug.getregistry()", "attempt to index a nil value (global 'debug')");
}

TEST_CASE("getmetatable is not available, so the string metatable cannot be reached") {
  expectRefused("return getmetatable('').__index",
                "attempt to call a nil value (global 'getmetatable')");
}

TEST_CASE("the string metatable cannot be tampered with through string indexing") {
  // ("").__index reads the restricted string table, which has no such field; writing
  // through it hits the read-only proxy.
  expectRefused(
      "if ('').__index ~= nil then return { deny = 'reached' } end\n"
      "string.__index = { dump = function() end }",
      "attempt to modify a read-only library table");
}

TEST_CASE("setmetatable is not available") {
  expectRefused("return setmetatable({}, {})",
                "attempt to call a nil value (global 'setmetatable')");
}

TEST_CASE("rawset, rawget and rawequal are not available") {
  expectRefused("rawset(string, 'dump', 1)", "attempt to call a nil value (global 'rawset')");
  expectRefused("return rawget(string, 'x')", "attempt to call a nil value (global 'rawget')");
  expectRefused("return rawequal(1, 1)", "attempt to call a nil value (global 'rawequal')");
}

TEST_CASE("collectgarbage is not available") {
  expectRefused("collectgarbage()", "attempt to call a nil value (global 'collectgarbage')");
}

TEST_CASE("coroutine is not available") {
  expectRefused("return coroutine.wrap(function() end)",
                "attempt to index a nil value (global 'coroutine')");
}

TEST_CASE("print is not available") {
  expectRefused("print('hello')", "attempt to call a nil value (global 'print')");
}

TEST_CASE("_G is not available, so the real globals cannot be reached") {
  expectRefused("return _G.os", "attempt to index a nil value (global '_G')");
}

TEST_CASE("math.random and math.randomseed are not available") {
  expectRefused("return { approvals = math.random(3), group = 'g' }",
                "attempt to call a nil value (field 'random')");
  expectRefused("math.randomseed(1)", "attempt to call a nil value (field 'randomseed')");
}

TEST_CASE("only the documented globals exist in a policy's environment") {
  PolicyDecision d =
      run("local names = {}\n"
          "for k in pairs(_ENV) do names[#names + 1] = k end\n"
          "table.sort(names)\n"
          "return { deny = table.concat(names, ' ') }");
  CHECK(d.status.reason() == "policy_denied");
  CHECK_THAT(d.status.detail(),
             Contains("denied: assert error ipairs math next pairs pcall select string table "
                      "tonumber tostring type utf8"));
}

TEST_CASE(
    "library tables are read-only and a change attempt is not visible to the next evaluation") {
  auto engine = engineFor(
      "if req.params.target == 'string' then string.upper = function() return 'x' end end\n"
      "if req.params.target == 'table' then table.insert = nil end\n"
      "if req.params.target == 'math' then math.pi = 3 end\n"
      "if req.params.target == 'utf8' then utf8.char = nil end\n"
      "local ok = string.upper('a') == 'A' and table.insert ~= nil and math.pi > 3.14\n"
      "  and utf8.char ~= nil\n"
      "return { approvals = ok and 1 or 9, group = 'g' }");
  for (const char* target : {"string", "table", "math", "utf8"}) {
    PolicyDecision bad = engine->evaluate(wipe(std::string("{\"target\":\"") + target + "\"}"), {});
    CHECK(bad.status.reason() == "policy_error");
    CHECK_THAT(bad.status.detail(), Contains("attempt to modify a read-only library table"));
    PolicyDecision next = engine->evaluate(wipe(), {});
    REQUIRE(next.status.isOk());
    REQUIRE(next.requirements.size() == 1);
    CHECK(next.requirements[0].approvals == 1);
  }
}

TEST_CASE("an infinite loop is stopped by the instruction limit") {
  expectRefused("while true do end", "policy instruction limit (1000000) exceeded");
}

TEST_CASE("an infinite loop inside pcall is still a policy_error") {
  expectRefused(
      "local ok = pcall(function() while true do end end)\n"
      "return nil",
      "policy instruction limit (1000000) exceeded");
  expectRefused("while true do pcall(function() while true do end end) end",
                "policy instruction limit (1000000) exceeded");
}

TEST_CASE("a limit hit cannot be hidden by an error object or a nested pcall") {
  expectRefused(
      "local ok, e = pcall(pcall, function() while true do end end)\n"
      "if not ok then error({}) end\n"
      "return nil",
      "policy instruction limit (1000000) exceeded");
}

TEST_CASE("string.rep of an empty string a huge number of times returns at once") {
  PolicyDecision d =
      run("local s = string.rep('', 1 << 62)\n"
          "return { approvals = #s + 1, group = 'g' }");
  REQUIRE(d.status.isOk());
  REQUIRE(d.requirements.size() == 1);
  CHECK(d.requirements[0].approvals == 1);
}

TEST_CASE("a string.rep bomb is stopped by the memory limit, also inside pcall") {
  expectRefused("return string.rep('x', 1 << 40)", "policy memory limit (16777216 bytes) exceeded");
  expectRefused("return ('x'):rep(1 << 40)", "policy memory limit (16777216 bytes) exceeded");
  expectRefused("return string.rep('', 1 << 40, 'x')",
                "policy memory limit (16777216 bytes) exceeded");
  expectRefused("pcall(string.rep, 'x', 1 << 40) return nil",
                "policy memory limit (16777216 bytes) exceeded");
}

TEST_CASE("a memory bomb by table growth is stopped by the memory limit") {
  expectRefused(
      "local t = {}\n"
      "for i = 1, 64 do t[i] = table.pack(table.unpack({}, 1, 200000)) end\n"
      "return nil",
      "policy memory limit (16777216 bytes) exceeded");
}

TEST_CASE("a memory bomb caught by pcall is still a policy_error") {
  expectRefused(
      "local ok = pcall(function()\n"
      "  local t = {} for i = 1, 64 do t[i] = table.pack(table.unpack({}, 1, 200000)) end\n"
      "end)\n"
      "return nil",
      "policy memory limit (16777216 bytes) exceeded");
}

TEST_CASE("deep recursion is a policy_error") {
  PolicyDecision d = run("local function f(n) return f(n + 1) + 1 end\nreturn f(1)");
  REQUIRE_FALSE(d.status.isOk());
  CHECK(d.status.reason() == "policy_error");
  // Which limit stops it first depends on the build: the Lua stack or the memory cap
  // normally, the wall-time limit under AddressSanitizer, which slows every call.
  CHECK_THAT(d.status.detail(),
             Contains("stack overflow") || Contains("memory limit") || Contains("time limit"));
}

TEST_CASE("table.move over a huge range is stopped by the instruction limit") {
  expectRefused("table.move({}, 1, 1 << 40, 2)", "policy instruction limit (1000000) exceeded");
}

TEST_CASE("pattern backtracking in C is stopped by the wall-time kill and the engine recovers") {
  auto engine = engineFor(
      "if req.params.evil then\n"
      "  string.find(string.rep('a', 40), string.rep('a*', 40) .. 'b')\n"
      "end\n"
      "return { approvals = 1, group = 'device-approvers' }");
  PolicyDecision d = engine->evaluate(wipe("{\"evil\":true}"), {});
  REQUIRE_FALSE(d.status.isOk());
  CHECK(d.status.reason() == "policy_error");
  CHECK_THAT(d.status.detail(), Contains("policy time limit (100 ms) exceeded"));
  CHECK_THAT(d.status.detail(), Contains("escape.lua"));

  PolicyDecision next = engine->evaluate(wipe(), {});
  REQUIRE(next.status.isOk());
  REQUIRE(next.requirements.size() == 1);
  CHECK(next.requirements[0].group == "device-approvers");
  CHECK(next.requirements[0].approvals == 1);
}

TEST_CASE("a policy that keeps the CPU busy in Lua is stopped by the wall-time check too") {
  keyturn::PolicyLimits limits;
  limits.instructions = 1ull << 60;  // only the clock can stop it
  limits.wallTime = std::chrono::milliseconds(50);
  auto e = PolicyEngine::load({policyWith("while true do end")}, limits);
  REQUIRE(e.isOk());
  PolicyDecision d = e.value()->evaluate(wipe(), {});
  CHECK(d.status.reason() == "policy_error");
  CHECK_THAT(d.status.detail(), Contains("policy time limit (50 ms) exceeded"));
}

static std::set<int> childPids() { return keyturn::test::childrenOf(::getpid()); }

TEST_CASE("destroying the engine kills and reaps its worker") {
  std::set<int> before = childPids();
  {
    auto engine = engineFor("return nil");
    CHECK(childPids().size() == before.size() + 1);
  }
  CHECK(childPids() == before);
}

TEST_CASE("a released worker is reaped, and the next evaluation forks a fresh one with the same policies") {
  std::set<int> before = childPids();
  auto engine = engineFor("return { approvals = 2, group = 'g' }");
  CHECK(engine->workerRunning());
  engine->releaseWorker();
  CHECK_FALSE(engine->workerRunning());
  CHECK(childPids() == before);  // killed and reaped: no zombie left behind
  engine->releaseWorker();       // releasing twice is harmless

  PolicyDecision d = engine->evaluate(wipe(), {});
  REQUIRE(d.status.isOk());
  REQUIRE(d.requirements.size() == 1);
  CHECK(d.requirements[0].approvals == 2);
  CHECK(engine->workerRunning());
  CHECK(childPids().size() == before.size() + 1);
}

TEST_CASE("a policy cannot make its error message or deny reason huge") {
  PolicyDecision e = run("error(string.rep('x', 1 << 20))");
  CHECK(e.status.reason() == "policy_error");
  CHECK(e.status.detail().size() < 1024);
  PolicyDecision d = run("return { deny = string.rep('y', 1 << 20) }");
  CHECK(d.status.reason() == "policy_denied");
  CHECK(d.status.detail().size() < 1024);
  CHECK_THAT(d.status.detail(), Contains("yyy..."));
}
