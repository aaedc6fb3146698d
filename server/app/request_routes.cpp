#include "app/request_routes.h"

#include <algorithm>
#include <ctime>
#include <map>

#include "app/auth.h"
#include "app/http_error.h"
#include "app/request_body.h"
#include "keyturn/bundle_verifier.h"
#include "keyturn/crypto_util.h"
#include "keyturn/json.h"

namespace keyturn::server {

using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

namespace {

// Body limits: a submission carries its target list (about 50,000 ids per MiB);
// a proposal carries a whole bundle (at most 8 MiB); the others a signature and
// notes.
constexpr std::size_t kSubmitBody = 4u * 1024u * 1024u;
constexpr std::size_t kProposalBody = kMaxBundleBytes + 64u * 1024u;
constexpr std::size_t kActionBody = 64u * 1024u;

[[noreturn]] void fail(const Error& e) { throw HttpError(statusFor(e.reason), e.reason, e.detail); }

template <class T>
T check(Result<T> r) {
  if (!r) fail(r.error());
  return std::move(r).value();
}
void check(const Status& s) {
  if (!s) fail(s.error());
}

std::string requiredArrayOfStrings(const Poco::JSON::Object& o, const std::string& key,
                                   std::vector<std::string>& out) {
  auto array = json::getArray(o, key, "body");
  if (!array) throw HttpError(HTTPResponse::HTTP_BAD_REQUEST, "malformed", array.detail());
  for (std::size_t i = 0; i < array.value()->size(); ++i) {
    auto s = json::asString(array.value()->get(i), "body." + key + "[" + std::to_string(i) + "]");
    if (!s) throw HttpError(HTTPResponse::HTTP_BAD_REQUEST, "malformed", s.detail());
    out.push_back(s.value());
  }
  return key;
}

std::string requiredJws(const Poco::JSON::Object& o, const std::string& key) {
  auto v = json::getObject(o, key, "body");
  if (!v) throw HttpError(HTTPResponse::HTTP_BAD_REQUEST, "malformed", v.detail());
  return json::stringify(v.value());
}

// A body that may be absent (cancel, and completing a bundle proposal): empty,
// or a JSON object with only `allowed` members.
Poco::JSON::Object::Ptr optionalBody(HTTPServerRequest& request,
                                     std::initializer_list<std::string_view> allowed) {
  bool hasBody = (request.hasContentLength() && request.getContentLength64() > 0) ||
                 request.getChunkedTransferEncoding();
  if (!hasBody) return new Poco::JSON::Object;
  return readJsonObject(request, kActionBody, allowed);
}

}  // namespace

HTTPResponse::HTTPStatus statusFor(const std::string& reason) {
  static const std::map<std::string, HTTPResponse::HTTPStatus> kStatus = {
      {"malformed", HTTPResponse::HTTP_BAD_REQUEST},
      {"unsupported_alg", HTTPResponse::HTTP_BAD_REQUEST},
      {"notes_required", HTTPResponse::HTTP_BAD_REQUEST},
      {"justification_required", HTTPResponse::HTTP_BAD_REQUEST},
      {"requester_mismatch", HTTPResponse::HTTP_FORBIDDEN},
      {"self_approval", HTTPResponse::HTTP_FORBIDDEN},
      {"not_an_approver", HTTPResponse::HTTP_FORBIDDEN},
      {"unknown_principal", HTTPResponse::HTTP_FORBIDDEN},
      {"not_requester", HTTPResponse::HTTP_FORBIDDEN},
      {"forbidden", HTTPResponse::HTTP_FORBIDDEN},
      {"policy_denied", HTTPResponse::HTTP_FORBIDDEN},
      {"not_found", HTTPResponse::HTTP_NOT_FOUND},
      {"already_approved", HTTPResponse::HTTP_CONFLICT},
      {"duplicate_request", HTTPResponse::HTTP_CONFLICT},
      {"wrong_state", HTTPResponse::HTTP_CONFLICT},
      {"not_approved", HTTPResponse::HTTP_CONFLICT},
      {"request_expired", HTTPResponse::HTTP_CONFLICT},
      {"bundle_stale", HTTPResponse::HTTP_CONFLICT},
      {"rollback", HTTPResponse::HTTP_CONFLICT},
      {"version_gap", HTTPResponse::HTTP_CONFLICT},
      {"threshold_not_met", HTTPResponse::HTTP_CONFLICT},
      {"insufficient_approvals", HTTPResponse::HTTP_CONFLICT},
      {"storage", HTTPResponse::HTTP_SERVICE_UNAVAILABLE},
      {"issuer_not_trusted", HTTPResponse::HTTP_SERVICE_UNAVAILABLE},
      {"no_trust_bundle", HTTPResponse::HTTP_SERVICE_UNAVAILABLE},
  };
  auto it = kStatus.find(reason);
  // Everything else is signed content that does not check: targets_mismatch,
  // unknown_device, bad_signature, unknown_key, wrong_tenant, not_yet_valid,
  // policy_error, bundle_expired.
  return it == kStatus.end() ? HTTPResponse::HTTP_UNPROCESSABLE_ENTITY : it->second;
}

void addRequestRoutes(ServerContext& context, Workflow& workflow) {
  Router& router = context.router;
  auto show = [&workflow](HTTPServerResponse& response, const Caller& caller, const std::string& id,
                          HTTPResponse::HTTPStatus status) {
    sendJson(response, status, check(workflow.show(*caller.bundle, caller.principal, id)));
  };

  router.add("GET", "/api/v1/requests",
             [&context, &workflow](HTTPServerRequest& request, HTTPServerResponse& response,
                                   const PathParams&) {
               Caller caller = authenticateAdmin(context, request);
               std::string view = queryParam(request, "view").value_or("mine");
               RequestView v = RequestView::kMine;
               if (view == "received")
                 v = RequestView::kReceived;
               else if (view == "all")
                 v = RequestView::kAll;
               else if (view != "mine")
                 throw HttpError(HTTPResponse::HTTP_BAD_REQUEST, "malformed",
                                 "query view must be mine, received or all");
               std::string st = queryParam(request, "state").value_or("");
               static const std::vector<std::string> kStates = {
                   "",          "needs_approval", "approved", "rejected",
                   "cancelled", "expired",        "completed"};
               if (std::find(kStates.begin(), kStates.end(), st) == kStates.end())
                 throw HttpError(HTTPResponse::HTTP_BAD_REQUEST, "malformed",
                                 "query state is not a request state: " + st);
               Workflow::ListFilter filter{st, queryParam(request, "action").value_or(""),
                                           queryParam(request, "requester").value_or(""),
                                           queryParam(request, "device").value_or(""),
                                           queryInteger(request, "limit",
                                                        Workflow::kDefaultListPage, 1,
                                                        Workflow::kMaxListPage),
                                           queryParam(request, "cursor").value_or("")};
               sendJson(response, HTTPResponse::HTTP_OK,
                        check(workflow.list(*caller.bundle, caller.principal, v, filter)));
             });

  router.add("POST", "/api/v1/requests",
             [&context, &workflow, show](HTTPServerRequest& request, HTTPServerResponse& response,
                                         const PathParams&) {
               Caller caller = authenticateAdmin(context, request);
               auto body = readJsonObject(request, kSubmitBody, {"token", "targets"});
               std::string jws = requiredJws(*body, "token");
               std::vector<std::string> targets;
               requiredArrayOfStrings(*body, "targets", targets);
               std::string id =
                   check(workflow.submit(*caller.bundle, caller.principal, jws, targets));
               show(response, caller, id, HTTPResponse::HTTP_CREATED);
             });

  // What a request would need if it were submitted now (nothing is stored or
  // signed): the web console's live view of the required approvals.
  router.add("POST", "/api/v1/requests/preview",
             [&context, &workflow](HTTPServerRequest& request, HTTPServerResponse& response,
                                   const PathParams&) {
               Caller caller = authenticateAdmin(context, request);
               auto body = readJsonObject(request, kSubmitBody, {"action", "params", "targets"});
               std::string action = requiredString(*body, "action");
               std::string params = "{}";
               if (body->has("params")) {
                 auto o = json::getObject(*body, "params", "body");
                 if (!o) throw HttpError(HTTPResponse::HTTP_BAD_REQUEST, "malformed", o.detail());
                 params = json::stringify(o.value());
               }
               std::vector<std::string> targets;
               requiredArrayOfStrings(*body, "targets", targets);
               sendJson(response, HTTPResponse::HTTP_OK,
                        check(workflow.preview(*caller.bundle, caller.principal, action, params,
                                               targets)));
             });

  // The bundle in force, byte for byte as signed (a proposal's diff and
  // `keyturn policy simulate --server` start from it). Any admin may read it: the
  // roster and policies are what every admin is held to.
  router.add("GET", "/api/v1/bundle",
             [&context](HTTPServerRequest& request, HTTPServerResponse& response,
                        const PathParams&) {
               Caller caller = authenticateAdmin(context, request);
               const TrustBundle& b = caller.bundle->bundle;
               response.set("ETag", "\"" + toHex(b.fileSha256) + "\"");
               response.set("Keyturn-Bundle-Version", std::to_string(b.version));
               sendJson(response, HTTPResponse::HTTP_OK, b.fileBytes);
             });

  router.add("POST", "/api/v1/bundle-proposals",
             [&context, &workflow, show](HTTPServerRequest& request, HTTPServerResponse& response,
                                         const PathParams&) {
               Caller caller = authenticateAdmin(context, request);
               auto body = readJsonObject(request, kProposalBody, {"bundle", "justification"});
               std::string bundle = requiredJws(*body, "bundle");
               std::string justification = requiredString(*body, "justification");
               std::string id = check(
                   workflow.proposeBundle(*caller.bundle, caller.principal, bundle, justification));
               show(response, caller, id, HTTPResponse::HTTP_CREATED);
             });

  router.add("GET", "/api/v1/requests/{id}",
             [&context, show](HTTPServerRequest& request, HTTPServerResponse& response,
                              const PathParams& params) {
               Caller caller = authenticateAdmin(context, request);
               show(response, caller, params.at("id"), HTTPResponse::HTTP_OK);
             });

  router.add(
      "POST", "/api/v1/requests/{id}/approve",
      [&context, &workflow, show](HTTPServerRequest& request, HTTPServerResponse& response,
                                  const PathParams& params) {
        Caller caller = authenticateAdmin(context, request);
        auto body = readJsonObject(request, kActionBody, {"protected", "signature", "notes"});
        std::string p = requiredString(*body, "protected");
        std::string s = requiredString(*body, "signature");
        std::string notes = requiredString(*body, "notes");
        check(workflow.approve(*caller.bundle, caller.principal, params.at("id"), p, s, notes));
        show(response, caller, params.at("id"), HTTPResponse::HTTP_OK);
      });

  router.add("POST", "/api/v1/requests/{id}/reject",
             [&context, &workflow, show](HTTPServerRequest& request, HTTPServerResponse& response,
                                         const PathParams& params) {
               Caller caller = authenticateAdmin(context, request);
               auto body = readJsonObject(request, kActionBody, {"notes"});
               std::string notes = requiredString(*body, "notes");
               check(workflow.reject(*caller.bundle, caller.principal, params.at("id"), notes));
               show(response, caller, params.at("id"), HTTPResponse::HTTP_OK);
             });

  router.add("POST", "/api/v1/requests/{id}/complete",
             [&context, &workflow, show](HTTPServerRequest& request, HTTPServerResponse& response,
                                         const PathParams& params) {
               Caller caller = authenticateAdmin(context, request);
               // A bundle proposal completes without a signature: send {} or no body.
               auto body = optionalBody(request, {"protected", "signature"});
               std::string p = optionalString(*body, "protected").value_or("");
               std::string s = optionalString(*body, "signature").value_or("");
               const std::string& id = params.at("id");
               check(workflow.complete(*caller.bundle, caller.principal, id, p, s));
               // Wake the long polls of the devices that just got a token.
               if (auto targets = context.store->targets(id))
                 for (const auto& t : targets.value()) context.deliveries.notifyDevice(t.deviceId);
               // A publication changed the bundle in force: show the request under it.
               auto latest = context.bundle.current(std::time(nullptr));
               Caller after{caller.principal, latest ? latest.value() : caller.bundle};
               show(response, after, id, HTTPResponse::HTTP_OK);
             });

  router.add("POST", "/api/v1/requests/{id}/cancel",
             [&context, &workflow, show](HTTPServerRequest& request, HTTPServerResponse& response,
                                         const PathParams& params) {
               Caller caller = authenticateAdmin(context, request);
               optionalBody(request, {});
               check(workflow.cancel(caller.principal, params.at("id")));
               show(response, caller, params.at("id"), HTTPResponse::HTTP_OK);
             });
}

Status restorePublishedBundles(ServerContext& context, std::time_t now) {
  auto current = context.bundle.current(now);
  if (!current) return Status::ok();  // nothing is in force yet: nothing can follow it
  auto later =
      context.store->bundlesFrom(static_cast<std::int64_t>(current.value()->bundle.version) + 1);
  if (!later) return later.status();
  std::shared_ptr<const AcceptedBundle> in = current.value();
  for (const auto& record : later.value()) {
    auto bytes = readFile(record.file, kMaxBundleBytes);
    if (!bytes) return Status::fail("storage", "cannot read published bundle " + record.file);
    AcceptOptions options;
    options.now = now;
    options.checkExpiry = false;  // re-verifying a stored bundle, as agents do at load
    auto accepted = acceptBundleUpdate(in->bundle, *bytes, options);
    if (!accepted)
      return Status::fail(accepted.reason(), record.file + " does not follow v" +
                                                 std::to_string(in->bundle.version) + ": " +
                                                 accepted.detail());
    auto next = std::make_shared<const AcceptedBundle>(std::move(accepted).value());
    if (Status s = context.bundle.publish(next); !s) return s;
    in = next;
  }
  return Status::ok();
}

}  // namespace keyturn::server
