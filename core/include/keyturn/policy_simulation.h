// `keyturn policy simulate`: what one request would need, and why, under a set of
// policies and across one or many devices. Runs the real PolicyEngine (the agent's own
// sandbox and limits); nothing here decides differently from the agent's gate.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "keyturn/policy_engine.h"
#include "keyturn/result.h"

namespace keyturn::policykit {

// One distinct thing a policy returned, and on how many devices.
struct OutcomeTally {
  PolicyOutcome outcome;  // kind, approvals, group, message
  std::size_t devices = 0;
  std::string firstDevice;  // the first device (in input order) it was returned for
};

struct PolicySimulation {
  PolicyInfo info;
  bool matched = false;                // one of its `actions` matches the request's action
  std::vector<OutcomeTally> outcomes;  // distinct outcomes, in order of first appearance
};

// A device whose evaluation was not Ok (policy_denied or policy_error).
struct DeviceRefusal {
  std::string device;
  Error error;
};

struct SimulationReport {
  std::vector<PolicySimulation> policies;  // every policy of the set, in bundle order
  std::size_t devices = 0;
  std::size_t denied = 0;
  std::size_t errors = 0;
  std::vector<DeviceRefusal> refusals;  // at most kMaxRefusalsListed, input order
  // The request's requirements across every device that is not refused
  // (mergeRequirements of approval_rules.h: per group, the largest count).
  std::vector<Requirement> combined;
  // "error" when any device's evaluation failed (the agent fails closed there), else
  // "denied" when any device is denied, else "requirements" or "unprotected".
  std::string verdict;
  // How many evaluations ran: fewer than `devices` when devices with equal facts were
  // evaluated once (see SimulationOptions::groupEqualFacts).
  std::size_t evaluations = 0;
};

constexpr std::size_t kMaxRefusalsListed = 20;

struct SimulationOptions {
  // Engines (worker processes) evaluating devices in parallel; 0 = one per CPU. The
  // result does not depend on it.
  unsigned engines = 0;
  PolicyLimits limits;
  // Evaluate devices whose facts are equal except for `id` once, when a lexical scan
  // shows that no policy can see a device's id (policiesIgnoreDeviceId). The report is
  // the same either way; only the time differs.
  bool groupEqualFacts = true;
};

// True when no source can read `device.id`: none mentions a name or string "id", none
// iterates a table (pairs, next) and none indexes with a computed key. Conservative:
// false for many policies that in fact ignore the id (they are then evaluated per device).
bool policiesIgnoreDeviceId(const std::vector<PolicySource>& sources);

// Loads `sources` into the engine(s) and evaluates `request` for every device.
// Fails with the engine's load error ("policy_error"/"malformed") when a policy does
// not load; every evaluation failure is part of the report, never a failure here.
// `devices` must not be empty.
Result<SimulationReport> simulate(const std::vector<PolicySource>& sources, const PolicyRequest& request,
                                  const std::vector<DeviceFacts>& devices, SimulationOptions options = {});

// The one-line summary of a report: "requires 1 from device-approvers",
// "no approvals needed", "denied on 3 of 10 devices", "policy_error on 1 of 1 devices".
std::string describeVerdict(const SimulationReport& report);

}  // namespace keyturn::policykit
