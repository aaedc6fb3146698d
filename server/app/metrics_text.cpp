#include "app/metrics_text.h"

#include <cmath>
#include <cstdio>

namespace keyturn::server::metrics {

void header(std::ostream& out, const std::string& name, const std::string& type,
            const std::string& help) {
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
}

std::string labels(const std::vector<std::pair<std::string, std::string>>& pairs) {
  if (pairs.empty()) return "";
  std::string out = "{";
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    out += (i ? "," : "") + pairs[i].first + "=\"";
    for (char c : pairs[i].second) {
      if (c == '\\') out += "\\\\";
      else if (c == '"') out += "\\\"";
      else if (c == '\n') out += "\\n";
      else out += c;
    }
    out += "\"";
  }
  return out + "}";
}

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

void histogram(std::ostream& out, const std::string& name, const std::string& help,
               const std::vector<double>& bounds, const std::vector<std::int64_t>& values) {
  header(out, name, "histogram", help);
  double sum = 0;
  for (auto v : values) sum += static_cast<double>(v);
  for (double b : bounds) {
    std::uint64_t n = 0;
    for (auto v : values) n += static_cast<double>(v) <= b ? 1 : 0;
    out << name << "_bucket" << labels({{"le", number(b)}}) << " " << n << "\n";
  }
  out << name << "_bucket{le=\"+Inf\"} " << values.size() << "\n"
      << name << "_sum " << number(sum) << "\n"
      << name << "_count " << values.size() << "\n";
}

}  // namespace keyturn::server::metrics
