#include "app/agent_routes.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <set>

#include "app/auth.h"
#include "app/device_auth.h"
#include "app/http_error.h"
#include "app/idle_polls.h"
#include "app/request_body.h"
#include "keyturn/bundle.h"
#include "keyturn/crypto_util.h"
#include "keyturn/json.h"
#include "keyturn/login.h"
#include "tls/certificate_authority.h"

namespace keyturn::server {

using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

namespace {

constexpr std::size_t kMaxEnrollBytes = 64 * 1024;
constexpr std::size_t kMaxResultsPerCall = 100;
constexpr std::chrono::milliseconds kPollSlice{1000};

[[noreturn]] void storageFailed(const Error &e) {
  throw HttpError(HTTPResponse::HTTP_SERVICE_UNAVAILABLE, e.reason, e.detail);
}
[[noreturn]] void malformed(const std::string &detail) {
  throw HttpError(HTTPResponse::HTTP_BAD_REQUEST, "malformed", detail);
}

std::string deviceActor(const std::string &id) { return "device:" + id; }

// Bundle v1 comes from the ceremony file, not from a workflow publication:
// record it in the bundles table the first time it is needed, so the chain
// served to agents always starts at 1. A concurrent insert of the same row
// ("conflict") is fine.
void recordFirstBundle(ServerContext &context, std::int64_t now) {
  auto stored = context.store->bundlesFrom(1);
  if (!stored)
    storageFailed(stored.error());
  if (!stored->empty() && stored->front().version == 1)
    return;
  // The ceremony file, which the bundle gate accepted before any /api/v1 call
  // ran (and which stays in place after later versions are published).
  auto bytes = readFile(context.config.bundle, kMaxBundleBytes);
  if (!bytes)
    storageFailed(
        Error{"no_trust_bundle", "cannot read " + context.config.bundle});
  auto first = TrustBundle::parse(*bytes);
  if (!first || first->version != 1)
    storageFailed(
        Error{"no_trust_bundle", context.config.bundle + " is not bundle v1"});
  BundleRecord record{1, toHex(first->fileSha256), context.config.bundle, now};
  Status s = context.store->insertBundle(
      record, AuditEvent{"coordinator", "bundle.published", "1",
                         "{\"sha256\":" + json::quote(record.sha256) + "}"});
  if (!s && s.reason() != "conflict")
    storageFailed(s.error());
}

// The bundle files with version > after, as a JSON array of their JWS objects.
std::string bundlesJson(ServerContext &context, std::int64_t after,
                        std::int64_t now) {
  recordFirstBundle(context, now);
  auto records = context.store->bundlesFrom(after + 1);
  if (!records)
    storageFailed(records.error());
  std::string out = "[";
  for (const BundleRecord &r : records.value()) {
    auto bytes = readFile(r.file, kMaxBundleBytes);
    if (!bytes)
      throw HttpError(
          HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "internal_error",
          "bundle v" + std::to_string(r.version) + " cannot be read");
    if (toHex(sha256(*bytes)) != r.sha256)
      throw HttpError(HTTPResponse::HTTP_INTERNAL_SERVER_ERROR,
                      "internal_error",
                      "bundle v" + std::to_string(r.version) +
                          " changed on disk since publication");
    auto parsed = json::parseObject(*bytes);
    if (!parsed)
      throw HttpError(
          HTTPResponse::HTTP_INTERNAL_SERVER_ERROR, "internal_error",
          "bundle v" + std::to_string(r.version) + " is not a JSON object");
    out += (out.size() > 1 ? "," : "") + json::stringify(parsed.value());
  }
  return out + "]";
}

std::string jsonArrayOfStrings(const Poco::JSON::Array::Ptr &a,
                               const std::string &where) {
  for (const auto &v : *a)
    if (!v.isString())
      malformed(where + " must be an array of strings");
  return json::stringify(Poco::Dynamic::Var(a));
}

void enroll(ServerContext &context, HTTPServerRequest &request,
            HTTPServerResponse &response) {
  auto body = readJsonObject(request, kMaxEnrollBytes,
                             {"code", "device_id", "public_key", "facts"});
  std::string code = requiredString(*body, "code");
  std::string publicKey = requiredString(*body, "public_key");
  std::string deviceId =
      optionalString(*body, "device_id").value_or("dev-" + randomToken(9));
  if (!tls::validDeviceId(deviceId))
    malformed("body member device_id must match [A-Za-z0-9._@-]{1,64}");
  std::string factsJson = "{}";
  if (body->has("facts")) {
    auto facts = json::getObject(*body, "facts", "body");
    if (!facts)
      malformed(facts.detail());
    factsJson = checkedFactsJson(*facts.value(), deviceId);
  }
  std::int64_t now = std::time(nullptr);
  auto refuse = [&](HTTPResponse::HTTPStatus status, const std::string &reason,
                    const std::string &detail) {
    auto logged = context.store->appendAudit(
        AuditEvent{deviceActor(deviceId), "enrollment.refused", deviceId,
                   "{\"reason\":" + json::quote(reason) + "}"},
        now);
    if (!logged)
      storageFailed(logged.error());
    throw HttpError(status, reason, detail);
  };
  if (!context.ca)
    throw HttpError(HTTPResponse::HTTP_SERVICE_UNAVAILABLE, "no_ca",
                    "this server has no device CA");
  // The certificate first: a bad key must not use up the code.
  auto certificate = context.ca->issueClientCertificate(deviceId, publicKey);
  if (!certificate)
    malformed("body member public_key: " + certificate.detail());
  // The code is checked before anything about device ids is said, so a caller
  // without a code learns nothing (not even which ids exist). A taken id uses
  // the code up.
  auto used =
      context.store->consumeEnrollmentCode(secretHash(code), deviceId, now);
  if (!used) {
    if (used.reason() != "not_found")
      storageFailed(used.error());
    refuse(HTTPResponse::HTTP_FORBIDDEN, "invalid_enrollment_code",
           "the enrollment code is unknown, already used or expired");
  }
  DeviceRecord device;
  device.id = deviceId;
  device.certFingerprint = certificate->fingerprintSha256();
  device.factsJson = factsJson;
  device.enrolledAt = now;
  Status s = context.store->insertDevice(
      device, AuditEvent{used->createdBy, "device.enrolled", deviceId,
                         "{\"fingerprint\":" +
                             json::quote(device.certFingerprint) + "}"});
  if (!s) {
    if (s.reason() == "conflict")
      refuse(
          HTTPResponse::HTTP_CONFLICT, "device_exists",
          "device id " + deviceId +
              " is taken (a removed device keeps its id); the code is used up");
    storageFailed(s.error());
  }
  sendJson(response, HTTPResponse::HTTP_CREATED,
           "{\"device\":" + json::quote(deviceId) +
               ",\"certificate\":" + json::quote(certificate->pem()) +
               ",\"ca\":" + json::quote(context.ca->certificate().pem()) +
               ",\"bundles\":" + bundlesJson(context, 0, now) + "}");
}

void bundles(ServerContext &context, HTTPServerRequest &request,
             HTTPServerResponse &response) {
  authenticateDevice(context, request);
  std::int64_t after = queryInteger(request, "after", 0, 0, json::kMaxInteger);
  sendJson(response, HTTPResponse::HTTP_OK,
           "{\"bundles\":" + bundlesJson(context, after, std::time(nullptr)) +
               "}");
}

// The ETag of an empty queue names the newest published bundle, so an idle poll
// is answered 304 until a token is queued or a bundle is published (then the
// agent fetches /agent/bundles before it runs a token that may depend on it).
std::string idleTag(ServerContext &context) {
  auto latest = context.store->latestBundle();
  std::int64_t version = latest
                             ? latest->version
                             : static_cast<std::int64_t>(
                                   context.bundle.version(std::time(nullptr)));
  return "\"idle-v" + std::to_string(version) + "\"";
}

void sendNotModified(HTTPServerResponse &response, const std::string &tag) {
  response.set("ETag", tag);
  response.set("Cache-Control", "no-store");
  response.setStatusAndReason(HTTPResponse::HTTP_NOT_MODIFIED);
  response.setContentLength(0);
  response.send();
}

void tokens(ServerContext &context, HTTPServerRequest &request,
            HTTPServerResponse &response) {
  // Taken before any read (the device row included): see IdlePolls.
  const auto readAt = IdlePolls::Clock::now();
  PeerDevice peer = verifyPeerDevice(context, request);
  IdlePolls::Key key{peer.fingerprint, context.deliveries.ticket(peer.id),
                     context.bundle.version(std::time(nullptr)), ""};
  std::int64_t wait =
      queryInteger(request, "wait", kDefaultPollSeconds, 0, kMaxPollSeconds);
  const std::string ifNoneMatch = request.get("If-None-Match", "");
  // The idle agent's fast path: nothing queued and nothing new as of under a second
  // ago, in this process's knowledge. Answered without touching the store.
  std::optional<std::string> known;
  if (!ifNoneMatch.empty())
    known = context.idlePolls.idleTag(peer.id, key, readAt);
  if (known && *known == ifNoneMatch && wait == 0)
    return sendNotModified(response, *known);
  DeviceRecord device = known ? DeviceRecord{} : activeDevice(context, peer);
  if (known)
    device.id = peer.id;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait);
  std::vector<TargetRecord> queued;
  std::string tag;
  for (bool firstRead = true;; firstRead = false) {
    std::uint64_t ticket =
        firstRead ? key.ticket : context.deliveries.ticket(device.id);
    if (firstRead && known) {
      tag = *known; // nothing queued, as of under a second ago
    } else {
      auto found = context.store->queuedTokens(
          device.id, std::time(nullptr) - context.config.redeliverySeconds);
      if (!found)
        storageFailed(found.error());
      queued = std::move(found).value();
      tag = idleTag(context);
      if (firstRead && queued.empty())
        context.idlePolls.rememberIdle(device.id, key, tag, readAt);
    }
    // Hold only while nothing is queued and nothing the agent knows of has
    // changed.
    if (!queued.empty() || (!ifNoneMatch.empty() && tag != ifNoneMatch))
      break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      break;
    // Woken at once by a completion in this process; the queue is also re-read
    // every second, so a token queued by another coordinator process arrives
    // within ~1 s too.
    if (context.deliveries.waitFor(device.id, ticket,
                                   std::min(left, kPollSlice)) ==
        DeliveryNotifier::Wake::kBusy)
      break; // too many polls held: answer now, the agent polls again
  }
  std::int64_t now = std::time(nullptr);
  if (queued.empty() && tag == ifNoneMatch)
    return sendNotModified(response, tag);
  std::string out = "{\"tokens\":[";
  bool first = true;
  for (const TargetRecord &t : queued) {
    Status s = context.store->markDelivered(t.requestId, device.id, now,
                                            AuditEvent{deviceActor(device.id),
                                                       "token.delivered",
                                                       t.requestId, "{}"});
    if (!s)
      storageFailed(s.error());
    out += (first ? "" : ",") + t.token.value_or("null");
    first = false;
  }
  response.set("ETag", tag);
  sendJson(response, HTTPResponse::HTTP_OK, out + "]}");
}

void results(ServerContext &context, HTTPServerRequest &request,
             HTTPServerResponse &response) {
  DeviceRecord device = authenticateDevice(context, request);
  auto body = readJsonObject(request, kMaxResultsBytes, {"results"});
  auto list = json::getArray(*body, "results", "body");
  if (!list)
    malformed(list.detail());
  if (list.value()->size() > kMaxResultsPerCall)
    malformed("body member results holds more than " +
              std::to_string(kMaxResultsPerCall) + " entries");
  std::int64_t now = std::time(nullptr);
  std::string out = "{\"results\":[";
  for (std::size_t i = 0; i < list.value()->size(); ++i) {
    std::string where = "results[" + std::to_string(i) + "]";
    auto entry =
        json::asObject(list.value()->get(static_cast<unsigned>(i)), where);
    if (!entry)
      malformed(entry.detail());
    const auto &e = *entry.value();
    if (Status s = json::onlyMembers(
            e, {"request", "state", "exit_code", "output", "at"}, where);
        !s)
      malformed(s.detail());
    auto requestId = json::getString(e, "request", where);
    auto state = json::getString(e, "state", where);
    auto at = json::getInteger(e, "at", where);
    if (!requestId)
      malformed(requestId.detail());
    if (!state)
      malformed(state.detail());
    if (!at)
      malformed(at.detail());
    if (state.value() != "succeeded" && state.value() != "failed" &&
        state.value() != "interrupted")
      malformed(where +
                " member state must be succeeded, failed or interrupted");
    std::string resultJson = "{\"state\":" + json::quote(state.value());
    if (e.has("exit_code")) {
      auto code = json::getInteger(e, "exit_code", where);
      if (!code)
        malformed(code.detail());
      resultJson += ",\"exit_code\":" + std::to_string(code.value());
    }
    if (e.has("output")) {
      auto output = json::getString(e, "output", where);
      if (!output)
        malformed(output.detail());
      if (json::codePoints(output.value()) > kMaxResultOutputChars)
        malformed(where + " member output exceeds 64 Ki characters");
      resultJson += ",\"output\":" + json::quote(output.value());
    }
    resultJson += ",\"at\":" + std::to_string(at.value()) + "}";
    auto recorded = context.store->recordResult(
        requestId.value(), device.id, state.value(), resultJson, now,
        AuditEvent{deviceActor(device.id), "device.result", requestId.value(),
                   "{\"state\":" + json::quote(state.value()) + "}"});
    if (!recorded) {
      if (recorded.reason() == "conflict")
        throw HttpError(HTTPResponse::HTTP_CONFLICT, "conflict",
                        recorded.detail());
      if (recorded.reason() == "not_found" ||
          recorded.reason() == "state_changed")
        throw HttpError(HTTPResponse::HTTP_NOT_FOUND, "not_found",
                        recorded.detail());
      storageFailed(recorded.error());
    }
    out += (i ? "," : "") + std::string("{\"request\":") +
           json::quote(requestId.value()) +
           ",\"recorded\":" + (recorded.value() ? "true" : "false") + "}";
  }
  sendJson(response, HTTPResponse::HTTP_OK, out + "]}");
}

// The agent's `libraries` (docs/agent.md "Reported versions"): at most 16 entries of
// exactly {name 1..32, version 1..64, from 1..256 characters}, no control characters
// (the CLI prints them to a terminal), names distinct; written back in that form. Not
// facts: policies never see them.
std::string checkedLibrariesJson(const Poco::JSON::Object &body) {
  auto list = json::getArray(body, "libraries", "body");
  if (!list)
    malformed(list.detail());
  if (list.value()->size() > 16)
    malformed("body member libraries holds at most 16 entries");
  std::set<std::string> names;
  std::string out = "[";
  for (std::size_t i = 0; i < list.value()->size(); ++i) {
    std::string where = "libraries[" + std::to_string(i) + "]";
    auto entry = json::asObject(list.value()->get(static_cast<unsigned>(i)), where);
    if (!entry)
      malformed(entry.detail());
    if (Status s = json::onlyMembers(*entry.value(), {"name", "version", "from"}, where); !s)
      malformed(s.detail());
    out += i ? "," : "";
    const char *sep = "{";
    for (auto [key, most] : {std::pair<const char *, std::size_t>{"name", 32},
                             {"version", 64}, {"from", 256}}) {
      auto value = json::getString(*entry.value(), key, where);
      if (!value)
        malformed(value.detail());
      const std::string &text = value.value();
      if (text.empty() || json::codePoints(text) > most)
        malformed(where + " member " + key + " must be 1.." + std::to_string(most) +
                  " characters");
      if (hasControlCharacter(text))
        malformed(where + " member " + key + " holds a control character");
      if (std::string_view(key) == "name" && !names.insert(text).second)
        malformed(where + " names " + text + " again");
      out += sep + json::quote(key) + ":" + json::quote(text);
      sep = ",";
    }
    out += "}";
  }
  return out + "]";
}

void facts(ServerContext &context, HTTPServerRequest &request,
           HTTPServerResponse &response) {
  DeviceRecord device = authenticateDevice(context, request);
  auto body = readJsonObject(request, kMaxFactsBytes,
                             {"id", "hostname", "ownership", "platform",
                              "os_version", "groups", "tags", "agent_version",
                              "bundle_version", "libraries"});
  // The agent's program and trust bundle versions travel with the facts but are
  // not facts (policies never see them): both or neither.
  auto agentVersion = optionalString(*body, "agent_version");
  auto bundleVersion = optionalInteger(*body, "bundle_version");
  if (agentVersion.has_value() != bundleVersion.has_value())
    malformed("body members agent_version and bundle_version come together");
  if (agentVersion && (agentVersion->empty() || json::codePoints(*agentVersion) > 64))
    malformed("body member agent_version must be 1..64 characters");
  if (bundleVersion && *bundleVersion < 1)
    malformed("body member bundle_version must be at least 1");
  std::optional<std::string> libraries;
  if (body->has("libraries")) {
    if (!agentVersion)
      malformed("body member libraries comes with agent_version");
    libraries = checkedLibrariesJson(*body);
  }
  body->remove("agent_version");
  body->remove("bundle_version");
  body->remove("libraries");
  std::string factsJson = checkedFactsJson(*body, device.id);
  if (Status s = context.store->updateDeviceFacts(device.id, factsJson,
                                                  std::time(nullptr));
      !s)
    storageFailed(s.error());
  if (agentVersion) {
    if (Status s = context.store->setDeviceVersions(
            device.id, *agentVersion, *bundleVersion, libraries.value_or(""));
        !s)
      storageFailed(s.error());
  }
  response.set("Cache-Control", "no-store");
  response.setStatusAndReason(HTTPResponse::HTTP_NO_CONTENT);
  response.setContentLength(0);
  response.send();
}

} // namespace

