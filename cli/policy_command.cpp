// keyturn policy test|simulate|lint|diff: the policy authoring kit (issue 8).
#include <iostream>

#include "commands.h"
#include "keyturn/json.h"
#include "policy_cli.h"

namespace keyturn::cli {

namespace {

constexpr const char* kPolicyUsage =
    "usage: keyturn policy test [DIR|X_test.lua] [-o json]\n"
    "       keyturn policy simulate (--bundle FILE | --policies DIR) --action A --device-facts F|DIR\n"
    "                               --requester ID [--groups g1,g2] [--param k=v ...] [--targets N] [-o json]\n"
    "       keyturn policy lint [DIR|BUNDLE] [--known-action A ...] [-o json]\n"
    "       keyturn policy diff OLD NEW [--examples DIR] [-o json]\n"
    "  (each takes --help)\n";

}  // namespace

Result<PolicyParsed> parsePolicyCommand(int argc, char** argv, tools::ArgSpec spec, const char* help,
                                        std::size_t maxPositional) {
  std::vector<char*> rest(argv, argv + std::min(argc, 3));
  std::vector<std::string> positional;
  for (int i = 3; i < argc; ++i) {
    std::string arg = argv[i];
    std::string name = arg == "-o" ? "o" : arg.rfind("--", 0) == 0 ? arg.substr(2) : "";
    rest.push_back(argv[i]);
    if (name == "o" || spec.single.count(name)) {
      if (i + 1 < argc) rest.push_back(argv[++i]);
    } else if (spec.multiple.count(name)) {
      while (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) rest.push_back(argv[++i]);
    } else if (name.empty() && !arg.empty() && arg[0] != '-') {
      rest.pop_back();
      positional.push_back(arg);
    }
  }
  if (positional.size() > maxPositional) {
    std::cerr << "keyturn: unexpected argument \"" << positional[maxPositional] << "\"\n" << help;
    return Result<PolicyParsed>::fail("usage", "unexpected argument \"" + positional[maxPositional] + "\"");
  }
  auto p = parseCommand(static_cast<int>(rest.size()), rest.data(), std::move(spec), help);
  if (!p) return p.error();
  return PolicyParsed{std::move(p).value(), std::move(positional)};
}

std::string joined(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::string jsonStrings(const std::vector<std::string>& items) {
  std::string out = "[";
  for (const auto& s : items) out += (out.size() > 1 ? "," : "") + json::quote(s);
  return out + "]";
}

std::string jsonRequirements(const std::vector<Requirement>& requirements) {
  std::string out = "[";
  for (const auto& r : requirements)
    out += (out.size() > 1 ? "," : "") + std::string("{\"group\":") + json::quote(r.group) +
           ",\"approvals\":" + std::to_string(r.approvals) + ",\"policy\":" + json::quote(r.policy) + "}";
  return out + "]";
}

int policyCommand(int argc, char** argv) {
  std::string sub = argc > 2 ? argv[2] : "";
  if (sub == "test") return policyTest(argc, argv);
  if (sub == "simulate") return policySimulate(argc, argv);
  if (sub == "lint") return policyLint(argc, argv);
  if (sub == "diff") return policyDiff(argc, argv);
  if (sub == "--help" || sub == "-h") {
    std::cout << kPolicyUsage;
    return 0;
  }
  std::cerr << "keyturn: policy needs test, simulate, lint or diff\n" << kPolicyUsage;
  return 2;
}

}  // namespace keyturn::cli
