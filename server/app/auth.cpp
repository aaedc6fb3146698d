#include "app/auth.h"

#include <ctime>

#include "app/http_error.h"
#include "keyturn/crypto_util.h"

namespace keyturn::server {

using Poco::Net::HTTPResponse;

std::string secretHash(const std::string& secret) { return toHex(sha256(secret)); }

Caller authenticateAdmin(ServerContext& context, const Poco::Net::HTTPServerRequest& request) {
  static const std::string kBearer = "Bearer ";
  const std::string header = request.get("Authorization", "");  // a copy: the default is a temporary
  if (header.rfind(kBearer, 0) != 0 || header.size() == kBearer.size())
    throw HttpError(HTTPResponse::HTTP_UNAUTHORIZED, "unauthenticated",
                    "send Authorization: Bearer SESSION (from POST /api/v1/login)");
  std::time_t now = std::time(nullptr);
  auto session = context.store->getSession(secretHash(header.substr(kBearer.size())), now);
  if (!session) {
    if (session.reason() != "not_found")
      throw HttpError(HTTPResponse::HTTP_SERVICE_UNAVAILABLE, session.reason(), session.detail());
    throw HttpError(HTTPResponse::HTTP_UNAUTHORIZED, "unauthenticated",
                    "the session is unknown or expired; log in again");
  }
  auto bundle = context.bundle.current(now);
  if (!bundle)
    throw HttpError(HTTPResponse::HTTP_SERVICE_UNAVAILABLE, bundle.reason(), bundle.detail());
  if (bundle.value()->bundle.principalById(session->principal) == nullptr)
    throw HttpError(HTTPResponse::HTTP_UNAUTHORIZED, "unknown_principal",
                    "principal " + session->principal + " is not in trust bundle v" +
                        std::to_string(bundle.value()->bundle.version));
  return Caller{session->principal, std::move(bundle).value()};
}

void requireRole(const Caller& caller, const std::string& permission) {
  if (!caller.bundle->bundle.hasRole(caller.principal, permission))
    throw HttpError(HTTPResponse::HTTP_FORBIDDEN, "forbidden",
                    caller.principal + " has no role granting " + permission +
                        " in trust bundle v" + std::to_string(caller.bundle->bundle.version));
}

}  // namespace keyturn::server
