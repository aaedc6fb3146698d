// `keyturn policy lint`: what can be said about a set of policies without running a
// request. Each file is loaded alone in the real sandbox (so syntax errors and load
// failures read exactly as the agent would report them), then read lexically for the
// mistakes the engine only finds at evaluation time or never: misspelled fields,
// actions no agent knows, globals the sandbox does not have, an `evaluate` that can
// never return a requirement, two policies with one name.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "keyturn/policy_engine.h"

namespace keyturn::policykit {

struct LintFinding {
  enum class Severity { kError, kWarning };
  std::string file;
  int line = 0;  // 0 when the finding is about the whole file
  Severity severity = Severity::kError;
  std::string check;  // "load", "field", "action", "global", "return", "duplicate"
  std::string message;
};

struct LintOptions {
  // Actions beyond the built-in catalogue (token_gate.h builtinActions()), e.g. those
  // of installed plugins.
  std::set<std::string> extraActions;
  PolicyLimits limits;
};

// Lints every source, in order. The findings are sorted by file, then line.
std::vector<LintFinding> lintPolicies(const std::vector<PolicySource>& sources, const LintOptions& options = {});

// The lexical checks alone on one source (no Lua runs): fields, globals, returns.
std::vector<LintFinding> lintSource(const PolicySource& source);

bool hasErrors(const std::vector<LintFinding>& findings);
const char* severityName(LintFinding::Severity s);  // "error" | "warning"

}  // namespace keyturn::policykit
