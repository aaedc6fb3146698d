#include "app/log_sink.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <ostream>

#include "keyturn/json.h"

namespace keyturn::server {
namespace {

// RFC 3339 UTC with milliseconds, e.g. 2025-01-31T12:00:00.123Z.
std::string timestamp() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  struct tm t {};
  gmtime_r(&secs, &t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900,
                t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

}  // namespace

LogField LogField::str(std::string key, std::string_view value) {
  return LogField{std::move(key), json::quote(value)};
}

LogField LogField::num(std::string key, std::int64_t value) {
  return LogField{std::move(key), std::to_string(value)};
}

LogField LogField::real(std::string key, double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", value);
  return LogField{std::move(key), buf};
}

bool LogSink::parseFormat(std::string_view text, Format& format) {
  if (text == "json")
    format = Format::kJson;
  else if (text == "text")
    format = Format::kText;
  else
    return false;
  return true;
}

void LogSink::write(std::string_view level, std::string_view msg,
                    const std::vector<LogField>& fields) {
  std::string line;
  if (format_ == Format::kJson) {
    line = "{\"ts\":" + json::quote(timestamp()) + ",\"level\":" + json::quote(level) +
           ",\"msg\":" + json::quote(msg);
    for (const LogField& f : fields) line += "," + json::quote(f.key) + ":" + f.json;
    line += "}\n";
  } else {
    line = timestamp() + " " + std::string(level) + " " + std::string(msg);
    for (const LogField& f : fields) line += " " + f.key + "=" + f.json;
    line += "\n";
  }
  std::lock_guard<std::mutex> lock(mutex_);
  out_ << line << std::flush;
}

}  // namespace keyturn::server
