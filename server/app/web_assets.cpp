#include "app/web_assets.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>
#include <system_error>

#include "app/http_error.h"
#include "keyturn/crypto_util.h"

#ifndef KEYTURN_WEB_BUILD_DIR
#define KEYTURN_WEB_BUILD_DIR ""
#endif

namespace keyturn::server {

using Poco::Net::HTTPResponse;

namespace {

constexpr std::size_t kMaxAssetBytes = 4u * 1024u * 1024u;

const char* contentTypeFor(const std::string& extension) {
  static const std::map<std::string, const char*> kTypes = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".json", "application/json"},
  };
  auto it = kTypes.find(extension);
  return it == kTypes.end() ? nullptr : it->second;
}

[[noreturn]] void notFound(const std::string& path) {
  throw HttpError(HTTPResponse::HTTP_NOT_FOUND, "not_found", "no console file " + path);
}

}  // namespace

void setSecurityHeaders(Poco::Net::HTTPServerResponse& response) {
  response.set("Content-Security-Policy", kContentSecurityPolicy);
  response.set("X-Content-Type-Options", "nosniff");
  response.set("Referrer-Policy", "no-referrer");
  response.set("X-Frame-Options", "DENY");
  response.set("Strict-Transport-Security", "max-age=31536000");
  response.set("Cross-Origin-Opener-Policy", "same-origin");
  response.set("Cross-Origin-Resource-Policy", "same-origin");
}

bool isWebPath(const std::string& path) {
  return path == "/" || path == "/ui" || path.rfind("/ui/", 0) == 0;
}

void serveWebAsset(const std::string& root, Poco::Net::HTTPServerRequest& request,
                   Poco::Net::HTTPServerResponse& response, const std::string& path) {
  const std::string& method = request.getMethod();
  if (method != "GET" && method != "HEAD") {
    response.set("Allow", "GET, HEAD");
    throw HttpError(HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                    method + " is not allowed on " + path + "; allowed: GET, HEAD");
  }
  std::string relative = (path == "/" || path == "/ui" || path == "/ui/")
                             ? std::string("index.html")
                             : path.substr(4);
  // Plain segments only: no empty segment, no "." or ".." and no dot file.
  static const std::regex kSafe("[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*");
  if (root.empty() || !std::regex_match(relative, kSafe)) notFound(path);
  std::error_code ec;
  std::filesystem::path base = std::filesystem::weakly_canonical(root, ec);
  if (ec) notFound(path);
  std::filesystem::path file = std::filesystem::weakly_canonical(base / relative, ec);
  if (ec) notFound(path);
  // A symlink inside the root must not lead out of it.
  auto [rootEnd, fileIt] = std::mismatch(base.begin(), base.end(), file.begin(), file.end());
  if (rootEnd != base.end() || !std::filesystem::is_regular_file(file, ec)) notFound(path);
  const char* type = contentTypeFor(file.extension().string());
  if (type == nullptr) notFound(path);
  auto bytes = readFile(file.string(), kMaxAssetBytes);
  if (!bytes) notFound(path);
  response.setStatusAndReason(HTTPResponse::HTTP_OK);
  response.setContentType(type);
  // Revalidate every time: an upgraded server must not run an old script.
  response.set("Cache-Control", "no-cache");
  response.setContentLength(static_cast<std::streamsize>(bytes->size()));
  if (method == "HEAD") {
    response.send();
    return;
  }
  response.send() << *bytes;
}

std::string defaultWebRoot() {
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    std::filesystem::path installed = exe.parent_path() / ".." / "share" / "keyturn" / "web";
    if (std::filesystem::is_regular_file(installed / "index.html", ec))
      return std::filesystem::weakly_canonical(installed, ec).string();
  }
  return KEYTURN_WEB_BUILD_DIR;
}

}  // namespace keyturn::server
