#include "app/openapi_document.h"

namespace keyturn::server {

void addOpenApiRoute(ServerContext &context) {
  context.router.add(
      "GET", "/api/v1/openapi.yaml",
      [](Poco::Net::HTTPServerRequest &,
         Poco::Net::HTTPServerResponse &response, const PathParams &) {
        std::string_view text = openApiDocument();
        response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_OK);
        response.setContentType("application/yaml");
        response.setContentLength(static_cast<std::streamsize>(text.size()));
        response.send().write(text.data(),
                              static_cast<std::streamsize>(text.size()));
      });
}

} // namespace keyturn::server
