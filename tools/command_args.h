// Command-line arguments of keyturn-agent and keyturn: `--name value` options,
// repeatable ones, and flags. Anything unknown is a usage error naming the argument.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "keyturn/result.h"

namespace keyturn::tools {

struct ArgSpec {
  std::set<std::string> single;    // options taking one value
  std::set<std::string> multiple;  // options taking one or more values (until the next --option)
  std::set<std::string> flags;     // options taking no value
};

class CommandArgs {
 public:
  // Parses argv[first..argc). Reason "usage" on an unknown option or a missing value.
  // "-o" is read as the option "o" and "-h" as the flag "help".
  static Result<CommandArgs> parse(int argc, char** argv, int first, const ArgSpec& spec);

  std::optional<std::string> get(const std::string& name) const;
  const std::vector<std::string>& all(const std::string& name) const;
  bool flag(const std::string& name) const { return flags_.count(name) > 0; }
  // The value of a required option, or a usage error naming it.
  Result<std::string> require(const std::string& name) const;
  // An optional non-negative integer option; a usage error naming it if malformed.
  Result<std::optional<std::uint64_t>> integer(const std::string& name) const;
  // --now T if given (a non-negative integer), else the system clock.
  Result<std::int64_t> now() const;

 private:
  std::map<std::string, std::vector<std::string>> values_;
  std::set<std::string> flags_;
};

// Prints one JSON line on stdout: {"decision":"error","reason":"usage"|"io","detail":...},
// the detail on stderr too, and returns exit status 2.
int usageError(const Error& e, const char* program = "keyturn-agent");

}  // namespace keyturn::tools
