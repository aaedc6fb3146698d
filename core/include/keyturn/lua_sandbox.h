// One Lua 5.4 state that runs policies under the limits of PROTOCOL.md section 6.
//
// Used only inside the policy worker process (see policy_worker.h): the Lua hook and
// allocator enforce the instruction and memory limits and a first wall-time check, but
// a loop inside a C library function (pattern backtracking, table.move) can only be
// stopped by the parent killing the process. Nothing here is thread-safe.
//
// Every run of a policy gets a fresh environment holding only the allowed globals; the
// library tables in it are shared read-only proxies, so a policy can neither see nor
// leave anything behind for the next run. A limit hit sets an `aborted` flag that the
// sandbox's own `pcall` re-raises, so a policy cannot catch it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "keyturn/policy_engine.h"
#include "keyturn/policy_wire.h"

struct lua_State;
struct lua_Debug;

namespace keyturn {

class LuaSandbox {
 public:
  explicit LuaSandbox(const PolicyLimits& limits);
  ~LuaSandbox();
  LuaSandbox(const LuaSandbox&) = delete;
  LuaSandbox& operator=(const LuaSandbox&) = delete;

  // Compiles `src` as text, runs it once in a fresh environment under the limits and
  // checks the table it returns. Policies are numbered in the order they are loaded.
  // On failure returns false and sets `error` to a sentence naming the file.
  bool load(const PolicySource& src, PolicyInfo& info, std::string& error);

  // Evaluates the loaded policies `req.policies` (indices in load order) for one
  // request, all of them under one shared budget of limits. Returns one outcome per
  // index (kind, approvals, group, message; policy/file are left to the caller).
  std::vector<PolicyOutcome> evaluate(const policywire::EvalRequest& req);

 private:
  struct Call;  // what one protected call works on

  static void* allocate(void* ud, void* ptr, std::size_t osize, std::size_t nsize);
  static void hook(lua_State* L, lua_Debug* ar);
  static int protectedPcall(lua_State* L);
  static int boundedRep(lua_State* L);
  static int boundedMove(lua_State* L);
  static int readOnlyError(lua_State* L);
  static int proxyPairs(lua_State* L);
  static int runLoad(lua_State* L);
  static int runEvaluate(lua_State* L);
  static LuaSandbox& of(lua_State* L);

  [[noreturn]] void abort(lua_State* L, const std::string* message);
  void beginRun();
  void endRun();
  void buildTemplate();
  void pushReadOnly(int libIndex);
  void pushEnvironment();
  int pushPolicyTable(std::size_t index);  // runs the chunk; leaves the table on top
  void pushRequest(const policywire::EvalRequest& req);
  void pushDevice(const policywire::EvalRequest& req);
  static void interpretResult(lua_State* L, PolicyOutcome& out);

  PolicyLimits limits_;
  lua_State* L_ = nullptr;
  int templateRef_ = 0;  // registry ref: the allowed globals
  int chunksRef_ = 0;    // registry ref: compiled chunks, 1-based
  std::size_t chunkCount_ = 0;
  std::size_t used_ = 0;
  std::size_t cap_ = SIZE_MAX;
  std::size_t baseline_ = 0;
  std::uint64_t instructions_ = 0;
  std::chrono::steady_clock::time_point deadline_;
  bool running_ = false;
  bool aborted_ = false;
  const std::string* abortMessage_ = nullptr;
  std::string instructionMessage_, timeMessage_, memoryMessage_;
};

}  // namespace keyturn
