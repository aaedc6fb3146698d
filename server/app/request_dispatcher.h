// The one HTTPRequestHandler of the coordinator. It times and logs every request,
// refuses /api/v1 while no trust bundle is accepted, routes, and turns every failure —
// HttpError from a handler, an unknown route, a wrong method, any exception — into the
// single JSON error shape (http_error.h).
#pragma once

#include <Poco/Net/HTTPRequestHandler.h>

#include "app/server_context.h"

namespace keyturn::server {

// Path prefix of the API that needs a trust bundle.
inline constexpr const char* kApiPrefix = "/api/v1/";

class RequestDispatcher : public Poco::Net::HTTPRequestHandler {
 public:
  explicit RequestDispatcher(ServerContext& context) : context_(context) {}

  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override;

 private:
  // Routing and the bundle gate; may throw anything.
  // `route` receives the matched route's pattern (for metrics).
  void dispatch(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
                const std::string& path, std::string& route);
  ServerContext& context_;
};

}  // namespace keyturn::server
