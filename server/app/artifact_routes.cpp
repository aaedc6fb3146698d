#include "app/artifact_routes.h"

#include <Poco/Net/MediaType.h>

#include <ctime>
#include <filesystem>

#include "app/auth.h"
#include "app/device_auth.h"
#include "app/http_error.h"
#include "app/request_body.h"
#include "keyturn/json.h"

namespace keyturn::server {

using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

namespace {

// A refused upload is still read up to this much, so a client still sending gets the
// answer instead of a connection reset.
constexpr std::streamsize kDrainLimit = 1024 * 1024;

void drain(std::istream& in) {
  char buf[8192];
  std::streamsize total = 0;
  while (in && total < kDrainLimit) {
    in.read(buf, sizeof buf);
    total += in.gcount();
  }
}

HTTPResponse::HTTPStatus statusOf(const std::string& reason) {
  if (reason == "too_large") return HTTPResponse::HTTP_REQUEST_ENTITY_TOO_LARGE;
  if (reason == "malformed") return HTTPResponse::HTTP_BAD_REQUEST;
  if (reason == "not_found") return HTTPResponse::HTTP_NOT_FOUND;
  if (reason == "forbidden") return HTTPResponse::HTTP_FORBIDDEN;
  return HTTPResponse::HTTP_SERVICE_UNAVAILABLE;
}

[[noreturn]] void fail(const Error& e) { throw HttpError(statusOf(e.reason), e.reason, e.detail); }

std::string artifactJson(const ArtifactRecord& a) {
  return "{\"sha256\":" + json::quote(a.sha256) + ",\"size\":" + std::to_string(a.size) +
         ",\"name\":" + json::quote(a.name) + ",\"uploaded_by\":" + json::quote(a.uploadedBy) +
         ",\"uploaded_at\":" + std::to_string(a.uploadedAt);
}

void upload(ServerContext& context, ArtifactLibrary& library, HTTPServerRequest& request,
            HTTPServerResponse& response) {
  Caller caller = authenticateAdmin(context, request);
  requireRole(caller, "artifacts.write");
  bool octets = false;
  try {
    octets = Poco::Net::MediaType(request.getContentType()).matches("application", "octet-stream");
  } catch (const Poco::Exception&) {
    octets = false;
  }
  if (!octets) {
    drain(request.stream());
    throw HttpError(HTTPResponse::HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                    "send the artifact as Content-Type: application/octet-stream");
  }
  auto name = queryParam(request, "name");
  if (!name) {
    drain(request.stream());
    throw HttpError(HTTPResponse::HTTP_BAD_REQUEST, "malformed",
                    "query parameter name is required (the file name, for display)");
  }
  if (request.hasContentLength() &&
      request.getContentLength64() > static_cast<Poco::Int64>(library.maxBytes())) {
    drain(request.stream());
    throw HttpError(HTTPResponse::HTTP_REQUEST_ENTITY_TOO_LARGE, "too_large",
                    "the artifact exceeds " + std::to_string(library.maxBytes()) +
                        " bytes (keyturn.artifacts.max_bytes)");
  }
  auto stored = library.upload(request.stream(), *name, caller.principal, std::time(nullptr));
  if (!stored) {
    drain(request.stream());
    fail(stored.error());
  }
  sendJson(response, stored->created ? HTTPResponse::HTTP_CREATED : HTTPResponse::HTTP_OK,
           artifactJson(stored->record) +
               ",\"created\":" + (stored->created ? "true" : "false") + "}");
}

void list(ServerContext& context, ArtifactLibrary& library, HTTPServerRequest& request,
          HTTPServerResponse& response) {
  authenticateAdmin(context, request);
  auto all = library.list();
  if (!all) fail(all.error());
  std::string out = "{\"artifacts\":[";
  for (std::size_t i = 0; i < all->size(); ++i)
    out += (i ? "," : "") + artifactJson(all.value()[i]) + "}";
  sendJson(response, HTTPResponse::HTTP_OK, out + "]}");
}

void fetch(ServerContext& context, ArtifactLibrary& library, HTTPServerRequest& request,
           HTTPServerResponse& response, const PathParams& params) {
  DeviceRecord device = authenticateDevice(context, request);
  auto path = library.pathForDevice(device.id, params.at("sha256"), std::time(nullptr));
  if (!path) fail(path.error());
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path.value(), ec))
    throw HttpError(HTTPResponse::HTTP_NOT_FOUND, "not_found",
                    "artifact " + params.at("sha256") + " is recorded but its file is missing");
  response.set("Cache-Control", "no-store");
  response.sendFile(path.value(), "application/octet-stream");
}

}  // namespace

void addArtifactRoutes(ServerContext& context, ArtifactLibrary& library) {
  Router& r = context.router;
  r.add("POST", "/api/v1/artifacts",
        [&context, &library](HTTPServerRequest& rq, HTTPServerResponse& rs, const PathParams&) {
          upload(context, library, rq, rs);
        });
  r.add("GET", "/api/v1/artifacts",
        [&context, &library](HTTPServerRequest& rq, HTTPServerResponse& rs, const PathParams&) {
          list(context, library, rq, rs);
        });
  r.add("GET", "/api/v1/agent/artifacts/{sha256}",
        [&context, &library](HTTPServerRequest& rq, HTTPServerResponse& rs, const PathParams& p) {
          fetch(context, library, rq, rs, p);
        });
}

}  // namespace keyturn::server
