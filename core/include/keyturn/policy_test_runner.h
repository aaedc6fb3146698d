// `keyturn policy test`: runs policy unit tests (X_test.lua beside X.lua). The policy
// runs in the real PolicyEngine (the agent's sandbox, worker process and limits); the
// test file runs in the calling process in a Lua state of its own with the helpers
// test(), request{}, device{}, expect_approvals(), expect_deny(), expect_unprotected().
//
// The test file is code from the same folder as the policy, and may be run by whoever
// reviews a proposed change, so it too is confined: only the base functions that
// cannot load code or reach the system (no io, os, debug, load, require, print), a
// memory cap, and a wall-time limit per test enforced by a count hook. A policy that
// loops or escapes fails its tests with policy_error; it never hangs the runner.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "keyturn/policy_engine.h"
#include "keyturn/result.h"

namespace keyturn::policykit {

struct PolicyTestFile {
  std::string testPath;    // .../X_test.lua
  std::string policyPath;  // .../X.lua (may not exist: that is a failure when run)
};

// `path` is a *_test.lua file, or a folder searched recursively for them (sorted by
// path). Fails "io" when `path` does not exist, or is a folder without tests.
Result<std::vector<PolicyTestFile>> discoverPolicyTests(const std::string& path);

struct TestCaseResult {
  std::string name;
  bool passed = false;
  std::string message;  // for a failure: "X_test.lua:12: expected 2 from g, got ..."
};

struct TestFileResult {
  PolicyTestFile file;
  std::string error;  // the policy or the test file did not load: one failure
  std::vector<TestCaseResult> cases;
  int passed() const;
  int failed() const;  // failed cases, plus one for `error`
};

struct TestRunOptions {
  PolicyLimits limits;                         // the policy's, as on the agent
  std::chrono::milliseconds testTime{10'000};  // per test case of the test file
  std::size_t testMemoryBytes = 256u * 1024u * 1024u;
};

// Runs one test file; `onCase` (may be empty) is called after each test case, so a
// command can print as it goes.
TestFileResult runPolicyTestFile(const PolicyTestFile& file, const TestRunOptions& options = {},
                                 const std::function<void(const TestCaseResult&)>& onCase = {});

}  // namespace keyturn::policykit
