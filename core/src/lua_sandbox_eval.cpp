// LuaSandbox, second half: loading a policy, building `req` and `device`, running
// `evaluate` and reading what it returned (PROTOCOL.md section 6).
#include <lua.hpp>
#include <string_view>

#include "keyturn/lua_sandbox.h"

namespace keyturn {

namespace {

// Error messages and deny reasons are for people and end up in logs and audit records;
// a policy cannot make them megabytes long (error(string.rep("x", 1 << 23))).
constexpr std::size_t kMaxMessage = 512;

void truncate(std::string& message) {
  if (message.size() > kMaxMessage) message.replace(kMaxMessage, std::string::npos, "...");
}

// An action pattern is an exact name, or "prefix.*" with no other '*'.
bool validActionPattern(std::string_view p) {
  if (p.empty()) return false;
  auto star = p.find('*');
  if (star == std::string_view::npos) return true;
  return star == p.size() - 1 && p.size() > 2 && p[p.size() - 2] == '.';
}

void setString(lua_State* L, const char* key, const std::string& value) {
  lua_pushlstring(L, value.data(), value.size());
  lua_setfield(L, -2, key);
}

void setInteger(lua_State* L, const char* key, std::int64_t value) {
  lua_pushinteger(L, static_cast<lua_Integer>(value));
  lua_setfield(L, -2, key);
}

void pushSet(lua_State* L, const std::vector<std::string>& names) {
  lua_createtable(L, 0, static_cast<int>(names.size()));
  for (const auto& n : names) {
    lua_pushlstring(L, n.data(), n.size());
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
  }
}

// Pushes one encoded params value (policy_wire.h) as Lua: objects and arrays become
// tables, null becomes nil (an absent member), integers stay integers.
void pushValue(lua_State* L, policywire::Reader& r) {
  using namespace policywire;
  luaL_checkstack(L, 4, "params nested too deeply");
  switch (r.u8()) {
    case kFalse:
      lua_pushboolean(L, 0);
      break;
    case kTrue:
      lua_pushboolean(L, 1);
      break;
    case kInteger:
      lua_pushinteger(L, static_cast<lua_Integer>(r.i64()));
      break;
    case kNumber:
      lua_pushnumber(L, r.f64());
      break;
    case kString: {
      auto s = r.str();
      lua_pushlstring(L, s.data(), s.size());
      break;
    }
    case kArray: {
      std::uint32_t n = r.u32();
      lua_createtable(L, static_cast<int>(n > 1024 ? 1024 : n), 0);
      for (std::uint32_t i = 1; r.ok() && i <= n; ++i) {
        pushValue(L, r);
        lua_rawseti(L, -2, static_cast<lua_Integer>(i));
      }
      break;
    }
    case kObject: {
      std::uint32_t n = r.u32();
      lua_createtable(L, 0, static_cast<int>(n > 1024 ? 1024 : n));
      for (std::uint32_t i = 0; r.ok() && i < n; ++i) {
        auto key = r.str();
        lua_pushlstring(L, key.data(), key.size());
        pushValue(L, r);
        lua_rawset(L, -3);
      }
      break;
    }
    default:
      lua_pushnil(L);
      break;
  }
}

std::string errorText(lua_State* L) {
  if (lua_type(L, -1) == LUA_TSTRING) return lua_tostring(L, -1);
  return std::string("error object is a ") + luaL_typename(L, -1) + " value";
}

}  // namespace

struct LuaSandbox::Call {
  LuaSandbox* self;
  std::size_t index;
  const policywire::EvalRequest* req;
  PolicyInfo* info;
  PolicyOutcome* out;
  std::string* error;
};

// Protected: runs policy chunk `index` once and checks the table it returns.
int LuaSandbox::runLoad(lua_State* L) {
  auto* c = static_cast<Call*>(lua_touserdata(L, 1));
  int type = c->self->pushPolicyTable(c->index);
  if (type != LUA_TTABLE) {
    *c->error = std::string("returns a ") + lua_typename(L, type) + ", not a table";
    return 0;
  }
  int t = lua_gettop(L);
  if (lua_getfield(L, t, "name") != LUA_TSTRING || lua_rawlen(L, -1) == 0) {
    *c->error = "the returned table has no non-empty string 'name'";
    return 0;
  }
  c->info->name = lua_tostring(L, -1);
  if (lua_getfield(L, t, "evaluate") != LUA_TFUNCTION) {
    *c->error = "the returned table has no function 'evaluate'";
    return 0;
  }
  if (lua_getfield(L, t, "actions") != LUA_TTABLE) {
    *c->error = "the returned table has no table 'actions'";
    return 0;
  }
  int actions = lua_gettop(L);
  lua_Unsigned n = lua_rawlen(L, actions);
  lua_Unsigned keys = 0;
  lua_pushnil(L);
  while (lua_next(L, actions) != 0) {
    ++keys;
    lua_pop(L, 1);
  }
  if (n == 0 || keys != n) {
    *c->error = "'actions' must be a non-empty array of strings";
    return 0;
  }
  for (lua_Unsigned i = 1; i <= n; ++i) {
    if (lua_rawgeti(L, actions, static_cast<lua_Integer>(i)) != LUA_TSTRING ||
        !validActionPattern(lua_tostring(L, -1))) {
      *c->error = "actions[" + std::to_string(i) + "] must be an action name or \"prefix.*\"";
      return 0;
    }
    c->info->actions.emplace_back(lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  return 0;
}

bool LuaSandbox::load(const PolicySource& src, PolicyInfo& info, std::string& error) {
  info = PolicyInfo{src.name, {}, {}};
  error.clear();
  std::string chunkName = "=" + src.name;
  cap_ = used_ + limits_.memoryBytes;
  int status = luaL_loadbufferx(L_, src.source.data(), src.source.size(), chunkName.c_str(), "t");
  cap_ = SIZE_MAX;
  if (status != LUA_OK) {
    std::string problem = errorText(L_);
    truncate(problem);
    error = "policy " + src.name + " does not compile: " + problem;
    lua_settop(L_, 0);
    return false;
  }
  lua_rawgeti(L_, LUA_REGISTRYINDEX, chunksRef_);
  lua_insert(L_, -2);
  lua_rawseti(L_, -2, static_cast<lua_Integer>(chunkCount_ + 1));
  lua_settop(L_, 0);
  std::size_t index = chunkCount_++;

  std::string problem;
  Call c{this, index, nullptr, &info, nullptr, &problem};
  beginRun();
  lua_pushcfunction(L_, &LuaSandbox::runLoad);
  lua_pushlightuserdata(L_, &c);
  status = lua_pcall(L_, 1, 0, 0);
  if (aborted_) {
    problem = *abortMessage_;
  } else if (status == LUA_ERRMEM) {
    problem = memoryMessage_;
  } else if (status != LUA_OK) {
    problem = errorText(L_);
  }
  endRun();
  lua_gc(L_, LUA_GCCOLLECT);
  baseline_ = used_;
  if (!problem.empty()) {
    truncate(problem);
    error = "policy " + src.name + " does not load: " + problem;
    return false;
  }
  return true;
}

void LuaSandbox::pushRequest(const policywire::EvalRequest& in) {
  lua_State* L = L_;
  const PolicyRequest& r = in.req;
  lua_createtable(L, 0, 10);
  setString(L, "id", r.id);
  setString(L, "action", r.action);
  policywire::Reader params(in.params);
  pushValue(L, params);
  lua_setfield(L, -2, "params");
  lua_createtable(L, 0, 2);
  setString(L, "id", r.requesterId);
  pushSet(L, r.requesterGroups);
  lua_setfield(L, -2, "groups");
  lua_setfield(L, -2, "requester");
  setString(L, "justification", r.justification);
  lua_createtable(L, 0, 1);
  setInteger(L, "count", static_cast<std::int64_t>(r.targetCount));
  lua_setfield(L, -2, "targets");
  setInteger(L, "created", r.created);
  setInteger(L, "expires", r.expires);
  setInteger(L, "now", r.now);
}

void LuaSandbox::pushDevice(const policywire::EvalRequest& in) {
  lua_State* L = L_;
  const DeviceFacts& d = in.device;
  lua_createtable(L, 0, 6);
  setString(L, "id", d.id);
  static const std::string kUnknown = "unknown";
  setString(L, "ownership", d.ownership.empty() ? kUnknown : d.ownership);
  setString(L, "platform", d.platform);
  setString(L, "os_version", d.osVersion);
  pushSet(L, d.groups);
  lua_setfield(L, -2, "groups");
  lua_createtable(L, 0, static_cast<int>(d.tags.size()));
  for (const auto& [k, v] : d.tags) setString(L, k.c_str(), v);
  lua_setfield(L, -2, "tags");
}

// Reads the value on top of the stack as evaluate's result. Only nil, exactly
// {approvals = integer 0..16, group = non-empty string} or exactly {deny = string}
// are accepted; anything else is an error (fail closed).
void LuaSandbox::interpretResult(lua_State* L, PolicyOutcome& out) {
  int type = lua_type(L, -1);
  if (type == LUA_TNIL) {
    out.kind = PolicyOutcome::Kind::kUnprotected;
    return;
  }
  out.kind = PolicyOutcome::Kind::kError;
  if (type != LUA_TTABLE) {
    out.message = std::string("evaluate returned a ") + lua_typename(L, type) +
                  "; expected nil, {approvals = n, group = g} or {deny = reason}";
    return;
  }
  int t = lua_gettop(L);
  bool hasApprovals = false, hasGroup = false, hasDeny = false;
  lua_Integer approvals = -1;
  std::string group, deny;
  bool groupOk = false, denyOk = false, approvalsOk = false;
  lua_pushnil(L);
  while (lua_next(L, t) != 0) {
    if (lua_type(L, -2) != LUA_TSTRING) {
      out.message = "evaluate's result has a key that is not a string";
      return;
    }
    std::string_view key = lua_tostring(L, -2);
    if (key == "approvals") {
      hasApprovals = true;
      approvalsOk = lua_isinteger(L, -1) != 0;
      if (approvalsOk) approvals = lua_tointeger(L, -1);
    } else if (key == "group") {
      hasGroup = true;
      groupOk = lua_type(L, -1) == LUA_TSTRING && lua_rawlen(L, -1) > 0;
      if (groupOk) group = lua_tostring(L, -1);
    } else if (key == "deny") {
      hasDeny = true;
      denyOk = lua_type(L, -1) == LUA_TSTRING;
      if (denyOk) deny = lua_tostring(L, -1);
    } else {
      out.message = "evaluate's result has an unexpected key '" + std::string(key) + "'";
      return;
    }
    lua_pop(L, 1);
  }
  if (hasDeny) {
    if (hasApprovals || hasGroup) {
      out.message = "evaluate's result mixes 'deny' with 'approvals'/'group'";
    } else if (!denyOk) {
      out.message = "evaluate's result 'deny' must be a string";
    } else {
      out.kind = PolicyOutcome::Kind::kDeny;
      out.message = deny;
    }
    return;
  }
  if (!hasApprovals || !hasGroup) {
    out.message = "evaluate's result needs both 'approvals' and 'group' (or only 'deny')";
  } else if (!approvalsOk || approvals < 0 || approvals > 16) {
    out.message = "evaluate's result 'approvals' must be an integer from 0 to 16";
  } else if (!groupOk) {
    out.message = "evaluate's result 'group' must be a non-empty string";
  } else {
    out.kind = PolicyOutcome::Kind::kRequirement;
    out.approvals = static_cast<int>(approvals);
    out.group = group;
  }
}

// Protected: runs the chunk of one policy in a fresh environment and calls its
// evaluate with freshly built req and device tables.
int LuaSandbox::runEvaluate(lua_State* L) {
  auto* c = static_cast<Call*>(lua_touserdata(L, 1));
  if (c->self->pushPolicyTable(c->index) != LUA_TTABLE ||
      lua_getfield(L, -1, "evaluate") != LUA_TFUNCTION) {
    c->out->kind = PolicyOutcome::Kind::kError;
    c->out->message = "the policy chunk did not return a table with 'evaluate'";
    return 0;
  }
  c->self->pushRequest(*c->req);
  c->self->pushDevice(*c->req);
  lua_call(L, 2, 1);
  interpretResult(L, *c->out);
  return 0;
}

std::vector<PolicyOutcome> LuaSandbox::evaluate(const policywire::EvalRequest& req) {
  std::vector<PolicyOutcome> outs(req.policies.size());
  beginRun();
  for (std::size_t i = 0; i < req.policies.size(); ++i) {
    PolicyOutcome& out = outs[i];
    if (req.policies[i] >= chunkCount_) {
      out.kind = PolicyOutcome::Kind::kError;
      out.message = "no such policy in the worker";
      continue;
    }
    if (aborted_) {  // the evaluation's budget is spent: nothing else runs
      out.kind = PolicyOutcome::Kind::kError;
      out.message = "not evaluated: " + *abortMessage_;
      continue;
    }
    Call c{this, req.policies[i], &req, nullptr, &out, nullptr};
    lua_pushcfunction(L_, &LuaSandbox::runEvaluate);
    lua_pushlightuserdata(L_, &c);
    int status = lua_pcall(L_, 1, 0, 0);
    if (status == LUA_ERRMEM && !aborted_) {
      aborted_ = true;
      abortMessage_ = &memoryMessage_;
    }
    if (aborted_) {
      out = PolicyOutcome{};
      out.kind = PolicyOutcome::Kind::kError;
      out.message = *abortMessage_;
    } else if (status != LUA_OK) {
      out = PolicyOutcome{};
      out.kind = PolicyOutcome::Kind::kError;
      out.message = errorText(L_);
    }
    lua_settop(L_, 0);
  }
  endRun();
  for (auto& out : outs) truncate(out.message);
  return outs;
}

}  // namespace keyturn
