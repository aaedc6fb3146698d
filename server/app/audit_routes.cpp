#include "app/audit_routes.h"

#include "app/auth.h"
#include "app/http_error.h"
#include "app/request_body.h"
#include "keyturn/json.h"
#include "store/audit_log.h"

namespace keyturn::server {

using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

namespace {

[[noreturn]] void storageFailed(const Error &e) {
  throw HttpError(HTTPResponse::HTTP_SERVICE_UNAVAILABLE, e.reason, e.detail);
}

std::string chainJson(const AuditReport &report) {
  if (report.ok())
    return "\"ok\"";
  return "{\"broken_at\":" + std::to_string(*report.brokenSeq) +
         ",\"reason\":" + json::quote(report.reason) +
         ",\"detail\":" + json::quote(report.detail) + "}";
}

// An optional text filter: at most 256 bytes of printable ASCII.
std::optional<std::string> textFilter(HTTPServerRequest &request,
                                      const std::string &name) {
  auto v = queryParam(request, name);
  if (!v)
    return std::nullopt;
  if (v->empty() || v->size() > 256)
    throw HttpError(HTTPResponse::HTTP_BAD_REQUEST, "malformed",
                    "query parameter " + name + " must be 1 to 256 characters");
  if (hasControlCharacter(*v))
    throw HttpError(HTTPResponse::HTTP_BAD_REQUEST, "malformed",
                    "query parameter " + name + " holds a control character");
  return v;
}

void list(ServerContext &context, HTTPServerRequest &request,
          HTTPServerResponse &response) {
  Caller caller = authenticateAdmin(context, request);
  requireRole(caller, "audit.read");
  AuditFilter filter;
  filter.fromSeq = queryInteger(request, "from", 1, 1, json::kMaxInteger);
  filter.limit =
      queryInteger(request, "limit", kDefaultAuditPage, 1, kMaxAuditPage);
  filter.event = textFilter(request, "event");
  filter.actor = textFilter(request, "actor");
  filter.subject = textFilter(request, "subject");
  // `request` is the subject of every request event: the request's whole story.
  if (auto id = textFilter(request, "request")) {
    if (filter.subject && *filter.subject != *id)
      throw HttpError(HTTPResponse::HTTP_BAD_REQUEST, "malformed",
                      "query parameters subject and request differ");
    filter.subject = id;
  }
  if (queryParam(request, "since"))
    filter.since = queryInteger(request, "since", 0, 0, json::kMaxInteger);
  if (queryParam(request, "until"))
    filter.until = queryInteger(request, "until", 0, 0, json::kMaxInteger);
  if (filter.since && filter.until && *filter.since >= *filter.until)
    throw HttpError(HTTPResponse::HTTP_BAD_REQUEST, "malformed",
                    "query parameter since must be before until");
  auto entries = context.store->listAuditFiltered(filter);
  if (!entries)
    storageFailed(entries.error());
  // The chain is verified whole, from seq 1, whatever the page or the filters
  // show: a page of intact entries says nothing about the rest.
  AuditLog log(*context.store);
  auto report = log.verify();
  if (!report)
    storageFailed(report.error());
  std::string out = "{\"entries\":[";
  for (std::size_t i = 0; i < entries->size(); ++i)
    out += (i ? "," : "") + AuditLog::toJsonLine(entries.value()[i]);
  std::string next = static_cast<std::int64_t>(entries->size()) == filter.limit
                         ? std::to_string(entries->back().seq + 1)
                         : "null";
  sendJson(response, HTTPResponse::HTTP_OK,
           out + "],\"next\":" + next +
               ",\"chain\":" + chainJson(report.value()) +
               ",\"chain_checked\":" + std::to_string(report->entries) +
               "}");
}

void exportLines(ServerContext &context, HTTPServerRequest &request,
                 HTTPServerResponse &response) {
  Caller caller = authenticateAdmin(context, request);
  requireRole(caller, "audit.read");
  response.setStatusAndReason(HTTPResponse::HTTP_OK);
  response.setContentType("application/x-ndjson");
  response.set("Cache-Control", "no-store");
  response.set("Content-Disposition",
               "attachment; filename=\"keyturn-audit.jsonl\"");
  response.setChunkedTransferEncoding(true);
  AuditLog log(*context.store);
  // Streamed: a long log is never held in memory. A failure halfway cuts the
  // stream, which the verifier reports, and is logged here.
  Status s = log.exportJsonLines(response.send());
  if (!s)
    context.log.error("audit export failed",
                      {LogField::str("reason", s.reason()),
                       LogField::str("detail", s.detail())});
}

} // namespace

void addAuditRoutes(ServerContext &context) {
  context.router.add("GET", "/api/v1/audit",
                     [&context](HTTPServerRequest &rq, HTTPServerResponse &rs,
                                const PathParams &) { list(context, rq, rs); });
  context.router.add(
      "GET", "/api/v1/audit/export",
      [&context](HTTPServerRequest &rq, HTTPServerResponse &rs,
                 const PathParams &) { exportLines(context, rq, rs); });
}

} // namespace keyturn::server
