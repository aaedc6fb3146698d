// Maps (method, path) to a handler. Paths are literal segments or "{name}" segments
// that capture one segment, e.g. "/api/v1/requests/{id}". Lookup tells apart an
// unknown path (404) from a known path with the wrong method (405 with Allow).
#pragma once

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace keyturn::server {

using PathParams = std::map<std::string, std::string>;
using RouteHandler = std::function<void(Poco::Net::HTTPServerRequest&,
                                        Poco::Net::HTTPServerResponse&, const PathParams&)>;

class Router {
 public:
  // Registers a route; later registrations of the same method and pattern win.
  void add(const std::string& method, const std::string& pattern, RouteHandler handler);

  struct Match {
    const RouteHandler* handler = nullptr;  // null: no route for this method
    PathParams params;
    std::vector<std::string> allowed;  // methods the path has; empty: unknown path
    std::string pattern;               // the matched route's pattern (for metrics)
  };
  // Matches the path (without query string). Read-only, safe from many threads once
  // all routes are added.
  Match find(const std::string& method, const std::string& path) const;

  // Every registered (method, pattern), in registration order; for the test that keeps
  // docs/openapi.yaml and the routes in step.
  std::vector<std::pair<std::string, std::string>> routes() const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    RouteHandler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace keyturn::server
