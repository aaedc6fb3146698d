// Catch2 runner for the end-to-end tests; NetSSL is initialised once here.
#define CATCH_CONFIG_RUNNER
#include <Poco/Net/SSLManager.h>

#include <catch2/catch.hpp>

int main(int argc, char** argv) {
  Poco::Net::initializeSSL();
  int rc = Catch::Session().run(argc, argv);
  Poco::Net::uninitializeSSL();
  return rc;
}
