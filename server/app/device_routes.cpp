#include "app/device_routes.h"

#include <ctime>

#include "app/auth.h"
#include "app/http_error.h"
#include "app/request_body.h"
#include "keyturn/json.h"
#include "keyturn/login.h"

namespace keyturn::server {

using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

namespace {

[[noreturn]] void storageFailed(const Error &e) {
  throw HttpError(HTTPResponse::HTTP_SERVICE_UNAVAILABLE, e.reason, e.detail);
}

Poco::JSON::Object::Ptr factsOf(const DeviceRecord &device) {
  auto facts = json::parseObject(device.factsJson);
  return facts ? facts.value()
               : Poco::JSON::Object::Ptr(new Poco::JSON::Object());
}

bool inGroup(const DeviceRecord &device, const std::string &group) {
  auto groups = factsOf(device)->getArray("groups");
  if (!groups)
    return false;
  for (const auto &g : *groups)
    if (g.isString() && g.extract<std::string>() == group)
      return true;
  return false;
}

std::string optionalTime(const std::optional<std::int64_t> &t) {
  return t ? std::to_string(*t) : "null";
}

void createCode(ServerContext &context, HTTPServerRequest &request,
                HTTPServerResponse &response) {
  Caller caller = authenticateAdmin(context, request);
  requireRole(caller, "devices.enroll");
  auto body = readJsonObject(request, kSmallBody, {"expires_in_s"});
  std::int64_t seconds =
      optionalInteger(*body, "expires_in_s").value_or(kDefaultCodeSeconds);
  if (seconds < 60 || seconds > kMaxCodeSeconds)
    throw HttpError(HTTPResponse::HTTP_BAD_REQUEST, "malformed",
                    "body member expires_in_s must be 60.." +
                        std::to_string(kMaxCodeSeconds));
  std::int64_t now = std::time(nullptr);
  std::string code = randomToken(20);
  EnrollmentCodeRecord record{secretHash(code), caller.principal, now,
                              now + seconds,    std::nullopt,     std::nullopt};
  // The audit names the code by the start of its hash, never by the code
  // itself.
  AuditEvent event{caller.principal, "enrollment_code.created",
                   record.codeHash.substr(0, 16),
                   "{\"expires\":" + std::to_string(record.expires) + "}"};
  if (Status s = context.store->insertEnrollmentCode(record, event); !s)
    storageFailed(s.error());
  sendJson(response, HTTPResponse::HTTP_CREATED,
           "{\"code\":" + json::quote(code) +
               ",\"expires\":" + std::to_string(record.expires) + "}");
}

void listDevices(ServerContext &context, HTTPServerRequest &request,
                 HTTPServerResponse &response) {
  authenticateAdmin(context, request);
  auto group = queryParam(request, "group");
  auto removed = queryParam(request, "removed");
  if (removed && *removed != "true" && *removed != "false")
    throw HttpError(HTTPResponse::HTTP_BAD_REQUEST, "malformed",
                    "query parameter removed must be true or false");
  auto devices = context.store->listDevices(removed && *removed == "true");
  if (!devices)
    storageFailed(devices.error());
  std::string out = "{\"devices\":[";
  bool first = true;
  for (const DeviceRecord &d : devices.value()) {
    if (group && !inGroup(d, *group))
      continue;
    out += (first ? "" : ",") + deviceJson(d);
    first = false;
  }
  sendJson(response, HTTPResponse::HTTP_OK, out + "]}");
}

DeviceRecord findDevice(ServerContext &context, const std::string &id) {
  auto device = context.store->getDevice(id);
  if (!device) {
    if (device.reason() == "not_found")
      throw HttpError(HTTPResponse::HTTP_NOT_FOUND, "not_found",
                      "no device " + id);
    storageFailed(device.error());
  }
  return std::move(device).value();
}

void getDevice(ServerContext &context, HTTPServerRequest &request,
               HTTPServerResponse &response, const PathParams &params) {
  authenticateAdmin(context, request);
  sendJson(response, HTTPResponse::HTTP_OK,
           deviceJson(findDevice(context, params.at("id"))));
}

void removeDevice(ServerContext &context, HTTPServerRequest &request,
                  HTTPServerResponse &response, const PathParams &params) {
  Caller caller = authenticateAdmin(context, request);
  if (!caller.bundle->bundle.hasRole(caller.principal, "devices.remove"))
    requireRole(caller, "devices.enroll");
  const std::string &id = params.at("id");
  DeviceRecord device = findDevice(context, id);
  if (device.removedAt)
    throw HttpError(HTTPResponse::HTTP_CONFLICT, "device_removed",
                    "device " + id + " was already removed");
  std::int64_t now = std::time(nullptr);
  Status s = context.store->removeDevice(
      id, now, AuditEvent{caller.principal, "device.removed", id, "{}"});
  if (!s) {
    if (s.reason() == "not_found")
      throw HttpError(HTTPResponse::HTTP_CONFLICT, "device_removed",
                      "device " + id + " was already removed");
    storageFailed(s.error());
  }
  // Changes the device's ticket, so no idle poll is answered from memory any more
  // (IdlePolls), and ends its held polls.
  context.deliveries.notifyDevice(id);
  sendJson(response, HTTPResponse::HTTP_OK,
           "{\"device\":" + json::quote(id) + ",\"removed\":true}");
}

// The stored list as an array, written again by the JSON writer: only the facts route
// writes it, after checking it, but a row that does not parse (edited by hand) must not
// break every device listing; it shows as null.
std::string librariesOf(const DeviceRecord &d) {
  if (!d.agentLibrariesJson)
    return "null";
  auto parsed = json::parse(*d.agentLibrariesJson);
  if (!parsed || !parsed.value().isArray())
    return "null";
  return json::stringify(parsed.value());
}

} // namespace

std::string deviceJson(const DeviceRecord &d) {
  auto facts = factsOf(d);
  auto text = [&](const char *key, const char *fallback) {
    return facts->has(key) && facts->get(key).isString()
               ? facts->getValue<std::string>(key)
               : std::string(fallback);
  };
  std::string groups =
      facts->getArray("groups") ? json::stringify(facts->get("groups")) : "[]";
  std::string tags =
      facts->getObject("tags") ? json::stringify(facts->get("tags")) : "{}";
  return "{\"id\":" + json::quote(d.id) +
         ",\"state\":" + (d.removedAt ? "\"removed\"" : "\"active\"") +
         ",\"enrolled_at\":" + std::to_string(d.enrolledAt) +
         ",\"last_seen\":" + optionalTime(d.lastContact) +
         ",\"removed_at\":" + optionalTime(d.removedAt) +
         ",\"ownership\":" + json::quote(text("ownership", "unknown")) +
         ",\"platform\":" + json::quote(text("platform", "")) +
         ",\"os_version\":" + json::quote(text("os_version", "")) +
         ",\"agent_version\":" +
         (d.agentVersion ? json::quote(*d.agentVersion) : std::string("null")) +
         ",\"bundle_version\":" + optionalTime(d.bundleVersion) +
         ",\"agent_libraries\":" + librariesOf(d) +
         ",\"groups\":" + groups + ",\"tags\":" + tags +
         ",\"facts\":" + json::stringify(facts) + "}";
}

void addDeviceRoutes(ServerContext &context) {
  Router &r = context.router;
  r.add("POST", "/api/v1/devices/enrollment-codes",
        [&context](HTTPServerRequest &rq, HTTPServerResponse &rs,
                   const PathParams &) { createCode(context, rq, rs); });
  r.add("GET", "/api/v1/devices",
        [&context](HTTPServerRequest &rq, HTTPServerResponse &rs,
                   const PathParams &) { listDevices(context, rq, rs); });
  r.add("GET", "/api/v1/devices/{id}",
        [&context](HTTPServerRequest &rq, HTTPServerResponse &rs,
                   const PathParams &p) { getDevice(context, rq, rs, p); });
  r.add("DELETE", "/api/v1/devices/{id}",
        [&context](HTTPServerRequest &rq, HTTPServerResponse &rs,
                   const PathParams &p) { removeDevice(context, rq, rs, p); });
}

} // namespace keyturn::server
