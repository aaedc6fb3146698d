// /metrics (issue 7) on the real keyturn-server: its own bind address, a bearer token
// when configured, the Prometheus text format checked by Prometheus's own
// `promtool check metrics`, and values that follow what happened.
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <signal.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sys/wait.h>

#include "app/init_command.h"
#include "app/metrics_text.h"
#include "https_client.h"
#include "keyturn/crypto_util.h"
#include "server_process.h"
#include "store/sqlite_store.h"
#include "temp_dir.h"

using namespace keyturn;
using namespace keyturn::server;
using namespace keyturn::test;

namespace {

struct Reply {
  int status = 0;
  std::string body;
};

Reply get(int port, const std::string& path, const std::string& auth = "") {
  Poco::Net::HTTPClientSession s("127.0.0.1", static_cast<Poco::UInt16>(port));
  Poco::Net::HTTPRequest rq(Poco::Net::HTTPRequest::HTTP_GET, path, Poco::Net::HTTPMessage::HTTP_1_1);
  if (!auth.empty()) rq.set("Authorization", auth);
  s.sendRequest(rq);
  Poco::Net::HTTPResponse rs;
  std::istream& in = s.receiveResponse(rs);
  Reply r;
  r.status = static_cast<int>(rs.getStatus());
  Poco::StreamCopier::copyToString(in, r.body);
  return r;
}

// promtool's exit status and output for `text`.
std::pair<int, std::string> promtool(const TempDir& tmp, const std::string& text) {
  std::string in = tmp / "metrics.txt", out = tmp / "promtool.out";
  std::ofstream(in) << text;
  int rc = std::system(("/usr/bin/promtool check metrics < " + in + " > " + out + " 2>&1").c_str());
  std::ifstream o(out);
  std::string report((std::istreambuf_iterator<char>(o)), std::istreambuf_iterator<char>());
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, report};
}

}  // namespace

TEST_CASE("metrics text helpers: escaped labels, histograms with cumulative buckets",
          "[metrics]") {
  CHECK(metrics::labels({{"a", "x\"y\\z\nw"}}) == "{a=\"x\\\"y\\\\z\\nw\"}");
  std::ostringstream out;
  metrics::histogram(out, "t_seconds", "help", {10, 100}, {5, 10, 50, 500});
  CHECK(out.str() ==
        "# HELP t_seconds help\n# TYPE t_seconds histogram\n"
        "t_seconds_bucket{le=\"10\"} 2\nt_seconds_bucket{le=\"100\"} 3\n"
        "t_seconds_bucket{le=\"+Inf\"} 4\nt_seconds_sum 565\nt_seconds_count 4\n");
}

TEST_CASE("/metrics on its own address: token required, promtool accepts the output",
          "[metrics][process]") {
  TempDir tmp;
  std::string dir = tmp / "data";
  auto c = InitCommand::initialize(dir, "contoso", "localhost");
  REQUIRE(c);
  REQUIRE(writeFileAtomic(tmp / "metrics.token", "metrics-token-0123456789\n", 0600).empty());
  {
    std::ofstream props(configPath(dir), std::ios::app);
    props << "keyturn.metrics.bind = 127.0.0.1:0\n"
          << "keyturn.metrics.token_file = " << (tmp / "metrics.token") << "\n";
  }
  {
    auto store = SqliteStore::open(c->database);
    REQUIRE(store);
    REQUIRE(store.value()->insertNotifications(
        {{"r-1:request.ready", "request.ready", "r-1", "[\"alice\"]", "{}", std::time(nullptr)}}));
  }
  ServerProcess server({"run", "--data", dir, "--port", "0", "--log-format", "json"});
  std::string line = server.waitForLine("metrics listening");
  INFO(server.stderrText());
  REQUIRE_FALSE(line.empty());
  const int port = portFromLog(line);
  REQUIRE(port > 0);
  const int apiPort = portFromLog(server.waitForLine("\"msg\":\"listening\""));
  REQUIRE(apiPort > 0);
  // Traffic on the API shows up by route and status.
  CHECK(HttpsClient(c->caCertificate, apiPort).send("GET", "/healthz").status == 200);
  CHECK(HttpsClient(c->caCertificate, apiPort).send("GET", "/nowhere/at/all").status == 404);

  CHECK(get(port, "/metrics").status == 401);
  CHECK(get(port, "/metrics", "Bearer wrong-token-0123456789").status == 401);
  CHECK(get(port, "/other", "Bearer metrics-token-0123456789").status == 404);
  Reply r = get(port, "/metrics", "Bearer metrics-token-0123456789");
  REQUIRE(r.status == 200);
  INFO(r.body);
  CHECK_THAT(r.body, Catch::Contains("keyturn_requests{state=\"needs_approval\"} 0"));
  CHECK_THAT(r.body, Catch::Contains("keyturn_bundle_version 0"));
  CHECK_THAT(r.body,
             Catch::Contains("keyturn_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"));
  CHECK_THAT(r.body,
             Catch::Contains("keyturn_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1"));
  CHECK_THAT(r.body, Catch::Contains("keyturn_time_to_approve_seconds_bucket{le=\"+Inf\"} 0"));
  CHECK_THAT(r.body, Catch::Contains("keyturn_agent_last_contact_age_seconds_count 0"));
  auto [rc, report] = promtool(tmp, r.body);
  INFO(report);
  CHECK(rc == 0);
  // The checker is not a rubber stamp: a counter without _total fails it.
  auto [badRc, badReport] = promtool(tmp, "# HELP x y\n# TYPE x counter\nx 1\n");
  INFO(badReport);
  CHECK(badRc != 0);
  REQUIRE(server.stop(SIGTERM) == 0);
}
