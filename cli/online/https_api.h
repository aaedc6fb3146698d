// The HTTPS transport of the online commands: Poco NetSSL trusting only the CA file the
// admin names (never the system store), TLS 1.2 or later, the server's hostname checked
// against its certificate, one keep-alive connection per process. Every failure is a
// keyturn::Error a person can act on; nothing here logs a header or a body.
#pragma once

#include <Poco/JSON/Object.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPSClientSession.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "keyturn/result.h"

namespace keyturn::cli {

struct ApiReply {
  int status = 0;
  std::string body;
  Poco::JSON::Object::Ptr json;  // the body as a strict JSON object, null when it is not one
};

class HttpsApi {
 public:
  // `server` is https://HOST[:PORT] (no path). Reason "usage" for another scheme or a
  // CA file that does not exist; "tls" when the CA file cannot be loaded.
  static Result<std::unique_ptr<HttpsApi>> open(const std::string& server,
                                                const std::string& caFile);

  // One call. `bearer` is sent as Authorization: Bearer when not empty; `body` (JSON)
  // with Content-Type application/json when not empty. Any HTTP status is a reply;
  // transport failures are errors: "unreachable" (refused, no route, timeout, unknown
  // host) and "tls" (certificate not trusted, wrong name, handshake refused).
  Result<ApiReply> call(const std::string& method, const std::string& path,
                        const std::string& body = "", const std::string& bearer = "");

  // A request body: its type, exact length and a writer that streams it (false when it
  // cannot read its source: the call then fails "io").
  struct RequestBody {
    std::string contentType;  // empty: no body
    std::uint64_t length = 0;
    std::function<bool(std::ostream&)> write;
  };
  // call() with any body (an artifact upload streams a file).
  Result<ApiReply> send(const std::string& method, const std::string& path,
                        const RequestBody& body, const std::string& bearer = "");

  const std::string& server() const { return server_; }

 private:
  HttpsApi() = default;
  std::string server_;
  std::string host_;
  unsigned short port_ = 443;
  Poco::Net::Context::Ptr context_;
  std::unique_ptr<Poco::Net::HTTPSClientSession> session_;
};

// The error of a non-2xx reply: the server's {"error","detail"} with a hint for a
// person appended ("run keyturn login", "ask for the role ..."). 5xx keeps reason
// "server_error" unless the server named one.
Error replyError(const ApiReply& reply);

}  // namespace keyturn::cli
