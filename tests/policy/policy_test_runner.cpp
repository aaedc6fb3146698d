// keyturn_policy_tests <policy.lua> <policy_test.lua>
//
// Loads one policy through the real PolicyEngine (same sandbox and limits as the agent)
// and runs its Lua unit tests: the test file calls test(name, fn) and, inside fn,
// expect_approvals / expect_deny / expect_unprotected with request{...} and device{...}
// (see policy_test_prelude.lua). Prints PASS/FAIL per test and a last line
// "N passed, N failed"; exits non-zero when anything failed or nothing ran.
#include <cstdio>
#include <fstream>
#include <lua.hpp>
#include <sstream>
#include <string>

#include "keyturn/policy_engine.h"

namespace {

keyturn::PolicyEngine* gEngine = nullptr;

std::string readFile(const std::string& path, bool& ok) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  ok = static_cast<bool>(in);
  return s.str();
}

std::string baseName(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string field(lua_State* L, int t, const char* key) {
  lua_getfield(L, t, key);
  std::string v = lua_isstring(L, -1) ? lua_tostring(L, -1) : "";
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

const char* kindName(keyturn::PolicyOutcome::Kind k) {
  switch (k) {
    case keyturn::PolicyOutcome::Kind::kUnprotected:
      return "unprotected";
    case keyturn::PolicyOutcome::Kind::kRequirement:
      return "requirement";
    case keyturn::PolicyOutcome::Kind::kDeny:
      return "deny";
    case keyturn::PolicyOutcome::Kind::kError:
      return "error";
  }
  return "error";
}

// _keyturn_evaluate(flatRequest, device) -> { status, detail, outcomes = {...} }
int evaluate(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  keyturn::PolicyRequest req;
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
  keyturn::DeviceFacts dev;
  dev.id = field(L, 2, "id");
  dev.ownership = field(L, 2, "ownership");
  dev.platform = field(L, 2, "platform");
  dev.osVersion = field(L, 2, "os_version");
  dev.groups = list(L, 2, "groups");
  lua_getfield(L, 2, "tags");
  if (lua_istable(L, -1)) {
    lua_pushnil(L);
    while (lua_next(L, -2) != 0) {
      if (lua_type(L, -2) == LUA_TSTRING && lua_isstring(L, -1))
        dev.tags[lua_tostring(L, -2)] = lua_tostring(L, -1);
      lua_pop(L, 1);
    }
  }
  lua_settop(L, 2);

  keyturn::PolicyDecision d = gEngine->evaluate(req, dev);
  lua_createtable(L, 0, 3);
  lua_pushstring(L, d.status.isOk() ? "ok" : d.status.reason().c_str());
  lua_setfield(L, -2, "status");
  lua_pushstring(L, d.status.isOk() ? "" : d.status.detail().c_str());
  lua_setfield(L, -2, "detail");
  lua_createtable(L, static_cast<int>(d.outcomes.size()), 0);
  for (std::size_t i = 0; i < d.outcomes.size(); ++i) {
    const auto& o = d.outcomes[i];
    lua_createtable(L, 0, 4);
    lua_pushstring(L, kindName(o.kind));
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

int finish(int passed, int failed) {
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: keyturn_policy_tests <policy.lua> <policy_test.lua>\n");
    return 2;
  }
  bool ok = false;
  std::string policy = readFile(argv[1], ok);
  if (!ok) return std::printf("FAIL cannot read %s\n", argv[1]), finish(0, 1);
  auto engine = keyturn::PolicyEngine::load({{baseName(argv[1]), policy}});
  if (!engine) {
    std::printf("FAIL load %s: %s\n", engine.reason().c_str(), engine.detail().c_str());
    return finish(0, 1);
  }
  gEngine = engine.value().get();

  std::string tests = readFile(argv[2], ok);
  if (!ok) return std::printf("FAIL cannot read %s\n", argv[2]), finish(0, 1);
  lua_State* L = luaL_newstate();
  luaL_openlibs(L);
  lua_register(L, "_keyturn_evaluate", &evaluate);
  std::string prelude = readFile(KEYTURN_POLICY_PRELUDE, ok);
  std::string testChunk = "=" + baseName(argv[2]);
  if (!ok || luaL_loadbufferx(L, prelude.data(), prelude.size(), "=prelude", "t") != LUA_OK ||
      lua_pcall(L, 0, 0, 0) != LUA_OK ||
      luaL_loadbufferx(L, tests.data(), tests.size(), testChunk.c_str(), "t") != LUA_OK ||
      lua_pcall(L, 0, 0, 0) != LUA_OK) {
    std::printf("FAIL %s\n", ok ? lua_tostring(L, -1) : "cannot read the test prelude");
    lua_close(L);
    return finish(0, 1);
  }
  lua_getglobal(L, "_keyturn_run_tests");
  int passed = 0, failed = 1;
  if (lua_pcall(L, 0, 2, 0) == LUA_OK) {
    passed = static_cast<int>(lua_tointeger(L, -2));
    failed = static_cast<int>(lua_tointeger(L, -1));
  } else {
    std::printf("FAIL %s\n", lua_tostring(L, -1));
  }
  lua_close(L);
  return finish(passed, failed);
}
