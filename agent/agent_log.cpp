#include "agent_log.h"

#include <chrono>
#include <ctime>

#include "keyturn/json.h"

namespace keyturn::agent {

LogField LogField::str(std::string key, std::string_view value) { return {std::move(key), json::quote(value)}; }
LogField LogField::num(std::string key, std::int64_t value) { return {std::move(key), std::to_string(value)}; }

void AgentLog::write(std::string_view level, std::string_view msg, const std::vector<LogField>& fields) {
  using namespace std::chrono;
  auto now = system_clock::now();
  std::time_t secs = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char ts[96];
  std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  std::string line;
  if (json_) {
    line = "{\"ts\":\"" + std::string(ts) + "\",\"level\":" + json::quote(level) + ",\"msg\":" + json::quote(msg);
    for (const auto& f : fields) line += "," + json::quote(f.key) + ":" + f.json;
    line += "}\n";
  } else {
    line = std::string(ts) + " " + std::string(level) + " " + std::string(msg);
    for (const auto& f : fields) line += " " + f.key + "=" + f.json;
    line += "\n";
  }
  std::lock_guard<std::mutex> lock(mutex_);
  out_ << line << std::flush;
}

}  // namespace keyturn::agent
