// What every request handler shares: the configuration, the log and the trust state.
// Built once at startup and owned by the application; handlers hold references only.
#pragma once

#include "app/bundle_state.h"
#include "app/log_sink.h"
#include "app/router.h"
#include "app/server_config.h"

namespace keyturn::server {

struct ServerContext {
  ServerConfig config;
  LogSink& log;
  BundleState bundle;
  Router router;
};

}  // namespace keyturn::server
