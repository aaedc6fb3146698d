// Catch2's implementation, compiled once for every test binary (keyturn_catch). It is the
// heaviest file in the tree to compile (about a minute at -O2); each binary used to build
// its own copy. Catch2 declares its Session only beside the implementation, so the mains
// call runCatch() from here.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "catch_run.h"

namespace keyturn::test {

int runCatch(int argc, char** argv) { return Catch::Session().run(argc, argv); }

}  // namespace keyturn::test
