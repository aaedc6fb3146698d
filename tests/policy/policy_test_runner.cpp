// keyturn_policy_tests <policy.lua> <policy_test.lua>
//
// Kept for running one pair by hand when the test file is not named after its policy;
// `keyturn policy test` (what ctest runs) does the same through the same core code
// (keyturn/policy_test_runner.h). Prints PASS/FAIL per test and a last line
// "N passed, N failed"; exits non-zero when anything failed or nothing ran.
#include "keyturn/policy_test_runner.h"

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: keyturn_policy_tests <policy.lua> <policy_test.lua>\n");
    return 2;
  }
  auto r =
      keyturn::policykit::runPolicyTestFile({argv[2], argv[1]}, {}, [](const keyturn::policykit::TestCaseResult& c) {
        std::printf("%s %s%s%s\n", c.passed ? "PASS" : "FAIL", c.name.c_str(), c.passed ? "" : ": ", c.message.c_str());
      });
  if (!r.error.empty()) std::printf("FAIL %s\n", r.error.c_str());
  std::printf("%d passed, %d failed\n", r.passed(), r.failed());
  return r.failed() == 0 && r.passed() > 0 ? 0 : 1;
}
