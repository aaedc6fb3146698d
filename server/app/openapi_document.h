// docs/openapi.yaml, embedded in the binary at build time
// (server/app/CMakeLists.txt), served at GET /api/v1/openapi.yaml. Like every
// /api/v1 route it answers only once the trust bundle is in place.
#pragma once

#include <string_view>

#include "app/server_context.h"

namespace keyturn::server {

// The document's text, exactly as in docs/openapi.yaml at build time.
std::string_view openApiDocument();

void addOpenApiRoute(ServerContext &context);

} // namespace keyturn::server
