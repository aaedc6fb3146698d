#include "coordinator_client.h"

#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>
#include <sys/socket.h>

#include <algorithm>
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
    return connectionLost(e.displayText());
  } catch (const std::exception& e) {
    return connectionLost(e.what());
  }
}

Result<Reply> CoordinatorClient::download(const std::string& pathAndQuery, const Sink& sink,
                                          int timeoutSeconds) {
  using R = Result<Reply>;
  if (!setupError_.empty()) return R::fail("tls", "cannot set up TLS: " + setupError_);
  // A download is never retried here on a reused connection: the sink may already hold
  // bytes. The caller (ArtifactFetcher) starts over with a new file.
  try {
    if (!session_) {
      session_ = std::make_unique<Poco::Net::HTTPSClientSession>(host_, port_, context_);
      session_->setKeepAlive(true);
    }
    session_->setTimeout(Poco::Timespan(timeoutSeconds, 0));
    Poco::Net::HTTPRequest request("GET", pathAndQuery, Poco::Net::HTTPMessage::HTTP_1_1);
    request.setKeepAlive(true);
    session_->sendRequest(request);
    inFlightFd_.store(session_->socket().impl()->sockfd());
    Poco::Net::HTTPResponse response;
    std::istream& in = session_->receiveResponse(response);
    Reply reply;
    reply.status = static_cast<int>(response.getStatus());
    constexpr std::size_t kMaxErrorBody = 64 * 1024;
    char buf[64 * 1024];
    std::uint64_t received = 0;
    bool stopped = false;
    while (in) {
      in.read(buf, sizeof buf);
      auto n = static_cast<std::size_t>(in.gcount());
      if (n == 0) break;
      received += n;
      if (reply.status != 200) {
        if (reply.body.size() < kMaxErrorBody) reply.body.append(buf, std::min(n, kMaxErrorBody - reply.body.size()));
      } else if (!sink(buf, n)) {
        stopped = true;
        break;
      }
    }
    inFlightFd_.store(-1);
    if (interrupted_.load()) {
      session_.reset();
      return R::fail("unreachable", "download interrupted");
    }
    // A body shorter than announced is the network's doing, not the artifact's.
    if (!stopped && reply.status == 200 && response.hasContentLength() &&
        received < static_cast<std::uint64_t>(response.getContentLength64())) {
      session_.reset();
      return R::fail("unreachable", "the download ended after " + std::to_string(received) + " of " +
                                        std::to_string(response.getContentLength64()) + " bytes");
    }
    if (stopped || !response.getKeepAlive()) session_.reset();
    return reply;
  } catch (const Poco::Exception& e) {
    return connectionLost(e.displayText());
  } catch (const std::exception& e) {
    return connectionLost(e.what());
  }
}

Result<Reply> CoordinatorClient::connectionLost(const std::string& why) {
  inFlightFd_.store(-1);
  session_.reset();
  return Result<Reply>::fail("unreachable", "coordinator " + host_ + ":" + std::to_string(port_) + ": " + why);
}

}  // namespace keyturn::agent
