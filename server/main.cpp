// keyturn-server: wiring only. `init` prepares a data folder; `run` is the coordinator.
#include <cstring>
#include <iostream>
#include <vector>

#include "app/coordinator_application.h"
#include "app/init_command.h"

namespace {

constexpr const char* kUsage =
    "usage: keyturn-server init --data DIR --tenant NAME [--hostname H]\n"
    "       keyturn-server run --data DIR [--port N] [--log-format json|text]\n"
    "See docs/coordinator.md.\n";

}  // namespace

int main(int argc, char** argv) {
  const char* command = argc > 1 ? argv[1] : "";
  if (std::strcmp(command, "init") == 0)
    return keyturn::server::InitCommand::run(argc, argv, std::cout, std::cerr);
  if (std::strcmp(command, "run") == 0) {
    // Poco sees "keyturn-server --data ...": the program name, then run's options.
    std::vector<char*> args{argv[0]};
    args.insert(args.end(), argv + 2, argv + argc);
    try {
      keyturn::server::CoordinatorApplication app;
      return app.execute(static_cast<int>(args.size()), args.data());
    } catch (const std::exception& e) {
      std::cerr << "keyturn-server run: " << e.what() << "\n";
      return 64;
    }
  }
  if (std::strcmp(command, "--help") == 0 || std::strcmp(command, "-h") == 0) {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << kUsage;
  return 64;
}
