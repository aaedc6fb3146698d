// main() for the test binaries that talk TLS through Poco (keyturn_catch_ssl_main): the
// SSL manager is initialised around the whole session.
#include <Poco/Net/SSLManager.h>

#include "catch_run.h"

int main(int argc, char** argv) {
  Poco::Net::initializeSSL();
  int rc = keyturn::test::runCatch(argc, argv);
  Poco::Net::uninitializeSSL();
  return rc;
}
