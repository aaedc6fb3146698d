#include "app/system_routes.h"

#include <ctime>
#include <string>

#include "app/http_error.h"

namespace keyturn::server {

void addSystemRoutes(ServerContext& context) {
  context.router.add(
      "GET", "/healthz",
      [&context](Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse& response,
                 const PathParams&) {
        std::uint64_t version = context.bundle.version(std::time(nullptr));
        sendJson(response, Poco::Net::HTTPResponse::HTTP_OK,
                 "{\"status\":\"ok\",\"bundle_version\":" + std::to_string(version) + "}");
      });
}

}  // namespace keyturn::server
