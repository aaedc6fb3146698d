#include "app/login_routes.h"

#include <ctime>

#include "app/auth.h"
#include "app/http_error.h"
#include "app/request_body.h"
#include "keyturn/json.h"
#include "keyturn/login.h"
#include "keyturn/token.h"

namespace keyturn::server {

using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

namespace {

constexpr std::size_t kMaxLoginBytes = 16 * 1024;

void throwStorage(const Error &e) {
  throw HttpError(HTTPResponse::HTTP_SERVICE_UNAVAILABLE, e.reason, e.detail);
}

// Audits a refused login and answers 401 with the reason. The actor is the
// principal the challenge was issued for when known; a refusal is never silent.
[[noreturn]] void refuse(ServerContext &context, const std::string &actor,
                         const std::string &reason, const std::string &detail,
                         std::int64_t now) {
  auto logged = context.store->appendAudit(
      AuditEvent{actor.empty() ? "anonymous" : actor, "login.refused", actor,
                 "{\"reason\":" + json::quote(reason) + "}"},
      now);
  if (!logged)
    throwStorage(logged.error());
  throw HttpError(HTTPResponse::HTTP_UNAUTHORIZED, reason, detail);
}

void challenge(ServerContext &context, HTTPServerRequest &request,
               HTTPServerResponse &response) {
  auto body = readJsonObject(request, kSmallBody, {"principal"});
  std::string principal = requiredString(*body, "principal");
  if (!validPrincipalId(principal))
    throw HttpError(HTTPResponse::HTTP_BAD_REQUEST, "malformed",
                    "body member principal must match [A-Za-z0-9._@-]{1,64}");
  std::int64_t now = std::time(nullptr);
  // The same answer whether or not the principal exists: checkLogin refuses a
  // principal outside the bundle, so this challenge can never open a session.
  std::string nonce = randomToken(32);
  ChallengeRecord record{secretHash(nonce), principal, now + kChallengeSeconds};
  if (Status s = context.store->insertChallenge(record); !s)
    throwStorage(s.error());
  sendJson(response, HTTPResponse::HTTP_OK,
           "{\"challenge\":" + json::quote(nonce) +
               ",\"expires\":" + std::to_string(record.expires) +
               ",\"audience\":" + json::quote(loginAudience(context.config)) +
               ",\"tenant\":" + json::quote(context.config.tenant) + "}");
}

void login(ServerContext &context, HTTPServerRequest &request,
           HTTPServerResponse &response) {
  std::string text = readJsonText(request, kMaxLoginBytes);
  std::int64_t now = std::time(nullptr);
  auto bundle = context.bundle.current(now);
  if (!bundle)
    throwStorage(bundle.error());
  auto proof = checkLogin(bundle.value()->bundle, text,
                          loginAudience(context.config), now);
  if (!proof)
    refuse(context, "", proof.reason(), proof.detail(), now);
  // Single use: the challenge row is deleted here, so a replayed login finds
  // nothing.
  auto issued =
      context.store->consumeChallenge(secretHash(proof->challenge), now);
  if (!issued) {
    if (issued.reason() != "not_found")
      throwStorage(issued.error());
    refuse(context, proof->principal, "unknown_challenge",
           "the challenge is unknown, used or expired; ask for a new one", now);
  }
  if (issued->principal != proof->principal)
    refuse(context, proof->principal, "unknown_challenge",
           "the challenge was issued to another principal", now);
  std::string token = randomToken(32);
  SessionRecord session{secretHash(token), proof->principal, now,
                        now + kMaxSessionSeconds};
  if (Status s = context.store->insertSession(session); !s)
    throwStorage(s.error());
  auto logged = context.store->appendAudit(
      AuditEvent{proof->principal, "login", proof->principal,
                 "{\"expires\":" + std::to_string(session.expires) + "}"},
      now);
  if (!logged)
    throwStorage(logged.error());
  sendJson(response, HTTPResponse::HTTP_OK,
           "{\"session\":" + json::quote(token) +
               ",\"principal\":" + json::quote(proof->principal) +
               ",\"expires\":" + std::to_string(session.expires) + "}");
}

void logout(ServerContext &context, HTTPServerRequest &request,
            HTTPServerResponse &response) {
  authenticateAdmin(context, request);
  const std::string header = request.get("Authorization", "");
  std::string token = header.substr(header.find(' ') + 1);
  if (Status s = context.store->deleteSession(secretHash(token));
      !s && s.reason() != "not_found")
    throwStorage(s.error());
  sendJson(response, HTTPResponse::HTTP_OK, "{\"logged_out\":true}");
}

} // namespace

std::string loginAudience(const ServerConfig &config) {
  return "https://" + config.hostname;
}

void addLoginRoutes(ServerContext &context) {
  context.router.add(
      "POST", "/api/v1/login/challenge",
      [&context](HTTPServerRequest &rq, HTTPServerResponse &rs,
                 const PathParams &) { challenge(context, rq, rs); });
  context.router.add(
      "POST", "/api/v1/login",
      [&context](HTTPServerRequest &rq, HTTPServerResponse &rs,
                 const PathParams &) { login(context, rq, rs); });
  context.router.add(
      "POST", "/api/v1/logout",
      [&context](HTTPServerRequest &rq, HTTPServerResponse &rs,
                 const PathParams &) { logout(context, rq, rs); });
}

} // namespace keyturn::server
