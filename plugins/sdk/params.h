// Helpers every plugin uses to check params strictly and to read its configuration.
#pragma once

#include <Poco/JSON/Object.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "keyturn/plugin.h"

namespace keyturn::plugin {

// Refuses any field of `params` not in `allowed` ("malformed", detail names the field).
Status onlyFields(const Poco::JSON::Object& params, const std::set<std::string>& allowed);
// A required/optional string field; a non-string is refused naming the field.
Result<std::string> stringField(const Poco::JSON::Object& params, const std::string& name);
Result<std::optional<std::string>> optionalString(const Poco::JSON::Object& params,
                                                  const std::string& name);
// An integer field within [lo, hi].
Result<long long> intField(const Poco::JSON::Object& params, const std::string& name,
                           long long lo, long long hi, std::optional<long long> fallback);
bool isLowerHex64(const std::string& s);
std::string sha256Hex(const std::string& data);

// A configured command line split on spaces (no shell, no quoting). Empty if unset.
std::vector<std::string> splitCommand(const std::string& line);
std::vector<std::string> splitList(const std::string& list);  // comma separated, trimmed
std::string configValue(const PluginConfig& config, const std::string& key,
                        const std::string& fallback);

// Runs `argv` with the platform's PATH and maps the result onto an Outcome.
Outcome runToOutcome(Platform& platform, RunSpec spec);
RunSpec commandSpec(Platform& platform, std::vector<std::string> argv, int timeout_s);

}  // namespace keyturn::plugin
