// What the `keyturn policy` subcommands share: positional arguments beside options, and
// the JSON pieces their reports are written with. Wiring only; the kit is in core
// (keyturn/policy_kit.h and friends).
#pragma once

#include <string>
#include <vector>

#include "cli_output.h"
#include "keyturn/policy_engine.h"

namespace keyturn::cli {

struct PolicyParsed {
  Parsed parsed;
  std::vector<std::string> positional;
};

// parseCommand() for `keyturn policy SUB`, also accepting up to `maxPositional`
// arguments that are not options (folders, files), anywhere before a repeatable option.
Result<PolicyParsed> parsePolicyCommand(int argc, char** argv, tools::ArgSpec spec, const char* help,
                                        std::size_t maxPositional);

std::string jsonStrings(const std::vector<std::string>& items);
std::string jsonRequirements(const std::vector<Requirement>& requirements);
std::string joined(const std::vector<std::string>& items, const char* sep = ", ");

int policyTest(int argc, char** argv);      // policy_test_command.cpp
int policyLint(int argc, char** argv);      // policy_lint_command.cpp
int policySimulate(int argc, char** argv);  // policy_simulate_command.cpp
int policyDiff(int argc, char** argv);      // policy_diff_command.cpp

}  // namespace keyturn::cli
