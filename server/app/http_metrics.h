// Counts of the coordinator's HTTP requests by method, route pattern (not the path:
// ids would make every request its own series) and status, with their total duration,
// for /metrics. Thread-safe; recording is one map update under a mutex.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace keyturn::server {

class HttpMetrics {
 public:
  // `route` is the matched pattern ("/api/v1/requests/{id}"), empty when none matched.
  void record(const std::string& method, const std::string& route, int status, double seconds);
  // keyturn_http_requests_total and keyturn_http_request_duration_seconds (summary) in
  // the Prometheus text format.
  std::string exposition() const;

 private:
  struct Cell {
    std::uint64_t count = 0;
    double seconds = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, Cell> cells_;
};

}  // namespace keyturn::server
