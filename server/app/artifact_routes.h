// Artifacts for app.install source "artifact" (issue 4; docs/coordinator.md "Artifacts").
//
//   POST /api/v1/artifacts?name=N  (role artifacts.write) body: the bytes, Content-Type
//        application/octet-stream -> 201 {"sha256","size","name","uploaded_by",
//        "uploaded_at","created":true}, or 200 with created false when the same bytes
//        were uploaded before; 413 too_large over keyturn.artifacts.max_bytes
//   GET  /api/v1/artifacts -> 200 {"artifacts":[...]} (any signed-in admin)
//   GET  /api/v1/agent/artifacts/{sha256} (mutual TLS) -> 200 the bytes, only while a
//        token issued to this device and without a result installs it; 403 forbidden
//        otherwise, 404 not_found for an unknown artifact (both audited)
#pragma once

#include "app/server_context.h"
#include "service/artifact_library.h"

namespace keyturn::server {

// Borrows both; they must outlive the router.
void addArtifactRoutes(ServerContext& context, ArtifactLibrary& library);

}  // namespace keyturn::server
