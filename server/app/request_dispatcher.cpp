#include "app/request_dispatcher.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <chrono>
#include <ctime>

#include "app/http_error.h"
#include "app/web_assets.h"

namespace keyturn::server {

using Poco::Net::HTTPResponse;

namespace {
// An error may be answered before the request's body was read (no session, a
// wrong method): the unread bytes would be taken for the next request on a
// kept-alive connection, so a connection whose request had a body is closed
// after an error.
void closeIfBodyUnread(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) {
  bool hasBody = (request.hasContentLength() && request.getContentLength64() > 0) ||
                 request.getChunkedTransferEncoding();
  if (hasBody) response.setKeepAlive(false);  // reading it to find out could block
}
}  // namespace

void RequestDispatcher::handleRequest(Poco::Net::HTTPServerRequest& request,
                                      Poco::Net::HTTPServerResponse& response) {
  auto started = std::chrono::steady_clock::now();
  std::string uri = request.getURI();
  std::string path = uri.substr(0, uri.find_first_of("?#"));
  std::string failure;
  std::string route;
  setSecurityHeaders(response);
  try {
    dispatch(request, response, path, route);
  } catch (const HttpError& e) {
    if (!response.sent()) {
      closeIfBodyUnread(request, response);
      e.send(response);
    }
  } catch (const Poco::Exception& e) {
    failure = e.displayText();
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!failure.empty()) {
    // The cause goes to the log, not to the client: it may name files or internals.
    context_.log.error("unhandled exception",
                       {LogField::str("method", request.getMethod()), LogField::str("path", path),
                        LogField::str("error", failure)});
    if (!response.sent()) closeIfBodyUnread(request, response);
    if (!response.sent())
      HttpError::send(response, HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "internal_error",
                      "the server failed to handle this request; see its log");
  }
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  context_.http.record(request.getMethod(), route, static_cast<int>(response.getStatus()),
                       ms / 1000.0);
  // An idle agent's 304 is the most frequent answer of all and says nothing happened: it
  // is counted in /metrics (keyturn_http_requests_total) but not logged line by line.
  if (response.getStatus() == HTTPResponse::HTTP_NOT_MODIFIED) return;
  context_.log.info(
      "request",
      {LogField::str("method", request.getMethod()), LogField::str("path", path),
       LogField::num("status", static_cast<int>(response.getStatus())), LogField::real("ms", ms),
       LogField::str("peer", request.clientAddress().toString())});
}

void RequestDispatcher::dispatch(Poco::Net::HTTPServerRequest& request,
                                 Poco::Net::HTTPServerResponse& response, const std::string& path,
                                 std::string& route) {
  if (path.rfind(kApiPrefix, 0) == 0) {
    auto bundle = context_.bundle.current(std::time(nullptr));
    if (!bundle)
      throw HttpError(HTTPResponse::HTTP_SERVICE_UNAVAILABLE, bundle.reason(), bundle.detail());
  }
  if (isWebPath(path)) {
    route = "(web console)";
    serveWebAsset(context_.config.webRoot, request, response, path);
    return;
  }
  Router::Match match = context_.router.find(request.getMethod(), path);
  route = match.pattern;
  if (match.allowed.empty())
    throw HttpError(HTTPResponse::HTTP_NOT_FOUND, "not_found", "no route for " + path);
  if (match.handler == nullptr) {
    std::string allow;
    for (const std::string& m : match.allowed) allow += (allow.empty() ? "" : ", ") + m;
    response.set("Allow", allow);
    throw HttpError(HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                    request.getMethod() + " is not allowed on " + path + "; allowed: " + allow);
  }
  (*match.handler)(request, response, match.params);
}

}  // namespace keyturn::server
