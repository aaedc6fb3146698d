// The sandboxed Lua policy engine of PROTOCOL.md section 6.
//
// Policies are Lua 5.4 text chunks from a trust bundle. They are compiled and run in
// a separate worker process (forked from the caller when the engine is created), so
// that no policy can hang, exhaust or corrupt the caller: the worker enforces the
// instruction and memory limits itself, and the caller kills it when the wall-time
// limit passes (which also stops loops inside C library functions that a Lua hook
// cannot interrupt). A killed worker is replaced before the next evaluation.
//
// Every evaluation runs the policy chunks again in a fresh environment, so nothing a
// policy does in one evaluation is visible in the next. The engine fails closed: any
// failure of any matching policy makes the decision `policy_error`.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "keyturn/result.h"

namespace keyturn {

struct PolicySource {
  std::string name;    // file name in the bundle, e.g. "device_actions.lua"
  std::string source;  // Lua text (never bytecode)
};

// Limits of one evaluate() call: all matching policies of the request share one budget
// (and each policy gets one budget for running its chunk at load). Memory is counted
// above the worker's usage when the evaluation starts.
struct PolicyLimits {
  std::uint64_t instructions = 1'000'000;
  std::size_t memoryBytes = 16u * 1024u * 1024u;
  std::chrono::milliseconds wallTime{100};
};

// What a policy sees as `req` (spec section 6).
struct PolicyRequest {
  std::string id;
  std::string action;
  std::string paramsJson = "{}";  // the token's params object as JSON text
  std::string requesterId;
  std::vector<std::string> requesterGroups;
  std::string justification;
  std::uint64_t targetCount = 1;
  std::int64_t created = 0;
  std::int64_t expires = 0;
  std::int64_t now = 0;
};

// What a policy sees as `device`. On the agent these are the agent's own facts.
struct DeviceFacts {
  std::string id;
  std::string ownership = "unknown";  // "corporate" | "personal" | "unknown"
  std::string platform;
  std::string osVersion;
  std::vector<std::string> groups;
  std::map<std::string, std::string> tags;
};

struct Requirement {
  std::string group;
  int approvals = 0;
  std::string policy;  // the policy (its `name`) that asked for it
};

// What one matching policy returned.
struct PolicyOutcome {
  enum class Kind { kUnprotected, kRequirement, kDeny, kError };
  std::string policy;  // the policy's `name`
  std::string file;    // the bundle file it came from
  Kind kind = Kind::kUnprotected;
  int approvals = 0;   // kRequirement
  std::string group;   // kRequirement
  std::string message; // kDeny: the reason; kError: what went wrong
};

struct PolicyDecision {
  // Ok, or reason "policy_denied" / "policy_error" with a detail naming the policy.
  Status status;
  std::vector<Requirement> requirements;  // every requirement, each to be met separately
  std::vector<PolicyOutcome> outcomes;    // one per matching policy, in bundle order
};

struct PolicyInfo {
  std::string file;
  std::string name;
  std::vector<std::string> actions;  // exact names or "prefix.*"
};

// True when `pattern` (an exact action name or "prefix.*") matches `action`.
bool policyActionMatches(const std::string& pattern, const std::string& action);

class PolicyEngine {
 public:
  // Compiles and runs every source in the sandbox under `limits` and checks that it
  // returns a table with `name` (string), `actions` (non-empty array of strings) and
  // `evaluate` (function). Fails with reason "policy_error" and a detail naming the
  // file; a chunk starting with the bytecode signature "\x1bLua" fails as "malformed".
  static Result<std::unique_ptr<PolicyEngine>> load(std::vector<PolicySource> sources,
                                                     PolicyLimits limits = {});
  ~PolicyEngine();
  PolicyEngine(const PolicyEngine&) = delete;
  PolicyEngine& operator=(const PolicyEngine&) = delete;

  // Evaluates every policy whose `actions` match req.action, in bundle order, per
  // spec section 6: any error → policy_error (even if another denies); else any deny →
  // policy_denied; else Ok with the requirements. Thread-safe (calls are serialised).
  PolicyDecision evaluate(const PolicyRequest& req, const DeviceFacts& device) const;

  const std::vector<PolicyInfo>& policies() const;
  // True when a policy's actions match `action`: evaluate() then runs policies in the
  // worker; otherwise it answers "no approvals needed" without one.
  bool protects(const std::string& action) const;

  // Stops the worker process if one runs; the next evaluate() forks a fresh one from the
  // same sources (as after a worker killed at a limit). For a caller idle most of the
  // time: the agent releases it after its token work, so an idle agent is one process.
  void releaseWorker() const;
  // Starts a worker now if none runs (evaluate() would on demand). evaluate() reports a
  // worker that cannot start (fork or socket limits) as policy_error, a refusal; a caller
  // that would rather keep its work for later (the agent keeps its tokens in the inbox)
  // calls this first and stops on failure.
  Status startWorker() const;
  // True while a worker process runs (tests, status).
  bool workerRunning() const;

  class Impl;

 private:
  explicit PolicyEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace keyturn
