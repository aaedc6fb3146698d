// The token gate: every check of PROTOCOL.md section 5, in order. The agent's daemon
// and `keyturn-agent verify` both decide through this one function.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "keyturn/bundle.h"
#include "keyturn/policy_engine.h"
#include "keyturn/replay_journal.h"
#include "keyturn/result.h"
#include "keyturn/token.h"

namespace keyturn {

constexpr std::int64_t kClockSkew = 300;

// The action catalogue of section 7.
const std::set<std::string>& builtinActions();

struct GateAccept {
  Token token;
  std::vector<std::string> approvers;  // distinct approver principals, in signature order
  std::vector<Requirement> requirements;
};

class TokenGate {
 public:
  // Borrows everything; all must outlive the gate. `journal` may be null only when the
  // caller checks replay itself (it then always passes step 12). `extraActions` are the
  // actions installed plugins provide beyond the catalogue.
  TokenGate(const TrustBundle& bundle, const PolicyEngine& policies, const ReplayJournal* journal,
            std::set<std::string> extraActions = {});

  // Runs steps 1 to 15 for `tokenBytes` on the device described by `device` at time
  // `now`. Returns the accepted token, or the first failing step's reason and a detail.
  // Records nothing: the caller consumes the id with ReplayJournal::consume.
  Result<GateAccept> check(std::string_view tokenBytes, const DeviceFacts& device, std::int64_t now) const;

 private:
  const TrustBundle& bundle_;
  const PolicyEngine& policies_;
  const ReplayJournal* journal_;
  std::set<std::string> extraActions_;
};

}  // namespace keyturn
