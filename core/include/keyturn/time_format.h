// Times for people and for machine-readable records: one formatter for every part.
#pragma once

#include <cstdint>
#include <string>

namespace keyturn {

// Seconds since the epoch as RFC 3339 UTC, e.g. "2026-11-29T12:00:00Z".
std::string utcTimestamp(std::int64_t seconds);

}  // namespace keyturn
