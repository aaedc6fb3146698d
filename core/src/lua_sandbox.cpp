#include "keyturn/lua_sandbox.h"

#include <cstdlib>
#include <initializer_list>
#include <lua.hpp>
#include <string_view>

namespace keyturn {

namespace {

constexpr int kHookEvery = 1000;  // VM instructions between two limit checks
// Garbage left by earlier evaluations is collected once it passes this much.
constexpr std::size_t kGarbageSlack = 4u * 1024u * 1024u;

const char* const kBaseAllowed[] = {"assert", "error",    "ipairs",   "next", "pairs",
                                    "select", "tonumber", "tostring", "type"};

}  // namespace

LuaSandbox& LuaSandbox::of(lua_State* L) {
  void* ud = nullptr;
  lua_getallocf(L, &ud);
  return *static_cast<LuaSandbox*>(ud);
}

// Every allocation is counted; during a run nothing past the cap is granted, and Lua
// turns the refusal into a memory error that protectedPcall will not let a policy keep.
void* LuaSandbox::allocate(void* ud, void* ptr, std::size_t osize, std::size_t nsize) {
  auto* s = static_cast<LuaSandbox*>(ud);
  std::size_t old = ptr != nullptr ? osize : 0;
  if (nsize == 0) {
    std::free(ptr);
    s->used_ -= old;
    return nullptr;
  }
  if (nsize > old && s->used_ - old + nsize > s->cap_) return nullptr;
  void* p = std::realloc(ptr, nsize);
  if (p != nullptr) s->used_ = s->used_ - old + nsize;
  return p;
}

void LuaSandbox::abort(lua_State* L, const std::string* message) {
  aborted_ = true;
  abortMessage_ = message;
  lua_pushlstring(L, message->data(), message->size());
  lua_error(L);
  __builtin_unreachable();
}

// Runs every kHookEvery instructions: the instruction and wall-time limits. Once a
// limit was hit it keeps raising, so no Lua code runs again in this evaluation.
void LuaSandbox::hook(lua_State* L, lua_Debug*) {
  LuaSandbox& s = of(L);
  if (!s.running_) return;
  if (s.aborted_) s.abort(L, s.abortMessage_);
  s.instructions_ += kHookEvery;
  if (s.instructions_ > s.limits_.instructions) s.abort(L, &s.instructionMessage_);
  if (std::chrono::steady_clock::now() > s.deadline_) s.abort(L, &s.timeMessage_);
}

// The sandbox's pcall: like Lua's, except that a limit hit (or a memory error) is
// raised again instead of being returned, whatever the error object looks like.
int LuaSandbox::protectedPcall(lua_State* L) {
  luaL_checkany(L, 1);
  int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
  LuaSandbox& s = of(L);
  if (status == LUA_ERRMEM && s.running_ && !s.aborted_) {
    s.aborted_ = true;
    s.abortMessage_ = &s.memoryMessage_;
  }
  if (s.aborted_) return lua_error(L);
  lua_pushboolean(L, status == LUA_OK);
  lua_insert(L, 1);
  return lua_gettop(L);
}

// string.rep loops in C without running a single VM instruction: ("").rep(1 << 62)
// would never return. Empty results return at once; anything larger than the memory
// left to this evaluation is a memory-limit hit before the first byte is copied.
int LuaSandbox::boundedRep(lua_State* L) {
  std::size_t l = 0, lsep = 0;
  luaL_checklstring(L, 1, &l);
  lua_Integer n = luaL_checkinteger(L, 2);
  luaL_optlstring(L, 3, "", &lsep);
  if (n <= 0 || (l == 0 && lsep == 0)) {
    lua_pushliteral(L, "");
    return 1;
  }
  LuaSandbox& s = of(L);
  using u128 = unsigned __int128;
  u128 total = u128{l} * static_cast<u128>(n) + u128{lsep} * static_cast<u128>(n - 1);
  std::size_t room = s.cap_ > s.used_ ? s.cap_ - s.used_ : 0;
  if (total >= room) s.abort(L, &s.memoryMessage_);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

// table.move also loops in C (over a range, not over memory); each element moved is
// charged as one instruction.
int LuaSandbox::boundedMove(lua_State* L) {
  lua_Integer f = luaL_checkinteger(L, 2);
  lua_Integer e = luaL_checkinteger(L, 3);
  LuaSandbox& s = of(L);
  if (e >= f) {
    auto count = static_cast<std::uint64_t>(e) - static_cast<std::uint64_t>(f) + 1;
    std::uint64_t left =
        s.limits_.instructions > s.instructions_ ? s.limits_.instructions - s.instructions_ : 0;
    if (count > left) s.abort(L, &s.instructionMessage_);
    s.instructions_ += count;
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

int LuaSandbox::readOnlyError(lua_State* L) {
  return luaL_error(L, "attempt to modify a read-only library table");
}

int LuaSandbox::proxyPairs(lua_State* L) {
  lua_pushvalue(L, lua_upvalueindex(1));  // next
  lua_pushvalue(L, lua_upvalueindex(2));  // the library table behind the proxy
  lua_pushnil(L);
  return 3;
}

LuaSandbox::LuaSandbox(const PolicyLimits& limits) : limits_(limits) {
  instructionMessage_ =
      "policy instruction limit (" + std::to_string(limits.instructions) + ") exceeded";
  timeMessage_ = "policy time limit (" + std::to_string(limits.wallTime.count()) + " ms) exceeded";
  memoryMessage_ =
      "policy memory limit (" + std::to_string(limits.memoryBytes) + " bytes) exceeded";
  L_ = lua_newstate(&LuaSandbox::allocate, this);
  if (L_ == nullptr) std::abort();
  luaL_requiref(L_, LUA_GNAME, luaopen_base, 1);
  luaL_requiref(L_, LUA_STRLIBNAME, luaopen_string, 1);
  luaL_requiref(L_, LUA_TABLIBNAME, luaopen_table, 1);
  luaL_requiref(L_, LUA_MATHLIBNAME, luaopen_math, 1);
  luaL_requiref(L_, LUA_UTF8LIBNAME, luaopen_utf8, 1);
  lua_settop(L_, 0);
  buildTemplate();
  lua_newtable(L_);
  chunksRef_ = luaL_ref(L_, LUA_REGISTRYINDEX);
  lua_sethook(L_, &LuaSandbox::hook, LUA_MASKCOUNT, kHookEvery);
  lua_gc(L_, LUA_GCCOLLECT);
  baseline_ = used_;
}

LuaSandbox::~LuaSandbox() {
  if (L_ != nullptr) lua_close(L_);
}

// Leaves on the stack a proxy for the library table at `libIndex`: reads go through,
// writes raise, and its metatable is hidden (getmetatable is absent anyway).
void LuaSandbox::pushReadOnly(int libIndex) {
  lua_State* L = L_;
  libIndex = lua_absindex(L, libIndex);
  lua_newtable(L);           // proxy
  lua_createtable(L, 0, 4);  // its metatable
  lua_pushvalue(L, libIndex);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, &LuaSandbox::readOnlyError);
  lua_setfield(L, -2, "__newindex");
  lua_getglobal(L, "next");
  lua_pushvalue(L, libIndex);
  lua_pushcclosure(L, &LuaSandbox::proxyPairs, 2);
  lua_setfield(L, -2, "__pairs");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
}

void LuaSandbox::buildTemplate() {
  lua_State* L = L_;
  lua_createtable(L, 0, 16);
  int tpl = lua_gettop(L);
  for (const char* name : kBaseAllowed) {
    lua_getglobal(L, name);
    lua_setfield(L, tpl, name);
  }
  lua_pushcfunction(L, &LuaSandbox::protectedPcall);
  lua_setfield(L, tpl, "pcall");

  struct Lib {
    const char* name;
    std::initializer_list<const char*> drop;
  };
  for (const Lib& lib : {Lib{"string", {"dump"}}, Lib{"table", {}},
                         Lib{"math", {"random", "randomseed"}}, Lib{"utf8", {}}}) {
    lua_getglobal(L, lib.name);
    int real = lua_gettop(L);
    lua_newtable(L);  // the copy policies read from
    int copy = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, real) != 0) {
      bool dropped = false;
      for (const char* d : lib.drop)
        dropped = dropped || std::string_view(lua_tostring(L, -2)) == d;
      if (dropped) {
        lua_pop(L, 1);
        continue;
      }
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, copy);
    }
    if (std::string_view(lib.name) == "string") {
      lua_getfield(L, real, "rep");
      lua_pushcclosure(L, &LuaSandbox::boundedRep, 1);
      lua_setfield(L, copy, "rep");
    } else if (std::string_view(lib.name) == "table") {
      lua_getfield(L, real, "move");
      lua_pushcclosure(L, &LuaSandbox::boundedMove, 1);
      lua_setfield(L, copy, "move");
    }
    pushReadOnly(copy);
    if (std::string_view(lib.name) == "string") {
      // String methods ("x"):rep(...) index the same restricted, read-only table.
      lua_pushliteral(L, "");
      lua_getmetatable(L, -1);
      lua_pushvalue(L, -3);
      lua_setfield(L, -2, "__index");
      lua_pop(L, 2);
    }
    lua_setfield(L, tpl, lib.name);
    lua_settop(L, tpl);
  }
  templateRef_ = luaL_ref(L, LUA_REGISTRYINDEX);
}

