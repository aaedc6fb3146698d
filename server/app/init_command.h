// `keyturn-server init --data DIR --tenant NAME [--hostname H]`: makes a data folder
// the server can run from — the issuer key, a private CA, a server certificate and the
// config — and says what the admins must do next (the bundle ceremony).
#pragma once

#include <iosfwd>
#include <string>

#include "app/server_config.h"
#include "keyturn/result.h"

namespace keyturn::server {

class InitCommand {
 public:
  // Creates DIR (0700) and writes issuer.key + issuer.pub.json, ca.key + ca.pem,
  // server.key + server.pem and keyturn-server.properties. Refuses (reason
  // "already_initialized") a folder that holds a config or any of these files, so a
  // second init can never replace a key; "usage" on a bad tenant or hostname.
  static Result<ServerConfig> initialize(const std::string& dataDir, const std::string& tenant,
                                         const std::string& hostname);

  // The command line: argv[0] is the program, argv[1] is "init". Prints the summary and
  // next steps to `out`, errors to `err`; returns 0, 1 (refused) or 2 (usage).
  static int run(int argc, char** argv, std::ostream& out, std::ostream& err);
};

}  // namespace keyturn::server
