// Who is calling: an admin's session (bearer token from POST /api/v1/login) checked
// against the store and the bundle in force. Handlers call authenticateAdmin() first;
// it throws HttpError, so an unauthenticated call never reaches handler code.
#pragma once

#include <Poco/Net/HTTPServerRequest.h>

#include <memory>
#include <string>

#include "app/server_context.h"

namespace keyturn::server {

struct Caller {
  std::string principal;
  std::shared_ptr<const AcceptedBundle> bundle;  // the bundle in force for this call
};

// "Authorization: Bearer TOKEN" -> the session's principal. 401 "unauthenticated" when
// the header is missing or not a bearer token, or the session is unknown or expired
// (sessions are stored hashed; a token never reaches the log); 401 "unknown_principal"
// when the principal is no longer in the bundle in force (removing an admin from the
// roster ends their sessions at once).
Caller authenticateAdmin(ServerContext& context, const Poco::Net::HTTPServerRequest& request);

// 403 "forbidden" naming the permission when no group of the caller holds it under the
// bundle's roles (audit.read, devices.enroll, requests.read_all, ...).
void requireRole(const Caller& caller, const std::string& permission);

// SHA-256 hex of a session token or code: what the store keeps instead of the secret.
std::string secretHash(const std::string& secret);

}  // namespace keyturn::server
