// The coordinator's only listener: HTTPS through Poco NetSSL (OpenSSL). TLS 1.2 is the
// floor and TLS 1.2 suites are limited to ECDHE with AES-GCM or ChaCha20-Poly1305
// (forward secrecy, AEAD only); TLS 1.3 uses OpenSSL's defaults, which are all AEAD.
// Client certificates are requested but optional: admin routes use sessions, and agent
// routes check the certificate themselves (it is verified against ca.pem if sent).
#pragma once

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/ThreadPool.h>

#include <cstdint>
#include <memory>

#include "app/server_context.h"
#include "keyturn/result.h"

namespace keyturn::server {

inline constexpr const char* kTls12Ciphers = "ECDHE+AESGCM:ECDHE+CHACHA20";

class HttpsListener {
 public:
  // Builds the TLS context from the config's certificate, key (refused if group/world
  // readable) and CA, and binds `config.bind`, with the port replaced by `portOverride`
  // when set (0 binds an ephemeral port). Does not accept connections until start().
  static Result<std::unique_ptr<HttpsListener>> create(ServerContext& context, int portOverride);

  void start() { server_->start(); }
  // Stops accepting and waits (bounded) for requests in flight.
  void stop() { server_->stopAll(false); }
  // The port actually bound (useful with port 0).
  std::uint16_t port() const { return port_; }

 private:
  HttpsListener() = default;
  Poco::Net::Context::Ptr tls_;
  std::unique_ptr<Poco::ThreadPool> pool_;  // outlives server_
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  std::uint16_t port_ = 0;
};

// The server-side TLS context described above, from PEM file paths.
Poco::Net::Context::Ptr makeServerTlsContext(const std::string& keyFile,
                                             const std::string& certificateFile,
                                             const std::string& caFile);

}  // namespace keyturn::server
