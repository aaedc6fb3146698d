// The web console's static files (issue 6), served by keyturn-server itself over its
// HTTPS port: "/" and "/ui/" answer index.html, "/ui/FILE" answers a file of the web
// root (keyturn.web.root; by default the installed share/keyturn/web next to the
// binary, else the build tree's copy). Only plain names are served (no "..", no dot
// files, no symlink out of the root), with a content type from a short list of
// extensions; anything else is 404.
#pragma once

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <string>

namespace keyturn::server {

// The Content-Security-Policy of every response: scripts, styles, images and fetches
// from this origin only, no inline script or style, no framing, no plugins, no forms
// posted anywhere.
inline constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

// Sets the security headers every response carries (API and console alike):
// CSP, X-Content-Type-Options, Referrer-Policy, X-Frame-Options, HSTS,
// Cross-Origin-Opener-Policy and Cross-Origin-Resource-Policy.
void setSecurityHeaders(Poco::Net::HTTPServerResponse& response);

// Whether `path` is the console's ("/", "/ui", "/ui/..."), so that the dispatcher
// hands it to serveWebAsset instead of the API router.
bool isWebPath(const std::string& path);

// Answers GET/HEAD for `path` from `root`; throws HttpError (404, 405) otherwise.
void serveWebAsset(const std::string& root, Poco::Net::HTTPServerRequest& request,
                   Poco::Net::HTTPServerResponse& response, const std::string& path);

// keyturn.web.root when it is not configured: BINDIR/../share/keyturn/web when that
// holds index.html (an installed server), else the build tree's copy (BUILD/web/assets).
std::string defaultWebRoot();

}  // namespace keyturn::server
