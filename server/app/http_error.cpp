#include "app/http_error.h"

#include <ostream>

#include "keyturn/json.h"

namespace keyturn::server {

void HttpError::send(Poco::Net::HTTPServerResponse& response,
                     Poco::Net::HTTPResponse::HTTPStatus status, const std::string& reason,
                     const std::string& detail) {
  sendJson(response, status,
           "{\"error\":" + json::quote(reason) + ",\"detail\":" + json::quote(detail) + "}");
}

void sendJson(Poco::Net::HTTPServerResponse& response, Poco::Net::HTTPResponse::HTTPStatus status,
              const std::string& body) {
  response.setStatusAndReason(status);
  response.setContentType("application/json");
  response.set("Cache-Control", "no-store");
  response.setContentLength(static_cast<std::streamsize>(body.size()));
  response.send() << body;
}

}  // namespace keyturn::server
