#include "app/http_metrics.h"

#include <cstdio>
#include <sstream>

#include "app/metrics_text.h"

namespace keyturn::server {

void HttpMetrics::record(const std::string& method, const std::string& route, int status,
                         double seconds) {
  // Only known methods and routes become labels, so a scanner cannot grow the series.
  static const char* kMethods[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"};
  std::string m = "other";
  for (const char* k : kMethods)
    if (method == k) m = k;
  std::lock_guard<std::mutex> lock(mutex_);
  Cell& c = cells_[{m, route.empty() ? "unmatched" : route, status}];
  ++c.count;
  c.seconds += seconds;
}

std::string HttpMetrics::exposition() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::ostringstream out;
  metrics::header(out, "keyturn_http_requests_total", "counter",
                  "HTTP requests answered, by method, route and status.");
  for (const auto& [k, c] : cells_)
    out << "keyturn_http_requests_total"
        << metrics::labels({{"method", std::get<0>(k)}, {"route", std::get<1>(k)},
                            {"status", std::to_string(std::get<2>(k))}})
        << " " << c.count << "\n";
  std::map<std::pair<std::string, std::string>, Cell> byRoute;
  for (const auto& [k, c] : cells_) {
    Cell& r = byRoute[{std::get<0>(k), std::get<1>(k)}];
    r.count += c.count;
    r.seconds += c.seconds;
  }
  metrics::header(out, "keyturn_http_request_duration_seconds", "summary",
                  "Time to answer HTTP requests, by method and route.");
  for (const auto& [k, c] : byRoute) {
    std::string l = metrics::labels({{"method", k.first}, {"route", k.second}});
    out << "keyturn_http_request_duration_seconds_sum" << l << " " << metrics::number(c.seconds)
        << "\n"
        << "keyturn_http_request_duration_seconds_count" << l << " " << c.count << "\n";
  }
  return out.str();
}

}  // namespace keyturn::server
