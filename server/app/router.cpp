#include "app/router.h"

#include <algorithm>

namespace keyturn::server {
namespace {

std::vector<std::string> splitPath(const std::string& path) {
  std::vector<std::string> out;
  std::size_t start = 1;  // paths start with '/'
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool isParam(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

bool matches(const std::vector<std::string>& pattern, const std::vector<std::string>& path,
             PathParams* params) {
  if (pattern.size() != path.size()) return false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (isParam(pattern[i])) {
      if (path[i].empty()) return false;
      if (params) (*params)[pattern[i].substr(1, pattern[i].size() - 2)] = path[i];
    } else if (pattern[i] != path[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

void Router::add(const std::string& method, const std::string& pattern, RouteHandler handler) {
  std::vector<std::string> segments = splitPath(pattern);
  auto same = [&](const Route& r) { return r.method == method && r.segments == segments; };
  routes_.erase(std::remove_if(routes_.begin(), routes_.end(), same), routes_.end());
  routes_.push_back(Route{method, std::move(segments), std::move(handler)});
}

Router::Match Router::find(const std::string& method, const std::string& path) const {
  Match match;
  if (path.empty() || path.front() != '/') return match;
  std::vector<std::string> segments = splitPath(path);
  for (const Route& route : routes_) {
    PathParams params;
    if (!matches(route.segments, segments, &params)) continue;
    match.allowed.push_back(route.method);
    if (match.pattern.empty())
      for (const std::string& segment : route.segments) match.pattern += "/" + segment;
    if (route.method == method && match.handler == nullptr) {
      match.handler = &route.handler;
      match.params = std::move(params);
    }
  }
  return match;
}

std::vector<std::pair<std::string, std::string>> Router::routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Route& route : routes_) {
    std::string pattern;
    for (const std::string& segment : route.segments) pattern += "/" + segment;
    out.emplace_back(route.method, pattern);
  }
  return out;
}

}  // namespace keyturn::server
