// The web console's files served by `keyturn-server run` (docs/web.md): from
// keyturn.web.root, before the trust bundle too, with the security headers on every
// response, and nothing outside the folder (no "..", no dot files, no symlink out,
// no unknown file type).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "app/init_command.h"
#include "app/web_assets.h"
#include "https_client.h"
#include "server_process.h"
#include "temp_dir.h"

using namespace keyturn;
using namespace keyturn::test;

namespace {

void writeText(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

}  // namespace

TEST_CASE("the console is served from keyturn.web.root with strict headers, and nothing else is",
          "[web][api]") {
  TempDir tmp;
  std::string dir = tmp / "data";
  auto c = server::InitCommand::initialize(dir, "contoso", "localhost");
  REQUIRE(c);
  server::ServerConfig config = c.value();
  config.bind = "127.0.0.1:8443";
  std::filesystem::path root = tmp / "web";
  config.webRoot = root.string();
  REQUIRE(config.save(dir));
  writeText(root / "index.html", "<!doctype html><title>console</title>");
  writeText(root / "app.js", "export const x = 1;\n");
  writeText(root / "pages/list.js", "export const y = 2;\n");
  writeText(root / ".secret.js", "hidden");
  writeText(root / "notes.md", "not a served type");
  writeText(tmp / "outside.js", "outside");
  std::filesystem::create_symlink(tmp / "outside.js", root / "leak.js");

  ServerProcess process({"run", "--data", dir, "--port", "0", "--log-format", "json"});
  std::string line = process.waitForLine("listening");
  INFO(process.stderrText());
  int port = portFromLog(line);
  REQUIRE(port > 0);
  HttpsClient client(config.caCertificate, port);

  // Served before the ceremony: the console says what to do; the API answers 503.
  for (const char* path : {"/", "/ui", "/ui/"}) {
    HttpReply r = client.send("GET", path);
    INFO(path);
    CHECK(r.status == 200);
    CHECK(r.contentType == "text/html; charset=utf-8");
    CHECK(r.body == "<!doctype html><title>console</title>");
  }
  HttpReply js = client.send("GET", "/ui/pages/list.js");
  CHECK(js.status == 200);
  CHECK(js.contentType == "text/javascript; charset=utf-8");
  CHECK(js.body == "export const y = 2;\n");
  CHECK(js.headers["Cache-Control"] == "no-cache");
  CHECK(client.send("HEAD", "/ui/app.js").status == 200);

  for (const char* path : {"/ui/../keyturn-server.properties", "/ui/pages/../app.js",
                           "/ui/.secret.js", "/ui/leak.js", "/ui/notes.md", "/ui/missing.js",
                           "/ui//app.js", "/ui/%2e%2e/outside.js", "/index.html"}) {
    INFO(path);
    CHECK(client.send("GET", path).status == 404);
  }
  HttpReply post = client.send("POST", "/ui/app.js", "{}");
  CHECK(post.status == 405);
  CHECK(post.allow == "GET, HEAD");

  // Every response carries the headers, the console's and the API's (errors too).
  for (const char* path : {"/", "/ui/app.js", "/healthz", "/api/v1/requests", "/nowhere"}) {
    HttpReply r = client.send("GET", path);
    INFO(path << " " << r.status);
    const std::string& csp = r.headers["Content-Security-Policy"];
    CHECK(csp.find("script-src 'self';") != std::string::npos);
    CHECK(csp.find("frame-ancestors 'none'") != std::string::npos);
    CHECK(csp.find("unsafe-inline") == std::string::npos);
    CHECK(r.headers["X-Content-Type-Options"] == "nosniff");
    CHECK(r.headers["Referrer-Policy"] == "no-referrer");
    CHECK(r.headers["X-Frame-Options"] == "DENY");
  }
}

TEST_CASE("keyturn.web.root must be absolute", "[web]") {
  TempDir tmp;
  std::string dir = tmp / "data";
  auto c = server::InitCommand::initialize(dir, "contoso", "localhost");
  REQUIRE(c);
  server::ServerConfig config = c.value();
  config.webRoot = "relative/web";
  REQUIRE(config.save(dir));
  auto loaded = server::ServerConfig::load(dir);
  CHECK(loaded.reason() == "malformed");
  CHECK(loaded.detail().find("keyturn.web.root") != std::string::npos);
  config.webRoot = "";
  REQUIRE(config.save(dir));
  auto fallback = server::ServerConfig::load(dir);
  REQUIRE(fallback);
  CHECK(fallback->webRoot == server::defaultWebRoot());
}
