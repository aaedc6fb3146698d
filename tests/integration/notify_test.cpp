// Notifications end to end (issue 7): the real coordinator configured with a signed
// webhook (an HTTPS receiver on loopback checking the HMAC) and a channel that is down;
// a request submitted with the real CLI reaches its approvers, the failing channel shows
// in `keyturn notify status` and in the audit log.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "keyturn/crypto_util.h"
#include "keyturn/json.h"
#include "server_process.h"
#include "tenant.h"

using namespace keyturn;
using namespace keyturn::test;

TEST_CASE("a submitted request notifies its approvers and notify status shows the failing channel",
          "[integration][cli][notify]") {
  Tenant t;
  t.enroll("laptop-1", R"({"ownership":"corporate"})");
  REQUIRE(writeFileAtomic(t.tmp / "hook.secret", "integration-secret-0123456789\n", 0600).empty());
  const std::string out = t.tmp / "hook.jsonl", portFile = t.tmp / "hook.port";
  ServerProcess receiver("/usr/bin/python3",
                         {std::string(KEYTURN_TEST_TOOLS_DIR) + "/webhook_receiver.py", "--port-file",
                          portFile, "--out", out, "--cert", t.data + "/server.pem", "--key",
                          t.data + "/server.key", "--secret-file", t.tmp / "hook.secret"});
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!std::filesystem::exists(portFile) && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(std::filesystem::exists(portFile));
  const std::string hookPort = readFile(portFile, 16).value();

  // Reconfigure and restart the coordinator.
  REQUIRE(t.server->stop(SIGTERM) == 0);
  {
    std::ofstream props(t.data + "/keyturn-server.properties", std::ios::app);
    props << "keyturn.notify.channels = hook, down\n"
          << "keyturn.notify.channel.hook.type = webhook\n"
          << "keyturn.notify.channel.hook.url = https://localhost:" << hookPort << "/keyturn\n"
          << "keyturn.notify.channel.hook.secret_file = " << (t.tmp / "hook.secret") << "\n"
          << "keyturn.notify.channel.hook.ca_file = " << t.ca << "\n"
          << "keyturn.notify.channel.down.type = slack\n"
          << "keyturn.notify.channel.down.url = http://127.0.0.1:1/nothing-listens-here\n"
          << "keyturn.notify.channel.down.allow_http = true\n"
          << "keyturn.notify.route.group.device-approvers = hook, down\n"
          << "keyturn.notify.retry.base_seconds = 3600\n";
  }
  t.server = std::make_unique<ServerProcess>(
      std::vector<std::string>{"run", "--data", t.data, "--port", "0", "--log-format", "json"});
  std::string line = t.server->waitForLine("\"listening\"");
  INFO(t.server->stderrText());
  REQUIRE_FALSE(line.empty());
  t.port = portFromLog(line);
  const std::map<std::string, std::string> here = {{"KEYTURN_SERVER", t.url()}};

  auto submitted = t.cli("alice",
                         {"request", "submit", "device.wipe", "--device", "laptop-1", "--param",
                          "mode=full", "--justification", "Stolen at the airport", "-o", "json"},
                         here);
  INFO(submitted.all());
  REQUIRE(submitted.exit == 0);
  const std::string id = jsonOf(submitted)->getValue<std::string>("id");

  until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::string got;
  while (got.empty() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    got = readFile(out, 1 << 20).value_or("");
  }
  REQUIRE_FALSE(got.empty());
  auto message = json::parseObject(got.substr(0, got.find('\n'))).value();
  CHECK(message->getValue<bool>("signature_ok"));
  auto body = json::parseObject(message->getValue<std::string>("body")).value();
  CHECK(body->getValue<std::string>("kind") == "request.submitted");
  CHECK(body->getValue<std::string>("link") == "https://localhost/#/requests/" + id);
  CHECK_THAT(body->getValue<std::string>("text"), Catch::Contains("Stolen at the airport"));
  CHECK(json::stringify(Poco::Dynamic::Var(body->getArray("recipients"))) == "[\"bob\",\"dave\"]");
  CHECK(message->getValue<std::string>("body").find("mode") == std::string::npos);

  // The failing channel: retrying, visible to an auditor, refused to someone without the role.
  ProgramRun status;
  until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    status = t.cli("carol", {"notify", "status", "-o", "json"}, here);
  } while (status.exit == 0 && jsonOf(status)->getValue<int>("retrying") < 1 &&
           std::chrono::steady_clock::now() < until);
  INFO(status.all());
  REQUIRE(status.exit == 0);  // retrying is not failed for good
  auto s = jsonOf(status);
  CHECK(s->getValue<int>("sent") == 1);
  CHECK(s->getValue<int>("retrying") == 1);
  auto text = t.cli("carol", {"notify", "status"}, here);
  CHECK_THAT(text.out, Catch::Contains("via down"));
  CHECK_THAT(text.out, Catch::Contains("http://127.0.0.1:1"));
  CHECK(text.out.find("nothing-listens-here") == std::string::npos);  // a URL path stays secret
  auto denied = t.cli("dave", {"notify", "status"}, here);
  CHECK(denied.exit == 1);
  CHECK_THAT(denied.err, Catch::Contains("notifications.read"));
  auto audit = t.cli("carol", {"audit", "list", "-o", "json"}, here);
  CHECK_THAT(audit.out, Catch::Contains("notification.failed"));
}
