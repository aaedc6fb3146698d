// Admin login (issue 3, "Identity"): challenge–response with the admin's
// Ed25519 key, giving a session of at most 15 minutes bound to that principal.
//
//   POST /api/v1/login/challenge {"principal": ID}
//        -> 200 {"challenge", "expires", "audience", "tenant"}
//   POST /api/v1/login  (the JWS of core signLogin)
//        -> 200 {"session", "principal", "expires"}; 401 with core's reason
//        otherwise
//   POST /api/v1/logout (Bearer session) -> 200 {"logged_out": true}
//
// The audience a login must name is loginAudience(config): "https://" + the
// configured hostname. An unknown principal gets a challenge like any other (no
// enumeration) that can never log in. Every login and every refusal (with its
// reason) is audited.
#pragma once

#include <string>

#include "app/server_context.h"

namespace keyturn::server {

inline constexpr int kChallengeSeconds = 60;

// "https://" + config.hostname: the `audience` every login object must carry.
std::string loginAudience(const ServerConfig &config);

void addLoginRoutes(ServerContext &context);

} // namespace keyturn::server
