#include "keyturn/policy_test_runner.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <lua.hpp>

#include "keyturn/crypto_util.h"
#include "keyturn/policy_kit.h"

namespace keyturn::policykit {

extern const char* const kPolicyTestPrelude;

namespace fs = std::filesystem;

namespace {

bool isTestFile(const fs::path& p) {
  std::string n = p.filename().string();
  return n.size() > 9 && n.compare(n.size() - 9, 9, "_test.lua") == 0;
}

PolicyTestFile pairOf(const fs::path& test) {
  std::string t = test.string();
  return {t, t.substr(0, t.size() - 9) + ".lua"};
}

// What the test file's Lua state runs under: its memory cap, the deadline of the test
// case running now, and the engine its _keyturn_evaluate calls.
struct TestState {
  std::size_t used = 0;
  std::size_t cap = 0;
  std::chrono::steady_clock::time_point deadline;
  std::chrono::milliseconds testTime{0};
  const PolicyEngine* engine = nullptr;
};

TestState& stateOf(lua_State* L) { return **static_cast<TestState**>(lua_getextraspace(L)); }

void* allocate(void* ud, void* ptr, std::size_t osize, std::size_t nsize) {
  auto* s = static_cast<TestState*>(ud);
  std::size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    std::free(ptr);
    s->used -= old;
    return nullptr;
  }
  if (nsize > old && s->used - old + nsize > s->cap) return nullptr;
  void* p = std::realloc(ptr, nsize);
  if (p) s->used = s->used - old + nsize;
  return p;
}

// Stops a test file that loops: checked every 10,000 instructions.
void hook(lua_State* L, lua_Debug*) {
  TestState& s = stateOf(L);
  if (std::chrono::steady_clock::now() > s.deadline)
    luaL_error(L, "test time limit (%d ms) exceeded", static_cast<int>(s.testTime.count()));
}

std::string field(lua_State* L, int t, const char* key) {
  lua_getfield(L, t, key);
  std::string v = lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER ? lua_tostring(L, -1) : "";
  lua_pop(L, 1);
  return v;
}

std::int64_t integer(lua_State* L, int t, const char* key) {
  lua_getfield(L, t, key);
  auto v = static_cast<std::int64_t>(lua_tointeger(L, -1));
  lua_pop(L, 1);
  return v;
}

std::vector<std::string> list(lua_State* L, int t, const char* key) {
  std::vector<std::string> out;
  int top = lua_gettop(L);
  lua_getfield(L, t, key);
  for (lua_Integer i = 1; lua_istable(L, -1) && lua_rawgeti(L, -1, i) == LUA_TSTRING; ++i) {
    out.emplace_back(lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  lua_settop(L, top);
  return out;
}

// _keyturn_evaluate(flatRequest, device) -> { status, detail, outcomes = {...} }
int evaluate(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  PolicyRequest req;
  req.id = field(L, 1, "id");
  req.action = field(L, 1, "action");
  req.paramsJson = field(L, 1, "params_json");
  req.requesterId = field(L, 1, "requester");
  req.requesterGroups = list(L, 1, "groups");
  req.justification = field(L, 1, "justification");
  req.targetCount = static_cast<std::uint64_t>(integer(L, 1, "targets"));
  req.created = integer(L, 1, "created");
  req.expires = integer(L, 1, "expires");
  req.now = integer(L, 1, "now");
  DeviceFacts dev;
  dev.id = field(L, 2, "id");
  dev.ownership = field(L, 2, "ownership");
  dev.platform = field(L, 2, "platform");
  dev.osVersion = field(L, 2, "os_version");
  dev.groups = list(L, 2, "groups");
  lua_getfield(L, 2, "tags");
  if (lua_istable(L, -1)) {
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
      if (lua_type(L, -2) == LUA_TSTRING && lua_isstring(L, -1)) dev.tags[lua_tostring(L, -2)] = lua_tostring(L, -1);
      lua_pop(L, 1);
    }
  }
  lua_settop(L, 2);

  PolicyDecision d = stateOf(L).engine->evaluate(req, dev);
  lua_createtable(L, 0, 3);
  lua_pushstring(L, d.status.isOk() ? "ok" : d.status.reason().c_str());
  lua_setfield(L, -2, "status");
  lua_pushstring(L, d.status.isOk() ? "" : d.status.detail().c_str());
  lua_setfield(L, -2, "detail");
  lua_createtable(L, static_cast<int>(d.outcomes.size()), 0);
  for (std::size_t i = 0; i < d.outcomes.size(); ++i) {
    const auto& o = d.outcomes[i];
    lua_createtable(L, 0, 4);
    lua_pushstring(L, outcomeKind(o.kind));
    lua_setfield(L, -2, "kind");
    lua_pushinteger(L, o.approvals);
    lua_setfield(L, -2, "approvals");
    lua_pushstring(L, o.group.c_str());
    lua_setfield(L, -2, "group");
    lua_pushstring(L, o.message.c_str());
    lua_setfield(L, -2, "message");
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
  lua_setfield(L, -2, "outcomes");
  return 1;
}

struct LuaCloser {
  void operator()(lua_State* L) const { lua_close(L); }
};
using LuaPtr = std::unique_ptr<lua_State, LuaCloser>;

// A Lua state with the base, string, table, math and utf8 libraries, minus everything
// that loads code or reaches outside the process.
LuaPtr confinedState(TestState& s) {
  LuaPtr L(lua_newstate(&allocate, &s));
  if (!L) return L;
  *static_cast<TestState**>(lua_getextraspace(L.get())) = &s;
  const luaL_Reg libs[] = {{LUA_GNAME, luaopen_base},
                           {LUA_STRLIBNAME, luaopen_string},
                           {LUA_TABLIBNAME, luaopen_table},
                           {LUA_MATHLIBNAME, luaopen_math},
                           {LUA_UTF8LIBNAME, luaopen_utf8}};
  for (const auto& lib : libs) {
    luaL_requiref(L.get(), lib.name, lib.func, 1);
    lua_pop(L.get(), 1);
  }
  for (const char* name : {"dofile", "loadfile", "load", "print", "collectgarbage"}) {
    lua_pushnil(L.get());
    lua_setglobal(L.get(), name);
  }
  lua_register(L.get(), "_keyturn_evaluate", &evaluate);
  lua_sethook(L.get(), &hook, LUA_MASKCOUNT, 10'000);
  return L;
}

std::string errorText(lua_State* L) {
  const char* msg = lua_tostring(L, -1);
  return msg ? msg : std::string("(error object is a ") + luaL_typename(L, -1) + ")";
}

}  // namespace

int TestFileResult::passed() const {
  return static_cast<int>(std::count_if(cases.begin(), cases.end(), [](const TestCaseResult& c) { return c.passed; }));
}

int TestFileResult::failed() const { return static_cast<int>(cases.size()) - passed() + (error.empty() ? 0 : 1); }

Result<std::vector<PolicyTestFile>> discoverPolicyTests(const std::string& path) {
  using R = Result<std::vector<PolicyTestFile>>;
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    if (!isTestFile(path)) return R::fail("usage", path + " is not a policy test file (X_test.lua)");
    return std::vector<PolicyTestFile>{pairOf(path)};
  }
  if (!fs::is_directory(path, ec)) return R::fail("io", path + " is neither a folder nor a test file");
  std::vector<fs::path> found;
  for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec) && isTestFile(it->path())) found.push_back(it->path());
  if (ec) return R::fail("io", "cannot list " + path + ": " + ec.message());
  if (found.empty()) return R::fail("io", path + " holds no policy tests (X_test.lua beside X.lua)");
  std::sort(found.begin(), found.end());
  std::vector<PolicyTestFile> out;
  for (const auto& f : found) out.push_back(pairOf(f));
  return out;
}

