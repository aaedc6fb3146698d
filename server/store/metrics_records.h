// What /metrics reads from the database in one pass (sqlite_store_metrics.cpp). Counts
// only: no request content.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace keyturn::server {

struct StoreMetrics {
  std::map<std::string, std::int64_t> requestsByState;
  std::int64_t approvals = 0;   // approver signatures
  std::int64_t rejections = 0;
  std::int64_t tokensIssued = 0;
  std::map<std::string, std::int64_t> targetsByState;
  std::map<std::pair<std::string, std::string>, std::int64_t> resultsByActionOutcome;
  std::vector<std::int64_t> timeToApprove;   // seconds: created -> last approval
  std::vector<std::int64_t> timeToComplete;  // seconds: created -> completion
  std::int64_t devicesActive = 0;
  std::int64_t devicesNeverSeen = 0;
  std::vector<std::int64_t> lastContact;  // Unix seconds, per active device that was seen
};

}  // namespace keyturn::server
