// A raw HTTPS client for what the CLI would never send (tampered targets, a payload
// without justification) and for the agent's side (mutual TLS with an enrolled
// device's certificate). Trusts only the coordinator's CA.
#pragma once

#include <Poco/JSON/Object.h>
#include <Poco/Net/Context.h>

#include <string>

namespace keyturn::test {

struct ApiReply {
  int status = 0;
  std::string body;
  Poco::JSON::Object::Ptr json;  // null when the body is not a JSON object
  std::string error() const;     // json["error"] or ""
};

class ApiClient {
 public:
  // With `certFile`/`keyFile` (PEM) the client presents that certificate.
  ApiClient(const std::string& caFile, int port, const std::string& certFile = "",
            const std::string& keyFile = "");
  // Throws Poco exceptions on transport failures (a refused handshake among them).
  ApiReply send(const std::string& method, const std::string& path, const std::string& body = "",
                const std::string& bearer = "");

 private:
  Poco::Net::Context::Ptr context_;
  int port_;
};

// A P-256 key pair for a device: the private key written to `keyFile` (PEM, 0600);
// returns the public key as SPKI PEM.
std::string makeDeviceKey(const std::string& keyFile);

}  // namespace keyturn::test
