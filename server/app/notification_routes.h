// GET /api/v1/notifications/status (role notifications.read or audit.read): the
// outbox's depth, what was sent, and the deliveries that are failing, for
// `keyturn notify status`.
#pragma once

#include "app/server_context.h"

namespace keyturn::server {

void addNotificationRoutes(ServerContext& context);

}  // namespace keyturn::server
