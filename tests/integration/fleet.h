// Real `keyturn-agent` processes enrolled with a Tenant's coordinator: each with its own
// configuration, state folder and sandboxed wipe (the `paths` strategy on a temporary
// folder: nothing on the machine is touched). Shared by agent_test.cpp and the
// end-to-end stories (e2e_test.cpp, security_test.cpp).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "agent_process.h"
#include "program.h"
#include "tenant.h"

namespace keyturn::test {

// One agent's files: configuration, state, and the folder its wipe is allowed to erase
// (wipe/secret.txt and wipe/sub/more.txt).
struct AgentHome {
  // `factsJson` is the facts file's content; by default a corporate device in group lab.
  AgentHome(Tenant& t, const std::string& device, const std::string& factsJson = "");
  std::string config() const { return base + "/agent.conf"; }
  std::string state() const { return base + "/state"; }
  bool wiped() const;
  // Appends the administrator's part to the configuration: wipes erase base/wipe only.
  void allowSandboxWipe() const;

  std::string id, base;
};

std::string enrollmentCode(Tenant& t);
ProgramRun agentCommand(const std::vector<std::string>& args);
// `keyturn-agent enroll` for `a`, pinned to `expectSha` (the SHA-256 of bundle v1).
ProgramRun enroll(Tenant& t, const AgentHome& a, const std::string& expectSha);
// enroll with the real bundle digest, REQUIREd to succeed.
void enrollOk(Tenant& t, const AgentHome& a);
std::string bundleSha(const Tenant& t);

// The state of `device` in request `id`, as the coordinator shows it to alice ("" if
// the request or the target is not shown).
std::string targetState(Tenant& t, const std::string& id, const std::string& device);
// The result object's `output` of that target ("" when none).
std::string targetOutput(Tenant& t, const std::string& id, const std::string& device);
// Polls targetState until it is `want` or `seconds` pass; returns the last state seen.
std::string waitForTarget(Tenant& t, const std::string& id, const std::string& device,
                          const std::string& want, int seconds = 30);

// alice requests a full wipe of `device`, bob approves with notes, alice completes.
std::string approvedWipe(Tenant& t, const std::string& device, const std::string& why);

// `keyturn-agent run` for `a`; REQUIREs its "connected" log line.
std::unique_ptr<AgentProcess> startAgent(const AgentHome& a);

}  // namespace keyturn::test