TestFileResult runPolicyTestFile(const PolicyTestFile& file, const TestRunOptions& options,
                                 const std::function<void(const TestCaseResult&)>& onCase) {
  TestFileResult result{file, "", {}};
  std::string policyName = fs::path(file.policyPath).filename().string();
  auto policy = readFile(file.policyPath, kMaxPolicyFileBytes);
  if (!policy) {
    result.error = "cannot read the policy " + file.policyPath + ": " + std::strerror(errno);
    return result;
  }
  auto engine = PolicyEngine::load({{policyName, *policy}}, options.limits);
  if (!engine) {
    result.error = "the policy does not load: " + engine.reason() + ": " + engine.detail();
    return result;
  }
  auto tests = readFile(file.testPath, kMaxPolicyFileBytes);
  if (!tests) {
    result.error = "cannot read " + file.testPath + ": " + std::strerror(errno);
    return result;
  }

  TestState s;
  s.cap = options.testMemoryBytes;
  s.testTime = options.testTime;
  s.engine = engine.value().get();
  s.deadline = std::chrono::steady_clock::now() + options.testTime;
  LuaPtr L = confinedState(s);
  if (!L) {
    result.error = "cannot create a Lua state for the tests";
    return result;
  }
  lua_State* l = L.get();
  std::string chunk = "=" + fs::path(file.testPath).filename().string();
  std::string prelude = kPolicyTestPrelude;
  if (luaL_loadbufferx(l, prelude.data(), prelude.size(), "=prelude", "t") != LUA_OK ||
      lua_pcall(l, 0, 0, 0) != LUA_OK ||
      luaL_loadbufferx(l, tests->data(), tests->size(), chunk.c_str(), "t") != LUA_OK ||
      lua_pcall(l, 0, 0, 0) != LUA_OK) {
    result.error = "the test file does not load: " + errorText(l);
    return result;
  }
  lua_getglobal(l, "_keyturn_tests");
  int list = lua_gettop(l);
  lua_Integer n = lua_istable(l, list) ? static_cast<lua_Integer>(lua_rawlen(l, list)) : 0;
  for (lua_Integer i = 1; i <= n; ++i) {
    lua_rawgeti(l, list, i);
    int entry = lua_gettop(l);
    TestCaseResult c;
    lua_getfield(l, entry, "name");
    c.name = lua_isstring(l, -1) ? lua_tostring(l, -1) : "?";
    lua_getfield(l, entry, "fn");
    s.deadline = std::chrono::steady_clock::now() + options.testTime;
    if (lua_pcall(l, 0, 0, 0) == LUA_OK) {
      c.passed = true;
    } else {
      c.message = errorText(l);
    }
    lua_settop(l, list);
    lua_gc(l, LUA_GCCOLLECT);
    if (onCase) onCase(c);
    result.cases.push_back(std::move(c));
  }
  if (n == 0) result.error = "the test file defines no test(name, fn)";
  return result;
}

}  // namespace keyturn::policykit
