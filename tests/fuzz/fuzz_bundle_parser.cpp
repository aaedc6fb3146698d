// libFuzzer target: arbitrary bytes as a trust bundle file, through the parser and the
// init acceptance checks (signatures, thresholds), and as an update of a fixed bundle.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "../unit/fixtures.h"
#include "keyturn/bundle_verifier.h"

using namespace keyturn;
using namespace keyturn::test;

namespace {
Tenant* tenant = nullptr;
TrustBundle* current = nullptr;
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tenant = new Tenant();
  current = new TrustBundle(tenant->v1().bundle);
  if (const char* dir = std::getenv("KEYTURN_WRITE_SEEDS")) {
    std::ofstream(std::string(dir) + "/seed-v1.json") << tenant->sign(tenant->draft(1), {"alice", "bob"});
    std::ofstream(std::string(dir) + "/seed-v2.json") << tenant->sign(tenant->draft(2), {"bob", "carol"});
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view file(reinterpret_cast<const char*>(data), size);
  AcceptOptions options{kNow, true, {}};
  auto a = acceptInitialBundle(file, std::nullopt, options);
  if (!a && a.reason().empty()) std::abort();
  auto b = acceptBundleUpdate(*current, file, options);
  if (!b && b.reason().empty()) std::abort();
  return 0;
}
