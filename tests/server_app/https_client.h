// A small HTTPS client for the tests: Poco's HTTPSClientSession trusting only the
// data folder's ca.pem (strict verification, so a wrong server certificate fails),
// and a raw OpenSSL handshake for probing protocol versions and cipher suites.
#pragma once

#include <Poco/Net/Context.h>

#include <map>
#include <string>

namespace keyturn::test {

struct HttpReply {
  int status = 0;
  std::string contentType;
  std::string allow;
  std::string etag;
  std::string body;
  std::map<std::string, std::string> headers;  // every response header, by name as sent
};

using Headers = std::map<std::string, std::string>;

class HttpsClient {
 public:
  // With `clientCert` and `clientKey` (PEM files) the client presents that certificate
  // (mutual TLS, as an agent does).
  HttpsClient(const std::string& caFile, int port, const std::string& clientCert = "",
              const std::string& clientKey = "");
  // A body is sent as application/json unless `headers` names another Content-Type.
  HttpReply send(const std::string& method, const std::string& path, const std::string& body = "",
                 const Headers& headers = {});

 private:
  Poco::Net::Context::Ptr context_;
  int port_;
};

// Opens a TCP connection to 127.0.0.1:port and runs a TLS handshake restricted to
// `version` (e.g. TLS1_1_VERSION) and, when given, the TLS 1.2 cipher list `ciphers`
// and a client certificate and key (PEM files). True when the handshake completed.
bool tlsHandshake(int port, int version, const std::string& ciphers = "",
                  const std::string& clientCert = "", const std::string& clientKey = "");

}  // namespace keyturn::test
