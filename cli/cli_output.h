// How `keyturn` answers: readable lines by default, one JSON object with `-o json`.
// Errors go to stderr (and, with -o json, as {"error":REASON,"detail":...} to stdout).
#pragma once

#include <Poco/JSON/Object.h>

#include <string>
#include <vector>

#include "command_args.h"
#include "keyturn/result.h"

namespace keyturn::cli {

class Output {
 public:
  // Reads -o (text|json) from parsed arguments; anything else is a usage error.
  static Result<Output> from(const tools::CommandArgs& args);
  bool json() const { return json_; }

  // Prints `text` (text mode) or `jsonObject` (json mode); returns 0.
  int done(const std::string& text, const std::string& jsonObject) const;
  // A check failed: exit 1. A usage or I/O error: exit 2 (reason "usage" or "io").
  // The coordinator unreachable, untrusted or failing: exit 3 ("unreachable", "tls",
  // "server_error").
  int fail(const Error& e) const;

 private:
  bool json_ = false;
};

// Parses the arguments from argv[first] on (3 for `keyturn GROUP SUB`), printing help and returning
// it when asked. On a usage error prints it and sets `exitCode`.
struct Parsed {
  tools::CommandArgs args;
  Output out;
};
Result<Parsed> parseCommand(int argc, char** argv, tools::ArgSpec spec, const char* help,
                            int first = 3);

// Seconds since the epoch.
std::uint64_t nowSeconds();
// Unix seconds as ISO-8601 UTC.
std::string isoTime(std::uint64_t t);

// --param K=V ... added to `params`: integers and booleans keep their JSON type, anything
// else is a string. "usage" for a malformed pair or a key given twice.
Status addParams(const std::vector<std::string>& pairs, Poco::JSON::Object& params);

}  // namespace keyturn::cli