void LuaSandbox::pushEnvironment() {
  lua_State* L = L_;
  lua_createtable(L, 0, 16);
  lua_rawgeti(L, LUA_REGISTRYINDEX, templateRef_);
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, -5);
  }
  lua_pop(L, 1);
}

int LuaSandbox::pushPolicyTable(std::size_t index) {
  lua_State* L = L_;
  lua_rawgeti(L, LUA_REGISTRYINDEX, chunksRef_);
  lua_rawgeti(L, -1, static_cast<lua_Integer>(index + 1));
  lua_remove(L, -2);
  pushEnvironment();
  lua_setupvalue(L, -2, 1);  // the chunk's only upvalue is _ENV
  lua_call(L, 0, 1);
  return lua_type(L, -1);
}

void LuaSandbox::beginRun() {
  instructions_ = 0;
  aborted_ = false;
  abortMessage_ = nullptr;
  deadline_ = std::chrono::steady_clock::now() + limits_.wallTime;
  cap_ = used_ + limits_.memoryBytes;
  running_ = true;
}

void LuaSandbox::endRun() {
  running_ = false;
  cap_ = SIZE_MAX;
  lua_settop(L_, 0);
  if (aborted_ || used_ > baseline_ + kGarbageSlack) lua_gc(L_, LUA_GCCOLLECT);
}

}  // namespace keyturn
