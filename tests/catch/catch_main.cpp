// main() for the test binaries that need nothing set up first (keyturn_catch_main).
#include "catch_run.h"

int main(int argc, char** argv) { return keyturn::test::runCatch(argc, argv); }
