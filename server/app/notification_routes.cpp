#include "app/notification_routes.h"

#include "app/auth.h"
#include "app/http_error.h"
#include "app/request_body.h"
#include "keyturn/json.h"

namespace keyturn::server {

using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

namespace {

constexpr std::int64_t kDefaultFailures = 20;
constexpr std::int64_t kMaxFailures = 500;

std::string deliveryJson(const NotificationDelivery& d) {
  return "{\"event\":" + json::quote(d.eventId) + ",\"recipient\":" + json::quote(d.recipient) +
         ",\"channel\":" + json::quote(d.channel) + ",\"state\":" + json::quote(d.state) +
         ",\"attempts\":" + std::to_string(d.attempts) +
         ",\"next_attempt\":" + (d.state == delivery_state::kPending ? std::to_string(d.nextAttempt) : "null") +
         ",\"error\":" + json::quote(d.lastError) + ",\"updated\":" + std::to_string(d.updated) + "}";
}

void status(ServerContext& context, HTTPServerRequest& request, HTTPServerResponse& response) {
  Caller caller = authenticateAdmin(context, request);
  // Failures are in the audit log too, so audit.read may see them here.
  if (!caller.bundle->bundle.hasRole(caller.principal, "audit.read"))
    requireRole(caller, "notifications.read");
  std::int64_t limit = queryInteger(request, "failures", kDefaultFailures, 0, kMaxFailures);
  auto s = context.store->outboxStatus(limit);
  if (!s) throw HttpError(HTTPResponse::HTTP_SERVICE_UNAVAILABLE, s.reason(), s.detail());
  std::string failures = "[";
  for (std::size_t i = 0; i < s->recentFailures.size(); ++i)
    failures += (i ? "," : "") + deliveryJson(s->recentFailures[i]);
  failures += "]";
  sendJson(response, HTTPResponse::HTTP_OK,
           "{\"events_waiting\":" + std::to_string(s->eventsWaiting) +
               ",\"pending\":" + std::to_string(s->pending) +
               ",\"retrying\":" + std::to_string(s->retrying) +
               ",\"sent\":" + std::to_string(s->sent) + ",\"failed\":" + std::to_string(s->failed) +
               ",\"oldest_pending\":" +
               (s->oldestPending ? std::to_string(*s->oldestPending) : "null") +
               ",\"failures\":" + failures + "}");
}

}  // namespace

void addNotificationRoutes(ServerContext& context) {
  context.router.add("GET", "/api/v1/notifications/status",
                     [&context](HTTPServerRequest& rq, HTTPServerResponse& rs, const PathParams&) {
                       status(context, rq, rs);
                     });
}

}  // namespace keyturn::server
