#include "command_args.h"

#include <chrono>
#include <iostream>

#include "keyturn/json.h"

namespace keyturn::tools {

Result<CommandArgs> CommandArgs::parse(int argc, char** argv, int first, const ArgSpec& spec) {
  CommandArgs a;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-o") arg = "--o";  // the one short option: -o json
    if (arg == "-h") arg = "--help";
    if (arg.rfind("--", 0) != 0) return Result<CommandArgs>::fail("usage", "unexpected argument \"" + arg + "\"");
    std::string name = arg.substr(2);
    if (spec.flags.count(name)) {
      a.flags_.insert(name);
    } else if (spec.single.count(name)) {
      if (i + 1 >= argc) return Result<CommandArgs>::fail("usage", "--" + name + " needs a value");
      if (a.values_.count(name)) return Result<CommandArgs>::fail("usage", "--" + name + " is given twice");
      a.values_[name].push_back(argv[++i]);
    } else if (spec.multiple.count(name)) {
      auto& v = a.values_[name];
      while (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) v.push_back(argv[++i]);
      if (v.empty()) return Result<CommandArgs>::fail("usage", "--" + name + " needs at least one value");
    } else {
      return Result<CommandArgs>::fail("usage", "unknown option \"" + arg + "\"");
    }
  }
  return a;
}

std::optional<std::string> CommandArgs::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second.front();
}

const std::vector<std::string>& CommandArgs::all(const std::string& name) const {
  static const std::vector<std::string> kNone;
  auto it = values_.find(name);
  return it == values_.end() ? kNone : it->second;
}

Result<std::string> CommandArgs::require(const std::string& name) const {
  auto v = get(name);
  if (!v) return Result<std::string>::fail("usage", "--" + name + " is required");
  return *v;
}

Result<std::int64_t> CommandArgs::now() const {
  auto v = get("now");
  if (!v) {
    return static_cast<std::int64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  }
  if (v->empty() || v->size() > 15 || v->find_first_not_of("0123456789") != std::string::npos)
    return Result<std::int64_t>::fail("usage", "--now must be Unix seconds (a non-negative integer), got \"" + *v + "\"");
  return static_cast<std::int64_t>(std::stoll(*v));
}

Result<std::optional<std::uint64_t>> CommandArgs::integer(const std::string& name) const {
  using R = Result<std::optional<std::uint64_t>>;
  auto v = get(name);
  if (!v) return std::optional<std::uint64_t>();
  if (v->empty() || v->size() > 15 || v->find_first_not_of("0123456789") != std::string::npos)
    return R::fail("usage", "--" + name + " must be a non-negative integer, got \"" + *v + "\"");
  return std::optional<std::uint64_t>(std::stoull(*v));
}

int usageError(const Error& e, const char* program) {
  std::cout << "{\"decision\":\"error\",\"reason\":" << json::quote(e.reason) << ",\"detail\":" << json::quote(e.detail)
            << "}" << std::endl;
  std::cerr << program << ": " << e.detail << std::endl;
  return 2;
}

}  // namespace keyturn::tools
