// The coordinator's log: one line per event on stderr, either one JSON object per line
// (`--log-format json`: ts, level, msg, then the event's fields) or plain text. Lines
// are written whole under a mutex, so concurrent request threads never interleave.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace keyturn::server {

// One field of a log line; the value is kept as JSON text so numbers stay numbers.
struct LogField {
  std::string key;
  std::string json;
  static LogField str(std::string key, std::string_view value);
  static LogField num(std::string key, std::int64_t value);
  static LogField real(std::string key, double value);
};

class LogSink {
 public:
  enum class Format { kJson, kText };

  // Writes to `out` (std::cerr in the server, a string stream in tests), which must
  // outlive the sink.
  LogSink(Format format, std::ostream& out) : format_(format), out_(out) {}

  // Parses "json" or "text"; false for anything else.
  static bool parseFormat(std::string_view text, Format& format);

  void info(std::string_view msg, const std::vector<LogField>& fields = {}) {
    write("info", msg, fields);
  }
  void warn(std::string_view msg, const std::vector<LogField>& fields = {}) {
    write("warn", msg, fields);
  }
  void error(std::string_view msg, const std::vector<LogField>& fields = {}) {
    write("error", msg, fields);
  }
  void write(std::string_view level, std::string_view msg, const std::vector<LogField>& fields);

 private:
  Format format_;
  std::ostream& out_;
  std::mutex mutex_;
};

}  // namespace keyturn::server
