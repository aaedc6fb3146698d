// bench_coordinator (issue 3): the coordinator's three figures, one sub-mode each.
//   poll       agent polls per second on an idle queue (mutual TLS, keep-alive, 304),
//              next to a minimal Poco HTTPS handler measured in the same run
//   lifecycle  submit -> approve -> complete per second, every step durable, through the
//              service layer and through HTTPS against the real server
//   fanout     completing one request over 10,000 devices
//   notify     1,000 submissions in a burst with and without notifications (issue 7)
// Figures go to docs/performance.md; nothing here asserts a time.
#pragma once

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

namespace keyturn::bench {

struct Options {
  double seconds = 2.0;    // length of one measured run (poll, lifecycle)
  int rounds = 3;          // runs per configuration; the median is reported
  int devices = 10000;     // fanout
};

int runPoll(const Options& options);
int runLifecycle(const Options& options);
int runFanout(const Options& options);
int runNotify(const Options& options);

using Clock = std::chrono::steady_clock;

inline double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace keyturn::bench
