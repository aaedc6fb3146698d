// `keyturn policy diff OLD NEW`: what a proposed policy change changes. Policies are
// compared by their `name` (added, removed, modified: different source text), and a
// set of saved example requests is evaluated under both sets with the real engine;
// every example whose decision differs is listed. The web console and `keyturn bundle
// propose` are meant to show approvers this same report.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "keyturn/policy_engine.h"
#include "keyturn/policy_kit.h"
#include "keyturn/result.h"

namespace keyturn::policykit {

// One saved example (policies/examples/*.json):
// {"name": "...", "request": {"action", "params": {...}, "requester", "groups": [...],
//  "justification", "targets", "now"}, "device": {device facts}}.
// Only request.action and device.id are required. When `groups` is absent and the set
// being evaluated is a bundle, the requester's groups come from the bundle's roster.
struct ExampleRequest {
  std::string name;
  std::string file;
  PolicyRequest request;
  bool groupsGiven = false;
  DeviceFacts device;
};
Result<ExampleRequest> parseExample(std::string_view text, const std::string& where);
// Every *.json of `dir` in name order. A missing folder fails "io".
Result<std::vector<ExampleRequest>> loadExamples(const std::string& dir);

// The request as a policy sees it: requester groups filled from `set`'s bundle when
// the example does not give them.
PolicyRequest exampleRequestFor(const ExampleRequest& ex, const PolicySet& set);

struct PolicyChange {
  std::string name;
  std::string change;  // "added" | "removed" | "modified"
  std::string oldFile, newFile;
  std::vector<std::string> oldActions, newActions;
};

struct ExampleChange {
  std::string name;
  std::string file;
  std::string before, after;  // describeDecision() under the old and the new set
};

struct DiffReport {
  std::vector<PolicyChange> policies;
  std::string oldLoadError, newLoadError;  // set when a set does not load in the sandbox
  std::size_t examples = 0;
  std::vector<ExampleChange> changed;
};

// A set that does not load is still compared (by file name) and every example under it
// reads as the agent would answer: policy_error with the load error.
DiffReport diffPolicySets(const PolicySet& oldSet, const PolicySet& newSet, const std::vector<ExampleRequest>& examples,
                          const PolicyLimits& limits = {});

}  // namespace keyturn::policykit
