// What every request handler shares: the configuration, the log, the trust state and
// the store. Built once at startup and owned by the application; handlers hold
// references only.
#pragma once

#include "app/bundle_state.h"
#include "app/delivery_notifier.h"
#include "app/http_metrics.h"
#include "app/idle_polls.h"
#include "app/log_sink.h"
#include "app/router.h"
#include "app/server_config.h"
#include "store/store.h"
#include "tls/certificate_authority.h"

#include <memory>

namespace keyturn::server {

struct ServerContext {
  ServerConfig config;
  LogSink& log;
  BundleState bundle;
  Router router;
  std::unique_ptr<Store> store;  // open for the whole run; thread-safe
  // The private CA: issues device certificates at enrollment, names the device of a
  // verified client certificate. Null only in tests that register routes without one.
  std::unique_ptr<tls::CertificateAuthority> ca;
  // Wakes agents' long polls; the workflow calls notifyDevice() after a completion.
  DeliveryNotifier deliveries;
  // Requests by method, route and status, for /metrics.
  HttpMetrics http;
  // Devices whose last poll found nothing queued: their next idle poll within a second
  // is answered from memory (see IdlePolls for what invalidates an entry).
  IdlePolls idlePolls;
};

}  // namespace keyturn::server
