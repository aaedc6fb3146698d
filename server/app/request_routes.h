// The admin routes of the request workflow (docs/openapi.yaml): list, submit
// and show requests; approve, reject, complete and cancel one; propose the next
// trust bundle (maa.bundle.update). Handlers authenticate the caller, read the
// body, call the Workflow and turn its reason codes into HTTP statuses (one
// table, statusFor()).
#pragma once

#include "app/server_context.h"
#include "service/workflow.h"

namespace keyturn::server {

// Registers every route on context.router. Both arguments must outlive the
// server.
void addRequestRoutes(ServerContext& context, Workflow& workflow);

// The HTTP status of a workflow reason code: 400 bad content, 403 not allowed
// for this caller, 404 unknown, 409 wrong state or duplicate, 422 signed
// content that does not check, 503 storage.
Poco::Net::HTTPResponse::HTTPStatus statusFor(const std::string& reason);

// Later bundles published through maa.bundle.update (store rows with their
// files) are re-verified against the bootstrap bundle, one version at a time,
// and made the bundle in force. Called at startup; ok when there is no bundle
// yet or nothing to restore.
Status restorePublishedBundles(ServerContext& context, std::time_t now);

}  // namespace keyturn::server
