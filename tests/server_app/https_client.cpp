#include "https_client.h"

#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/StreamCopier.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <sstream>

namespace keyturn::test {

HttpsClient::HttpsClient(const std::string& caFile, int port, const std::string& clientCert,
                         const std::string& clientKey)
    : port_(port) {
  context_ = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, clientKey, clientCert,
                                    caFile, Poco::Net::Context::VERIFY_STRICT, 9, false);
}

HttpReply HttpsClient::send(const std::string& method, const std::string& path,
                            const std::string& body, const Headers& headers) {
  Poco::Net::HTTPSClientSession session("localhost", static_cast<Poco::UInt16>(port_), context_);
  session.setTimeout(Poco::Timespan(40, 0));  // long polls hold up to 30 s
  Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  if (!body.empty()) {
    request.setContentType("application/json");
    request.setContentLength(static_cast<std::streamsize>(body.size()));
  }
  for (const auto& [name, value] : headers) request.set(name, value);
  session.sendRequest(request) << body;
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  HttpReply reply;
  reply.status = static_cast<int>(response.getStatus());
  reply.contentType = response.getContentType();
  reply.allow = response.get("Allow", "");
  reply.etag = response.get("ETag", "");
  for (const auto& [name, value] : response) reply.headers[name] = value;
  std::ostringstream text;
  Poco::StreamCopier::copyStream(in, text);
  reply.body = text.str();
  return reply;
}

bool tlsHandshake(int port, int version, const std::string& ciphers, const std::string& clientCert,
                  const std::string& clientKey) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        SSL_CTX_free);
  // Level 0 lets this client offer what a careless client would (TLS 1.1, SHA-1):
  // the refusal must come from the server.
  SSL_CTX_set_security_level(ctx.get(), 0);
  SSL_CTX_set_min_proto_version(ctx.get(), version);
  SSL_CTX_set_max_proto_version(ctx.get(), version);
  SSL_CTX_set_cipher_list(ctx.get(), ciphers.empty() ? "DEFAULT:@SECLEVEL=0" : ciphers.c_str());
  if (!clientCert.empty() &&
      (SSL_CTX_use_certificate_file(ctx.get(), clientCert.c_str(), SSL_FILETYPE_PEM) != 1 ||
       SSL_CTX_use_PrivateKey_file(ctx.get(), clientKey.c_str(), SSL_FILETYPE_PEM) != 1))
    return false;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return false;
  }
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  SSL_set_fd(ssl.get(), fd);
  bool ok = SSL_connect(ssl.get()) == 1;
  // With TLS 1.3 the server judges the client certificate after the client's
  // handshake is done; a read surfaces its verdict (an alert) or the HTTP reply.
  if (ok && version == TLS1_3_VERSION && !clientCert.empty()) {
    const char kRequest[] = "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    char buf[64];
    ok = SSL_write(ssl.get(), kRequest, sizeof kRequest - 1) > 0 &&
         SSL_read(ssl.get(), buf, sizeof buf) > 0;
  }
  if (ok) SSL_shutdown(ssl.get());
  ssl.reset();
  ::close(fd);
  return ok;
}

}  // namespace keyturn::test
