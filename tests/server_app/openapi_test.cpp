// docs/openapi.yaml and the routes the server registers stay in step: every
// (method, path) the coordinator serves is documented, and every documented one
// is served. The routes are built in-process exactly as
// CoordinatorApplication::build() adds them.
#include <catch2/catch.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "api_server.h"
#include "app/agent_routes.h"
#include "app/artifact_routes.h"
#include "app/audit_routes.h"
#include "app/notification_routes.h"
#include "app/device_routes.h"
#include "app/login_routes.h"
#include "app/openapi_document.h"
#include "app/request_routes.h"
#include "app/system_routes.h"
#include "keyturn/crypto_util.h"

using namespace keyturn;
using namespace keyturn::test;
using Route = std::pair<std::string, std::string>;

namespace {

// "  /path:" opens a path; "    get:" (4 spaces) names one of its operations.
std::set<Route> documentedRoutes(const std::string &yaml) {
  static const std::regex kPath("^  (/[^:\\s]*):\\s*$");
  static const std::regex kMethod(
      "^    (get|put|post|delete|patch|head|options):");
  std::set<Route> out;
  std::istringstream in(yaml);
  std::string line, path;
  bool inPaths = false;
  std::smatch m;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != ' ' && line[0] != '#')
      inPaths = line.rfind("paths:", 0) == 0;
    if (!inPaths)
      continue;
    if (std::regex_match(line, m, kPath)) {
      path = m[1];
    } else if (!path.empty() && std::regex_search(line, m, kMethod)) {
      std::string method = m[1];
      for (char &c : method)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      out.emplace(method, path);
    }
  }
  return out;
}

std::set<Route> registeredRoutes() {
  TempDir tmp;
  std::ostringstream logText;
  server::LogSink log(server::LogSink::Format::kJson, logText);
  auto store = server::SqliteStore::open(tmp / "keyturn.db");
  REQUIRE(store);
  server::ServerContext context{
      server::ServerConfig{},
      log,
      server::BundleState(tmp / "bundle.json", "contoso"),
      server::Router{},
      std::move(store).value(),
      nullptr,
      server::DeliveryNotifier{},
      server::HttpMetrics{},
      server::IdlePolls{}};
  server::addSystemRoutes(context);
  server::addLoginRoutes(context);
  server::addDeviceRoutes(context);
  server::addAgentRoutes(context);
  server::addAuditRoutes(context);
  server::addNotificationRoutes(context);
  server::ArtifactLibrary artifacts(*context.store, tmp / "artifacts", 1024);
  server::addArtifactRoutes(context, artifacts);
  server::addOpenApiRoute(context);
  server::Workflow workflow(
      *context.store, testKey(7), server::WorkflowOptions{},
      [] { return std::int64_t{0}; },
      [](std::shared_ptr<const AcceptedBundle>) { return Status::ok(); });
  server::addRequestRoutes(context, workflow);
  auto routes = context.router.routes();
  return std::set<Route>(routes.begin(), routes.end());
}

} // namespace

TEST_CASE("every registered route is in docs/openapi.yaml and every documented "
          "route is served",
          "[openapi]") {
  std::set<Route> documented =
      documentedRoutes(std::string(server::openApiDocument()));
  std::set<Route> registered = registeredRoutes();
  REQUIRE(documented.size() > 10);
  for (const Route &r : registered) {
    INFO("served but not documented: " << r.first << " " << r.second);
    CHECK(documented.count(r) == 1);
  }
  for (const Route &r : documented) {
    INFO("documented but not served: " << r.first << " " << r.second);
    CHECK(registered.count(r) == 1);
  }
}

TEST_CASE("the embedded document is docs/openapi.yaml, served at "
          "/api/v1/openapi.yaml",
          "[openapi][api]") {
  auto file = readFile(KEYTURN_OPENAPI_FILE, 1 << 22);
  REQUIRE(file);
  CHECK(std::string(server::openApiDocument()) == *file);
  ApiServer server;
  HttpReply r = server.send("GET", "/api/v1/openapi.yaml");
  CHECK(r.status == 200);
  CHECK(r.contentType == "application/yaml");
  CHECK(r.body == *file);
}
