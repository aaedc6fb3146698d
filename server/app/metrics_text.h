// Helpers for the Prometheus text exposition format (version 0.0.4).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace keyturn::server::metrics {

// `# HELP name help` and `# TYPE name type`.
void header(std::ostream& out, const std::string& name, const std::string& type,
            const std::string& help);
// {a="x",b="y"} with values escaped (backslash, quote, newline); "" when empty.
std::string labels(const std::vector<std::pair<std::string, std::string>>& pairs);
// A float as Prometheus reads it (no locale, "+Inf" for infinity).
std::string number(double v);
// A histogram of `values` over `bounds` (ascending, +Inf added): _bucket, _sum, _count.
void histogram(std::ostream& out, const std::string& name, const std::string& help,
               const std::vector<double>& bounds, const std::vector<std::int64_t>& values);

}  // namespace keyturn::server::metrics
