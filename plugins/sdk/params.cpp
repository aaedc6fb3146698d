#include "params.h"

#include <openssl/evp.h>

#include <sstream>

namespace keyturn::plugin {

Status onlyFields(const Poco::JSON::Object& params, const std::set<std::string>& allowed) {
  for (const auto& [name, value] : params) {
    if (!allowed.count(name)) return Status::fail("malformed", "unknown field '" + name + "'");
  }
  return Status::ok();
}

Result<std::string> stringField(const Poco::JSON::Object& params, const std::string& name) {
  if (!params.has(name)) return Result<std::string>::fail("malformed", "missing field '" + name + "'");
  const auto v = params.get(name);
  if (!v.isString()) return Result<std::string>::fail("malformed", "field '" + name + "' must be a string");
  return v.extract<std::string>();
}

Result<std::optional<std::string>> optionalString(const Poco::JSON::Object& params,
                                                  const std::string& name) {
  if (!params.has(name)) return std::optional<std::string>();
  auto s = stringField(params, name);
  if (!s) return s.error();
  return std::optional<std::string>(s.value());
}

Result<long long> intField(const Poco::JSON::Object& params, const std::string& name,
                           long long lo, long long hi, std::optional<long long> fallback) {
  if (!params.has(name)) {
    if (fallback) return *fallback;
    return Result<long long>::fail("malformed", "missing field '" + name + "'");
  }
  const auto v = params.get(name);
  if (!v.isInteger() || v.isBoolean()) {
    return Result<long long>::fail("malformed", "field '" + name + "' must be an integer");
  }
  long long n = 0;
  try {
    n = v.convert<Poco::Int64>();
  } catch (...) {
    return Result<long long>::fail("malformed", "field '" + name + "' must be an integer");
  }
  if (n < lo || n > hi) {
    return Result<long long>::fail("malformed", "field '" + name + "' out of range [" +
                                                    std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return n;
}

bool isLowerHex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string sha256Hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

std::vector<std::string> splitCommand(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::vector<std::string> splitList(const std::string& list) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    auto b = cur.find_first_not_of(" \t");
    auto e = cur.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(cur.substr(b, e - b + 1));
    cur.clear();
  };
  for (char c : list) {
    if (c == ',') flush(); else cur += c;
  }
  flush();
  return out;
}

std::string configValue(const PluginConfig& config, const std::string& key,
                        const std::string& fallback) {
  auto it = config.find(key);
  return it == config.end() ? fallback : it->second;
}

RunSpec commandSpec(Platform& platform, std::vector<std::string> argv, int timeout_s) {
  RunSpec spec;
  spec.argv = std::move(argv);
  spec.env["PATH"] = platform.commandPath();
  spec.env["LANG"] = "C";
  spec.timeout_s = timeout_s;
  return spec;
}

Outcome runToOutcome(Platform& platform, RunSpec spec) {
  RunResult r = platform.run(spec);
  Outcome o;
  o.exit_code = r.exit_code;
  o.output = std::move(r.output);
  o.truncated = r.truncated;
  if (r.timed_out) {
    o.reason = "timeout";
    o.detail = spec.argv[0] + " killed after " + std::to_string(spec.timeout_s) + " s";
  } else if (r.exit_code != 0) {
    o.reason = r.exit_code == -1 ? "not_started" : "command_failed";
    o.detail = spec.argv[0] + " exited with " + std::to_string(r.exit_code);
  } else {
    o.state = Outcome::State::succeeded;
  }
  return o;
}

}  // namespace keyturn::plugin
