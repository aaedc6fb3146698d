// Runs the Catch2 session of a test binary (tests/catch/catch_impl.cpp).
#pragma once

namespace keyturn::test {

int runCatch(int argc, char** argv);

}  // namespace keyturn::test
