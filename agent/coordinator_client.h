// HTTPS to the coordinator's agent API (docs/openapi.yaml, /api/v1/agent/*): one
// keep-alive connection, the server checked against the pinned CA (and its name against
// the URL's host), the device's own certificate and key presented for mutual TLS.
//
// Transport failures (refused, reset, timeout, a certificate that does not check) come
// back as reason "unreachable"; any HTTP status is a Reply for the caller to judge.
#pragma once

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPSClientSession.h>

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "keyturn/result.h"

namespace keyturn::agent {

struct Reply {
  int status = 0;
  std::string body;
  std::string etag;
};

class CoordinatorClient {
 public:
  // `certFile`/`keyFile` empty: no client certificate (enrollment). Throws nothing;
  // a bad CA or key file fails every call with reason "tls".
  CoordinatorClient(const std::string& serverUrl, const std::string& caFile, const std::string& certFile = "",
                    const std::string& keyFile = "");

  // Sends one request and reads the whole reply. `timeoutSeconds` bounds each read.
  Result<Reply> send(const std::string& method, const std::string& pathAndQuery, const std::string& body = "",
                     const std::string& ifNoneMatch = "", int timeoutSeconds = 30);

  // GET `pathAndQuery` streaming a 200 body to `sink` in pieces, never holding it whole;
  // `sink` returns false to stop reading (the connection is then dropped). Any other
  // status comes back with at most 64 KiB of its body in Reply::body. Transport
  // failures: reason "unreachable" (a body cut short by the network is one).
  using Sink = std::function<bool(const char* data, std::size_t size)>;
  Result<Reply> download(const std::string& pathAndQuery, const Sink& sink, int timeoutSeconds = 60);

  // Async-signal-safe: shuts the socket of a request in flight down, so a held poll
  // ends now (used on SIGTERM). The next send() opens a new connection.
  void interrupt();

 private:
  // A call that failed on the wire: the connection is dropped (never reused half-read).
  Result<Reply> connectionLost(const std::string& why);
  Result<Reply> attempt(const std::string& method, const std::string& pathAndQuery, const std::string& body,
                        const std::string& ifNoneMatch, int timeoutSeconds);
  std::string host_;
  unsigned short port_ = 443;
  std::string setupError_;
  Poco::Net::Context::Ptr context_;
  std::unique_ptr<Poco::Net::HTTPSClientSession> session_;
  std::atomic<int> inFlightFd_{-1};
  std::atomic<bool> interrupted_{false};
};

}  // namespace keyturn::agent
