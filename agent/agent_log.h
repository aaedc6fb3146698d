// The agent's log: one line per event on stderr, plain text or one JSON object per line
// (ts, level, msg, then the event's fields). Lines are written whole under a mutex.
#pragma once

#include <cstdint>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace keyturn::agent {

struct LogField {
  std::string key;
  std::string json;  // the value as JSON text, so numbers stay numbers
  static LogField str(std::string key, std::string_view value);
  static LogField num(std::string key, std::int64_t value);
};

class AgentLog {
 public:
  // `out` must outlive the log. `json` selects JSON lines.
  AgentLog(std::ostream& out, bool json) : out_(out), json_(json) {}

  void info(std::string_view msg, const std::vector<LogField>& fields = {}) { write("info", msg, fields); }
  void warn(std::string_view msg, const std::vector<LogField>& fields = {}) { write("warn", msg, fields); }
  void error(std::string_view msg, const std::vector<LogField>& fields = {}) { write("error", msg, fields); }
  void write(std::string_view level, std::string_view msg, const std::vector<LogField>& fields);

 private:
  std::ostream& out_;
  bool json_;
  std::mutex mutex_;
};

}  // namespace keyturn::agent
