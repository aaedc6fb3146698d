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

void list(ServerContext &context, HTTPServerRequest &request,
          HTTPServerResponse &response) {
  Caller caller = authenticateAdmin(context, request);
  requireRole(caller, "audit.read");
  std::int64_t from = queryInteger(request, "from", 1, 1, json::kMaxInteger);
  std::int64_t limit =
      queryInteger(request, "limit", kDefaultAuditPage, 1, kMaxAuditPage);
  auto entries = context.store->listAudit(from, limit);
  if (!entries)
    storageFailed(entries.error());
  AuditLog log(*context.store);
  auto report = log.verify();
  if (!report)
    storageFailed(report.error());
  std::string out = "{\"entries\":[";
  for (std::size_t i = 0; i < entries->size(); ++i)
    out += (i ? "," : "") + AuditLog::toJsonLine(entries.value()[i]);
  std::string next = static_cast<std::int64_t>(entries->size()) == limit
                         ? std::to_string(entries->back().seq + 1)
                         : "null";
  sendJson(response, HTTPResponse::HTTP_OK,
           out + "],\"next\":" + next +
               ",\"chain\":" + chainJson(report.value()) + "}");
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
