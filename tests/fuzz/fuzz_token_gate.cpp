// libFuzzer target: arbitrary bytes through the whole token gate (all 15 steps) against
// a fixed tenant. Any crash, leak or sanitizer report is a bug; a refusal is expected.
//
// With KEYTURN_WRITE_SEEDS=DIR set, writes valid tokens of the fixed tenant to DIR and
// exits, so the seed corpus can be regenerated.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "../unit/fixtures.h"
#include "keyturn/token_gate.h"

using namespace keyturn;
using namespace keyturn::test;

namespace {
struct Fixture {
  Tenant tenant;
  AcceptedBundle bundle = tenant.v1();
  TokenGate gate{bundle.bundle, *bundle.engine, nullptr};
};
Fixture* fixture = nullptr;

void writeSeeds(const char* dir) {
  TokenSpec wipe;
  TokenSpec personal;
  personal.approvers = {"carol", "dave"};
  TokenSpec many;
  many.targets.clear();
  for (int i = 0; i < 40; ++i) many.targets.push_back("dev-" + std::to_string(i));
  many.device = "dev-17";
  int n = 0;
  for (const auto* s : {&wipe, &personal, &many}) {
    std::ofstream(std::string(dir) + "/seed-" + std::to_string(n++) + ".json") << makeToken(fixture->tenant, *s);
  }
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fixture = new Fixture();
  if (const char* dir = std::getenv("KEYTURN_WRITE_SEEDS")) {
    writeSeeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view token(reinterpret_cast<const char*>(data), size);
  for (const char* ownership : {"corporate", "personal"}) {
    auto r = fixture->gate.check(token, device("dev-2", ownership), kNow);
    if (!r && r.reason().empty()) std::abort();  // every refusal names its reason
  }
  return 0;
}
