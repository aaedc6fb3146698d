// The one error shape of the HTTP API, {"error": reason, "detail": text}, and the one
// place that writes it (and every other JSON body). Handlers throw HttpError; the
// dispatcher catches it and everything else, so no handler writes an error by hand.
#pragma once

#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <stdexcept>
#include <string>

namespace keyturn::server {

class HttpError : public std::runtime_error {
 public:
  HttpError(Poco::Net::HTTPResponse::HTTPStatus status, std::string reason, std::string detail)
      : std::runtime_error(detail),
        status_(status),
        reason_(std::move(reason)),
        detail_(std::move(detail)) {}

  Poco::Net::HTTPResponse::HTTPStatus status() const { return status_; }
  const std::string& reason() const { return reason_; }
  const std::string& detail() const { return detail_; }

  // Writes {"error","detail"} with `status`. The response must not be sent yet.
  static void send(Poco::Net::HTTPServerResponse& response,
                   Poco::Net::HTTPResponse::HTTPStatus status, const std::string& reason,
                   const std::string& detail);
  void send(Poco::Net::HTTPServerResponse& response) const {
    send(response, status_, reason_, detail_);
  }

 private:
  Poco::Net::HTTPResponse::HTTPStatus status_;
  std::string reason_;
  std::string detail_;
};

// Sends `body` (JSON text) with `status`, Content-Type application/json, a length and
// Cache-Control: no-store (nothing the API says should sit in a cache).
void sendJson(Poco::Net::HTTPServerResponse& response, Poco::Net::HTTPResponse::HTTPStatus status,
              const std::string& body);

}  // namespace keyturn::server
