#include "coordinator_client.h"

#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>
#include <sys/socket.h>

#include <sstream>

namespace keyturn::agent {

CoordinatorClient::CoordinatorClient(const std::string& serverUrl, const std::string& caFile,
                                     const std::string& certFile, const std::string& keyFile) {
  try {
    Poco::URI uri(serverUrl);
    host_ = uri.getHost();
    port_ = uri.getPort();
    // VERIFY_STRICT: the server's chain must lead to the pinned CA (and nothing else:
    // the system store is not loaded), and its name must match the URL's host.
    context_ = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, keyFile, certFile, caFile,
                                      Poco::Net::Context::VERIFY_STRICT, 9, false);
    context_->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
  } catch (const Poco::Exception& e) {
    setupError_ = e.displayText();
  }
}

void CoordinatorClient::interrupt() {
  interrupted_.store(true);
  int fd = inFlightFd_.load();
  if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
}

Result<Reply> CoordinatorClient::send(const std::string& method, const std::string& pathAndQuery,
                                      const std::string& body, const std::string& ifNoneMatch, int timeoutSeconds) {
  using R = Result<Reply>;
  if (!setupError_.empty()) return R::fail("tls", "cannot set up TLS: " + setupError_);
  // A kept-alive connection the server has closed meanwhile fails on first use; that
  // is not the coordinator being away, so it is tried once more on a new connection.
  const bool reused = session_ != nullptr;
  auto reply = attempt(method, pathAndQuery, body, ifNoneMatch, timeoutSeconds);
  if (!reply && reused && !interrupted_.load()) reply = attempt(method, pathAndQuery, body, ifNoneMatch, timeoutSeconds);
  return reply;
}

Result<Reply> CoordinatorClient::attempt(const std::string& method, const std::string& pathAndQuery,
                                         const std::string& body, const std::string& ifNoneMatch,
                                         int timeoutSeconds) {
  using R = Result<Reply>;
  try {
    if (!session_) {
      session_ = std::make_unique<Poco::Net::HTTPSClientSession>(host_, port_, context_);
      session_->setKeepAlive(true);
    }
    session_->setTimeout(Poco::Timespan(timeoutSeconds, 0));
    Poco::Net::HTTPRequest request(method, pathAndQuery, Poco::Net::HTTPMessage::HTTP_1_1);
    request.setKeepAlive(true);
    if (!ifNoneMatch.empty()) request.set("If-None-Match", ifNoneMatch);
    if (method == "POST" || method == "PUT") {
      request.setContentType("application/json");
      request.setContentLength(static_cast<std::streamsize>(body.size()));
    }
    session_->sendRequest(request) << body;
    inFlightFd_.store(session_->socket().impl()->sockfd());
    Poco::Net::HTTPResponse response;
    std::istream& in = session_->receiveResponse(response);
    Reply reply;
    reply.status = static_cast<int>(response.getStatus());
    reply.etag = response.get("ETag", "");
    std::ostringstream text;
    Poco::StreamCopier::copyStream(in, text);
    inFlightFd_.store(-1);
    reply.body = text.str();
    if (!response.getKeepAlive()) session_.reset();
    return reply;
  } catch (const Poco::Exception& e) {
    inFlightFd_.store(-1);
    session_.reset();
    return R::fail("unreachable", "coordinator " + host_ + ":" + std::to_string(port_) + ": " + e.displayText());
  } catch (const std::exception& e) {
    inFlightFd_.store(-1);
    session_.reset();
    return R::fail("unreachable", "coordinator " + host_ + ":" + std::to_string(port_) + ": " + e.what());
  }
}

}  // namespace keyturn::agent
