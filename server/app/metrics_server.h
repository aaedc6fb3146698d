// /metrics in the Prometheus text format on its own bind address (keyturn.metrics.bind,
// plain HTTP, off by default), optionally behind a bearer token (keyturn.metrics.
// token_file, 0600). Separate from the API listener so it can sit on an internal
// interface and be scraped without an admin session; it shows counts only, never
// request content. See docs/notifications.md#metrics.
#pragma once

#include <Poco/Net/HTTPServer.h>

#include <cstdint>
#include <memory>
#include <string>

#include "app/notification_worker.h"
#include "app/server_context.h"
#include "keyturn/result.h"

namespace Poco::Util {
class AbstractConfiguration;
}

namespace keyturn::server {

struct MetricsConfig {
  std::string bind;   // host:port; empty: no metrics listener
  std::string token;  // from token_file; empty: unauthenticated
  // keyturn.metrics.bind / keyturn.metrics.token_file; "malformed" / "insecure_permissions".
  static Result<MetricsConfig> load(const Poco::Util::AbstractConfiguration& p);
};

// The whole exposition. `worker` may be null (notifications off). "storage" when the
// database cannot be read.
Result<std::string> renderMetrics(ServerContext& context, const NotificationWorker* worker,
                                  std::int64_t now);

class MetricsServer {
 public:
  // Binds (port 0 picks one); "bind_failed" naming the address otherwise.
  static Result<std::unique_ptr<MetricsServer>> create(ServerContext& context,
                                                       const NotificationWorker* worker,
                                                       const MetricsConfig& config);
  ~MetricsServer();
  void start();
  void stop();
  int port() const { return port_; }

 private:
  MetricsServer() = default;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  int port_ = 0;
};

}  // namespace keyturn::server
