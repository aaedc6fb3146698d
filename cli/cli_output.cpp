#include "cli_output.h"
#include "keyturn/time_format.h"

#include <chrono>
#include <ctime>
#include <iostream>

#include "keyturn/json.h"

namespace keyturn::cli {

Result<Output> Output::from(const tools::CommandArgs& args) {
  Output o;
  auto mode = args.get("o");
  if (mode && *mode != "json" && *mode != "text")
    return Result<Output>::fail("usage", "-o takes json or text, got \"" + *mode + "\"");
  o.json_ = mode && *mode == "json";
  return o;
}

int Output::done(const std::string& text, const std::string& jsonObject) const {
  if (json_)
    std::cout << jsonObject << std::endl;
  else
    std::cout << text << (text.empty() || text.back() == '\n' ? "" : "\n");
  return 0;
}

int Output::fail(const Error& e) const {
  bool usage = e.reason == "usage" || e.reason == "io" || e.reason == "exists";
  // The online commands: the coordinator could not be reached, not trusted, or failed.
  bool unreachable = e.reason == "unreachable" || e.reason == "tls" || e.reason == "server_error";
  if (json_)
    std::cout << "{\"error\":" << json::quote(e.reason) << ",\"detail\":" << json::quote(e.detail)
              << "}" << std::endl;
  std::cerr << "keyturn: " << (usage ? "" : e.reason + ": ") << e.detail << std::endl;
  return usage ? 2 : unreachable ? 3 : 1;
}

Result<Parsed> parseCommand(int argc, char** argv, tools::ArgSpec spec, const char* help,
                            int first) {
  spec.single.insert("o");
  spec.flags.insert("help");
  auto args = tools::CommandArgs::parse(argc, argv, first, spec);
  if (!args) {
    std::cerr << "keyturn: " << args.detail() << "\n" << help;
    return args.error();
  }
  if (args->flag("help")) {
    std::cout << help;
    return Result<Parsed>::fail("help", "");
  }
  auto out = Output::from(args.value());
  if (!out) {
    std::cerr << "keyturn: " << out.detail() << "\n";
    return out.error();
  }
  return Parsed{std::move(args).value(), out.value()};
}

std::uint64_t nowSeconds() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

std::string isoTime(std::uint64_t t) { return utcTimestamp(static_cast<std::int64_t>(t)); }

Status addParams(const std::vector<std::string>& pairs, Poco::JSON::Object& o) {
  for (const auto& kv : pairs) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      return Status::fail("usage", "--param takes KEY=VALUE, got \"" + kv + "\"");
    std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
    if (o.has(k)) return Status::fail("usage", "--param " + k + " is given twice");
    bool digits = !v.empty() && v.size() <= 15 &&
                  v.find_first_not_of("0123456789") == std::string::npos &&
                  (v == "0" || v[0] != '0');
    if (digits)
      o.set(k, static_cast<Poco::Int64>(std::stoll(v)));
    else if (v == "true" || v == "false")
      o.set(k, v == "true");
    else
      o.set(k, v);
  }
  return Status::ok();
}

}  // namespace keyturn::cli
