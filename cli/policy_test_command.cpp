// keyturn policy test [DIR|X_test.lua]: runs policy unit tests (keyturn/policy_test_runner.h).
#include <iostream>

#include "keyturn/json.h"
#include "keyturn/policy_test_runner.h"
#include "policy_cli.h"

namespace keyturn::cli {

namespace {

constexpr const char* kTestHelp =
    "usage: keyturn policy test [DIR|X_test.lua] [-o json]\n"
    "  Runs every X_test.lua under DIR (default ./policies, searched recursively) against the\n"
    "  X.lua beside it, through the agent's own policy sandbox. Prints PASS/FAIL per test (a\n"
    "  failure with its file:line) and last \"N passed, N failed\". Exit 0 when every test\n"
    "  passed, 1 when any failed or none ran, 2 on a usage error or a missing folder.\n";

std::string caseJson(const policykit::TestCaseResult& c) {
  return "{\"name\":" + json::quote(c.name) + ",\"passed\":" + (c.passed ? "true" : "false") +
         ",\"message\":" + json::quote(c.message) + "}";
}

}  // namespace

int policyTest(int argc, char** argv) {
  auto p = parsePolicyCommand(argc, argv, {}, kTestHelp, 1);
  if (!p) return p.reason() == "help" ? 0 : 2;
  const Output& out = p->parsed.out;
  std::string path = p->positional.empty() ? "policies" : p->positional[0];
  auto files = policykit::discoverPolicyTests(path);
  if (!files) return out.fail(files.error());

  int passed = 0, failed = 0;
  std::string filesJson;
  for (const auto& f : files.value()) {
    if (!out.json()) std::cout << f.testPath << std::endl;
    auto r = policykit::runPolicyTestFile(f, {}, [&](const policykit::TestCaseResult& c) {
      if (!out.json())
        std::cout << (c.passed ? "  PASS " : "  FAIL ") << c.name << (c.passed ? "" : ": " + c.message) << std::endl;
    });
    if (!r.error.empty() && !out.json()) std::cout << "  FAIL " << r.error << std::endl;
    passed += r.passed();
    failed += r.failed();
    std::string cases;
    for (const auto& c : r.cases) cases += (cases.empty() ? "" : ",") + caseJson(c);
    filesJson += (filesJson.empty() ? "" : ",") + std::string("{\"test\":") + json::quote(f.testPath) +
                 ",\"policy\":" + json::quote(f.policyPath) + ",\"error\":" + json::quote(r.error) +
                 ",\"passed\":" + std::to_string(r.passed()) + ",\"failed\":" + std::to_string(r.failed()) +
                 ",\"tests\":[" + cases + "]}";
  }
  std::string summary = std::to_string(passed) + " passed, " + std::to_string(failed) + " failed";
  out.done(summary, "{\"files\":[" + filesJson + "],\"passed\":" + std::to_string(passed) +
                        ",\"failed\":" + std::to_string(failed) + "}");
  return failed == 0 && passed > 0 ? 0 : 1;
}

}  // namespace keyturn::cli