std::string checkedFactsJson(const Poco::JSON::Object &facts,
                             const std::string &deviceId) {
  const char *w = "facts";
  if (Status s = json::onlyMembers(facts,
                                   {"id", "hostname", "ownership", "platform",
                                    "os_version", "groups", "tags"},
                                   w);
      !s)
    malformed(s.detail());
  Poco::JSON::Object::Ptr out(
      new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER));
  if (facts.has("id")) {
    auto id = json::getString(facts, "id", w);
    if (!id)
      malformed(id.detail());
    if (id.value() != deviceId)
      malformed("facts member id must be this device's id, " + deviceId);
  }
  out->set("id", deviceId);
  for (const char *key : {"hostname", "ownership", "platform", "os_version"}) {
    if (!facts.has(key))
      continue;
    auto v = json::getString(facts, key, w);
    if (!v)
      malformed(v.detail());
    if (json::codePoints(v.value()) > 256)
      malformed(std::string("facts member ") + key + " exceeds 256 characters");
    out->set(key, v.value());
  }
  if (out->has("ownership")) {
    std::string o = out->getValue<std::string>("ownership");
    if (o != "corporate" && o != "personal" && o != "unknown")
      malformed(
          "facts member ownership must be corporate, personal or unknown");
  }
  if (facts.has("groups")) {
    auto groups = json::getArray(facts, "groups", w);
    if (!groups)
      malformed(groups.detail());
    jsonArrayOfStrings(groups.value(), "facts member groups");
    out->set("groups", groups.value());
  }
  if (facts.has("tags")) {
    auto tags = json::getObject(facts, "tags", w);
    if (!tags)
      malformed(tags.detail());
    for (const auto &[k, v] : *tags.value())
      if (!v.isString())
        malformed("facts member tags." + k + " must be a string");
    out->set("tags", tags.value());
  }
  return json::stringify(out);
}

void addAgentRoutes(ServerContext &context) {
  Router &r = context.router;
  r.add("POST", "/api/v1/agent/enroll",
        [&context](HTTPServerRequest &rq, HTTPServerResponse &rs,
                   const PathParams &) { enroll(context, rq, rs); });
  r.add("GET", "/api/v1/agent/bundles",
        [&context](HTTPServerRequest &rq, HTTPServerResponse &rs,
                   const PathParams &) { bundles(context, rq, rs); });
  r.add("GET", "/api/v1/agent/tokens",
        [&context](HTTPServerRequest &rq, HTTPServerResponse &rs,
                   const PathParams &) { tokens(context, rq, rs); });
  r.add("POST", "/api/v1/agent/results",
        [&context](HTTPServerRequest &rq, HTTPServerResponse &rs,
                   const PathParams &) { results(context, rq, rs); });
  r.add("PUT", "/api/v1/agent/facts",
        [&context](HTTPServerRequest &rq, HTTPServerResponse &rs,
                   const PathParams &) { facts(context, rq, rs); });
}

} // namespace keyturn::server
