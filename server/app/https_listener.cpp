#include "app/https_listener.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <openssl/ssl.h>

#include "app/request_handler_factory.h"
#include "tls/tls_key.h"

namespace keyturn::server {
namespace {
// Agents' long polls hold a thread each for up to 30 s; DeliveryNotifier admits at most
// 48 held polls, so at least 16 threads stay free for admins and short agent calls.
constexpr int kMaxThreads = 64;
}

Poco::Net::Context::Ptr makeServerTlsContext(const std::string& keyFile,
                                             const std::string& certificateFile,
                                             const std::string& caFile) {
  Poco::Net::Context::Params params;
  params.privateKeyFile = keyFile;
  params.certificateFile = certificateFile;
  params.caLocation = caFile;
  params.verificationMode = Poco::Net::Context::VERIFY_RELAXED;
  params.verificationDepth = 2;
  params.loadDefaultCAs = false;
  params.cipherList = kTls12Ciphers;
  params.ecdhCurve = "X25519:prime256v1";
  Poco::Net::Context::Ptr context(
      new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, params));
  context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
  // Belt and braces: the floor is also set on the OpenSSL context itself, and
  // renegotiation (a DoS lever, and useless with TLS 1.3) is off.
  SSL_CTX_set_min_proto_version(context->sslContext(), TLS1_2_VERSION);
  SSL_CTX_set_options(context->sslContext(),
                      SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  context->enableSessionCache(true, "keyturn-server");
  return context;
}

Result<std::unique_ptr<HttpsListener>> HttpsListener::create(ServerContext& context,
                                                             int portOverride) {
  using R = Result<std::unique_ptr<HttpsListener>>;
  const ServerConfig& config = context.config;
  if (Status s = tls::checkPrivateFileMode(config.tlsKey); !s) return R(s.error());
  std::unique_ptr<HttpsListener> listener(new HttpsListener());
  try {
    listener->tls_ =
        makeServerTlsContext(config.tlsKey, config.tlsCertificate, config.caCertificate);
    Poco::Net::SocketAddress address(config.bind);
    if (portOverride >= 0)
      address = Poco::Net::SocketAddress(address.host(), static_cast<std::uint16_t>(portOverride));
    Poco::Net::SecureServerSocket socket(address, 64, listener->tls_);
    listener->port_ = socket.address().port();
    Poco::AutoPtr<Poco::Net::HTTPServerParams> params(new Poco::Net::HTTPServerParams);
    params->setKeepAlive(true);
    params->setMaxKeepAliveRequests(1000);
    params->setKeepAliveTimeout(Poco::Timespan(30, 0));
    params->setTimeout(Poco::Timespan(10, 0));  // a slow client (slowloris) is dropped after 10 s of silence
    params->setMaxThreads(kMaxThreads);
    params->setMaxQueued(256);
    params->setServerName(config.hostname);
    listener->pool_ = std::make_unique<Poco::ThreadPool>(2, kMaxThreads);
    listener->server_ = std::make_unique<Poco::Net::HTTPServer>(new RequestHandlerFactory(context),
                                                                *listener->pool_, socket, params);
  } catch (const Poco::Exception& e) {
    return R::fail("tls", "cannot listen on " + config.bind + ": " + e.displayText());
  }
  return R(std::move(listener));
}

}  // namespace keyturn::server
