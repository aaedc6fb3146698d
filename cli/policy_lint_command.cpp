// keyturn policy lint [DIR|BUNDLE]: keyturn/policy_lint.h, printed.
#include <iostream>
#include <set>

#include "keyturn/json.h"
#include "keyturn/policy_kit.h"
#include "keyturn/policy_lint.h"
#include "policy_cli.h"

namespace keyturn::cli {

namespace {

constexpr const char* kLintHelp =
    "usage: keyturn policy lint [DIR|BUNDLE] [--known-action A ...] [-o json]\n"
    "  Loads every policy of DIR (default ./policies; *.lua except *_test.lua) or of a bundle\n"
    "  file in the agent's sandbox, one at a time, without running a request, and reports:\n"
    "  syntax and load errors with their line, missing or misspelled fields (name, actions,\n"
    "  evaluate), action patterns that match no known action (--known-action adds a plugin's),\n"
    "  globals the sandbox does not have, an evaluate that can never return a requirement or a\n"
    "  loop with no way out, and two policies with one name.\n"
    "  Exit 1 when any finding is an error, 0 with warnings only, 2 on a usage error.\n";

}  // namespace

int policyLint(int argc, char** argv) {
  auto p = parsePolicyCommand(argc, argv, {{}, {"known-action"}, {}}, kLintHelp, 1);
  if (!p) return p.reason() == "help" ? 0 : 2;
  const Output& out = p->parsed.out;
  auto set = policykit::loadPolicySet(p->positional.empty() ? "policies" : p->positional[0]);
  if (!set) return out.fail(set.error());
  if (set->sources.empty()) return out.fail(Error{"io", set->origin + " holds no policies (*.lua)"});
  policykit::LintOptions options;
  for (const auto& a : p->parsed.args.all("known-action")) options.extraActions.insert(a);
  auto findings = policykit::lintPolicies(set->sources, options);

  int errors = 0, warnings = 0;
  std::string text, items;
  for (const auto& f : findings) {
    (f.severity == policykit::LintFinding::Severity::kError ? errors : warnings)++;
    text += f.file + (f.line > 0 ? ":" + std::to_string(f.line) : std::string()) + ": " +
            policykit::severityName(f.severity) + ": [" + f.check + "] " + f.message + "\n";
    items += (items.empty() ? "" : ",") + std::string("{\"file\":") + json::quote(f.file) +
             ",\"line\":" + std::to_string(f.line) + ",\"severity\":\"" + policykit::severityName(f.severity) +
             "\",\"check\":" + json::quote(f.check) + ",\"message\":" + json::quote(f.message) + "}";
  }
  text += std::to_string(set->sources.size()) + " policies, " + std::to_string(errors) + " errors, " +
          std::to_string(warnings) + " warnings";
  out.done(text, "{\"policies\":" + std::to_string(set->sources.size()) + ",\"findings\":[" + items +
                     "],\"errors\":" + std::to_string(errors) + ",\"warnings\":" + std::to_string(warnings) + "}");
  return errors > 0 ? 1 : 0;
}

}  // namespace keyturn::cli
