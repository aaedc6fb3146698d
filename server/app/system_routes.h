// Routes that work without a trust bundle: GET /healthz, which load balancers and the
// tests poll. It reports the accepted bundle version (0 while the ceremony is pending)
// so an operator sees at a glance whether the server serves admins yet.
#pragma once

#include "app/server_context.h"

namespace keyturn::server {

void addSystemRoutes(ServerContext& context);

}  // namespace keyturn::server
