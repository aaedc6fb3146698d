// bench_coordinator [poll|lifecycle|fanout|notify|all] [--seconds S] [--rounds N] [--devices N]
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "bench_coordinator.h"

int main(int argc, char** argv) {
  using namespace keyturn::bench;
  Options options;
  std::string mode = "all";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool hasValue = i + 1 < argc;
    if (a == "--seconds" && hasValue) options.seconds = std::atof(argv[++i]);
    else if (a == "--rounds" && hasValue) options.rounds = std::atoi(argv[++i]);
    else if (a == "--devices" && hasValue) options.devices = std::atoi(argv[++i]);
    else if (a == "poll" || a == "lifecycle" || a == "fanout" || a == "notify" || a == "all") mode = a;
    else {
      std::fprintf(stderr,
                   "usage: bench_coordinator [poll|lifecycle|fanout|notify|all] [--seconds S] "
                   "[--rounds N] [--devices N]\n");
      return 64;
    }
  }
  try {
    int rc = 0;
    if (mode == "poll" || mode == "all") rc |= runPoll(options);
    if (mode == "lifecycle" || mode == "all") rc |= runLifecycle(options);
    if (mode == "fanout" || mode == "all") rc |= runFanout(options);
    if (mode == "notify" || mode == "all") rc |= runNotify(options);
    return rc;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_coordinator: %s\n", e.what());
    return 1;
  }
}
