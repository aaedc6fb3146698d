// Notification delivery against real parts on loopback (issue 7): a webhook receiver
// over HTTPS that checks the HMAC (tests/tools/webhook_receiver.py), a real SMTP server
// with STARTTLS and AUTH (aiosmtpd, tests/tools/smtp_sink.py), the worker's retries and
// backoff, digests, configuration errors; and the real keyturn-server restarted with
// notifications pending: none is lost, none is sent twice.
#include <Poco/Net/SSLManager.h>
#include <Poco/Util/MapConfiguration.h>
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "app/init_command.h"
#include "app/notification_channels.h"
#include "app/notification_config.h"
#include "app/notification_messages.h"
#include "app/notification_worker.h"
#include "keyturn/crypto_util.h"
#include "keyturn/json.h"
#include "server_process.h"
#include "store/sqlite_store.h"
#include "temp_dir.h"

using namespace keyturn;
using namespace keyturn::server;
using namespace keyturn::test;

namespace {

const std::string kPython = "/usr/bin/python3";  // Debian's, with python3-aiosmtpd
const std::string kTools = KEYTURN_TEST_TOOLS_DIR;
constexpr const char* kSecret = "webhook-secret-0123456789abcdef";

void initSsl() {
  static bool once = [] {
    Poco::Net::initializeSSL();
    return true;
  }();
  (void)once;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void writeSecret(const std::string& path, const std::string& text, unsigned mode = 0600) {
  REQUIRE(writeFileAtomic(path, text + "\n", mode).empty());
}

// Waits for a file to appear (a helper's port file); its contents.
std::string waitForFile(const std::string& path, std::chrono::seconds timeout = std::chrono::seconds(20)) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (std::filesystem::exists(path)) return slurp(path);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  FAIL("timed out waiting for " << path);
  return "";
}

std::vector<Poco::JSON::Object::Ptr> lines(const std::string& path) {
  std::vector<Poco::JSON::Object::Ptr> out;
  std::istringstream in(slurp(path));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(json::parseObject(line).value());
  return out;
}

// Certificates for the helpers: the data folder of `keyturn-server init` holds a server
// certificate for localhost / 127.0.0.1 and the CA that issued it.
struct Pki {
  TempDir tmp;
  std::string dir = tmp / "data";
  std::string cert, key, ca;
  Pki() {
    auto c = InitCommand::initialize(dir, "contoso", "localhost");
    REQUIRE(c);
    cert = c->tlsCertificate;
    key = c->tlsKey;
    ca = c->caCertificate;
  }
};

struct Receiver {
  std::unique_ptr<ServerProcess> process;
  std::string out;
  int port = 0;
  Receiver(const TempDir& tmp, const Pki& pki, const std::string& name,
           std::vector<std::string> extra = {}) {
    out = tmp / (name + ".jsonl");
    std::string portFile = tmp / (name + ".port");
    std::vector<std::string> args = {kTools + "/webhook_receiver.py", "--port-file", portFile,
                                     "--out", out, "--cert", pki.cert, "--key", pki.key};
    args.insert(args.end(), extra.begin(), extra.end());
    process = std::make_unique<ServerProcess>(kPython, args);
    port = std::stoi(waitForFile(portFile));
  }
};

struct SmtpSink {
  std::unique_ptr<ServerProcess> process;
  std::string outDir;
  int port = 0;
  SmtpSink(const TempDir& tmp, const Pki& pki) {
    outDir = tmp / "mail";
    std::string portFile = tmp / "smtp.port";
    process = std::make_unique<ServerProcess>(
        kPython, std::vector<std::string>{kTools + "/smtp_sink.py", "--port-file", portFile,
                                          "--out-dir", outDir, "--cert", pki.cert, "--key",
                                          pki.key, "--user", "keyturn", "--password",
                                          "smtp-password-xyz"});
    port = std::stoi(waitForFile(portFile));
  }
  std::size_t count() const {
    std::size_t n = 0;
    while (std::filesystem::exists(outDir + "/" + std::to_string(n + 1) + ".eml")) ++n;
    return n;
  }
};

NotificationEvent requestEvent(const std::string& id, const std::string& kind,
                               const std::string& recipientsJson, std::int64_t at,
                               const std::string& extra = "") {
  return NotificationEvent{
      id + ":" + kind, kind, id, recipientsJson,
      "{\"request\":" + json::quote(id) +
          ",\"action\":\"device.wipe\",\"requester\":\"alice\","
          "\"justification\":\"Laptop <stolen> on the train\",\"state\":\"needs_approval\","
          "\"expires\":0,\"targets\":12,\"devices\":[\"dev-1\",\"dev-2\"]" +
          extra + "}",
      at};
}

struct WorkerRig {
  TempDir tmp;
  Pki pki;
  std::unique_ptr<SqliteStore> store;
  BundleState bundle{tmp / "no-bundle.json", "contoso"};  // no bundle: principal routes only
  std::ostringstream logText;
  LogSink log{LogSink::Format::kText, logText};
  std::int64_t now = 1'800'000'000;
  std::unique_ptr<NotificationWorker> worker;

  WorkerRig() {
    initSsl();
    auto s = SqliteStore::open(tmp / "n.db");
    REQUIRE(s);
    store = std::move(s).value();
  }
  void start(const std::map<std::string, std::string>& properties) {
    Poco::AutoPtr<Poco::Util::MapConfiguration> p(new Poco::Util::MapConfiguration);
    for (const auto& [k, v] : properties) p->setString(k, v);
    auto config = NotificationConfig::load(*p, "keyturn.example");
    INFO((config ? "" : config.detail()));
    REQUIRE(config);
    worker = std::make_unique<NotificationWorker>(*store, bundle, log, std::move(config).value(),
                                                  std::make_unique<NetworkSender>(),
                                                  [this] { return now; });
  }
  void pass() {
    Status s = worker->runOnce();
    INFO((s ? "" : s.detail()));
    REQUIRE(s);
  }
};

}  // namespace

TEST_CASE("webhook: HMAC-signed JSON, idempotency key, retried with backoff, sent once",
          "[notify][webhook]") {
  WorkerRig rig;
  writeSecret(rig.tmp / "receiver.secret", kSecret);
  writeSecret(rig.tmp / "hook.secret", kSecret);
  writeSecret(rig.tmp / "wrong.secret", "another-secret-0123456789");
  Receiver receiver(rig.tmp, rig.pki, "hook", {"--secret-file", rig.tmp / "receiver.secret",
                                               "--fail-first", "1"});
  const std::string url = "https://127.0.0.1:" + std::to_string(receiver.port) + "/hooks/keyturn";
  rig.start({{"keyturn.notify.channels", "hook,wrong"},
             {"keyturn.notify.channel.hook.type", "webhook"},
             {"keyturn.notify.channel.hook.url", url},
             {"keyturn.notify.channel.hook.secret_file", rig.tmp / "hook.secret"},
             {"keyturn.notify.channel.hook.ca_file", rig.pki.ca},
             {"keyturn.notify.channel.wrong.type", "webhook"},
             {"keyturn.notify.channel.wrong.url", url},
             {"keyturn.notify.channel.wrong.secret_file", rig.tmp / "wrong.secret"},
             {"keyturn.notify.channel.wrong.ca_file", rig.pki.ca},
             {"keyturn.notify.retry.base_seconds", "60"},
             {"keyturn.notify.route.principal.bob", "hook"},
             {"keyturn.notify.route.principal.carol", "hook"},
             {"keyturn.notify.route.principal.dave", "wrong"}});
  REQUIRE(rig.store->insertNotifications(
      {requestEvent("r-1", "request.submitted", "[\"bob\",\"carol\"]", rig.now)}));

  rig.pass();  // fan out; first attempt -> 503
  auto status = rig.store->outboxStatus(10);
  REQUIRE(status);
  CHECK(status->pending == 1);  // one delivery for the shared channel, not one per approver
  CHECK(status->retrying == 1);
  CHECK_THAT(status->recentFailures.at(0).lastError, Catch::Contains("HTTP 503"));
  CHECK(status->recentFailures.at(0).lastError.find("/hooks/keyturn") == std::string::npos);
  auto audit = rig.store->listAudit(1, 10);
  REQUIRE(audit->size() == 1);
  CHECK(audit->front().event == "notification.failed");
  CHECK_THAT(audit->front().detailJson, Catch::Contains("\"final\":false"));

  rig.now += 59;
  rig.pass();  // not due yet: nothing sent
  CHECK(lines(receiver.out).empty());
  rig.now += 1;
  rig.pass();
  rig.pass();
  auto got = lines(receiver.out);
  REQUIRE(got.size() == 1);
  auto headers = got[0]->getObject("headers");
  CHECK(got[0]->getValue<bool>("signature_ok"));
  CHECK(headers->getValue<std::string>("Idempotency-Key") ==
        NotificationWorker::idempotencyKey("r-1:request.submitted", "*", "hook"));
  auto body = json::parseObject(got[0]->getValue<std::string>("body")).value();
  CHECK(body->getValue<std::string>("kind") == "request.submitted");
  CHECK(body->getValue<std::string>("link") == "https://keyturn.example/#/requests/r-1");
  CHECK_THAT(body->getValue<std::string>("command"), Catch::Contains("keyturn request approve r-1"));
  CHECK_THAT(body->getValue<std::string>("text"), Catch::Contains("Laptop <stolen> on the train"));
  CHECK_THAT(body->getValue<std::string>("text"), Catch::Contains("12 devices: dev-1, dev-2 and 10 more"));
  CHECK(body->getArray("recipients")->size() == 2);
  CHECK(got[0]->getValue<std::string>("body").find(kSecret) == std::string::npos);
  status = rig.store->outboxStatus(10);
  CHECK(status->sent == 1);
  CHECK(status->pending == 0);

  // A receiver that refuses the signature (401) is a permanent failure: given up at
  // once, audited as final, shown as failed.
  REQUIRE(rig.store->insertNotifications(
      {requestEvent("r-2", "request.submitted", "[\"dave\"]", rig.now)}));
  rig.pass();
  status = rig.store->outboxStatus(10);
  CHECK(status->failed == 1);
  CHECK_THAT(status->recentFailures.at(0).lastError, Catch::Contains("HTTP 401"));
  got = lines(receiver.out);
  REQUIRE(got.size() == 2);
  CHECK_FALSE(got[1]->getValue<bool>("signature_ok"));
  audit = rig.store->listAudit(1, 10);
  REQUIRE(audit->size() == 2);
  CHECK_THAT(audit->back().detailJson, Catch::Contains("\"final\":true"));
}

TEST_CASE("slack and teams channels post their own payloads", "[notify][webhook]") {
  WorkerRig rig;
  Receiver receiver(rig.tmp, rig.pki, "chat");
  const std::string base = "https://127.0.0.1:" + std::to_string(receiver.port);
  rig.start({{"keyturn.notify.channels", "slack,teams"},
             {"keyturn.notify.channel.slack.type", "slack"},
             {"keyturn.notify.channel.slack.url", base + "/slack"},
             {"keyturn.notify.channel.slack.ca_file", rig.pki.ca},
             {"keyturn.notify.channel.teams.type", "teams"},
             {"keyturn.notify.channel.teams.url", base + "/teams"},
             {"keyturn.notify.channel.teams.ca_file", rig.pki.ca},
             {"keyturn.notify.route.principal.alice", "slack,teams"}});
  REQUIRE(rig.store->insertNotifications({requestEvent(
      "r-9", "request.results", "[\"alice\"]", rig.now,
      ",\"results\":{\"failed\":1,\"succeeded\":11},\"failures\":1,"
      "\"failed_devices\":[\"dev-2 (failed, exit 3)\"]")}));
  rig.pass();
  auto got = lines(receiver.out);
  REQUIRE(got.size() == 2);
  std::map<std::string, Poco::JSON::Object::Ptr> byPath;
  for (const auto& g : got)
    byPath[g->getValue<std::string>("path")] = json::parseObject(g->getValue<std::string>("body")).value();
  auto slack = byPath.at("/slack");
  CHECK_THAT(slack->getValue<std::string>("text"), Catch::Contains("FAILED on 1 device(s)"));
  auto block = slack->getArray("blocks")->getObject(0)->getObject("text");
  CHECK(block->getValue<std::string>("type") == "mrkdwn");
  CHECK_THAT(block->getValue<std::string>("text"), Catch::Contains("&lt;stolen&gt;"));
  CHECK_THAT(block->getValue<std::string>("text"),
             Catch::Contains("<https://keyturn.example/#/requests/r-9|Open in Keyturn>"));
  auto teams = byPath.at("/teams");
  CHECK(teams->getValue<std::string>("@type") == "MessageCard");
  CHECK(teams->getValue<std::string>("themeColor") == "B00020");
  CHECK_THAT(teams->getValue<std::string>("text"), Catch::Contains("dev-2 (failed, exit 3)"));
}

TEST_CASE("e-mail over SMTP with STARTTLS and AUTH: plain text and HTML, once",
          "[notify][smtp]") {
  WorkerRig rig;
  SmtpSink smtp(rig.tmp, rig.pki);
  writeSecret(rig.tmp / "smtp.password", "smtp-password-xyz");
  rig.start({{"keyturn.notify.channels", "mail"},
             {"keyturn.notify.channel.mail.type", "email"},
             {"keyturn.notify.channel.mail.smtp_host", "127.0.0.1"},
             {"keyturn.notify.channel.mail.smtp_port", std::to_string(smtp.port)},
             {"keyturn.notify.channel.mail.username", "keyturn"},
             {"keyturn.notify.channel.mail.password_file", rig.tmp / "smtp.password"},
             {"keyturn.notify.channel.mail.from", "keyturn@contoso.test"},
             {"keyturn.notify.channel.mail.ca_file", rig.pki.ca},
             {"keyturn.notify.route.principal.alice", "mail"},
             {"keyturn.notify.route.principal.erin", "mail"},
             {"keyturn.notify.principal.alice.email", "alice@contoso.test"}});
  REQUIRE(rig.store->insertNotifications(
      {requestEvent("r-5", "request.ready", "[\"alice\",\"erin\"]", rig.now)}));
  rig.pass();
  rig.pass();
  auto failures = rig.store->outboxStatus(10);
  for (const auto& f : failures->recentFailures) UNSCOPED_INFO(f.recipient << ": " << f.lastError);
  REQUIRE(smtp.count() == 1);
  auto envelope = json::parseObject(slurp(smtp.outDir + "/1.json")).value();
  CHECK(envelope->getValue<bool>("tls"));
  CHECK(envelope->getValue<bool>("authenticated"));
  CHECK(envelope->getArray("to")->get(0).toString() == "alice@contoso.test");
  std::string mail = slurp(smtp.outDir + "/1.eml");
  CHECK_THAT(mail, Catch::Contains("multipart/alternative"));
  CHECK_THAT(mail, Catch::Contains("text/plain"));
  CHECK_THAT(mail, Catch::Contains("text/html"));
  CHECK_THAT(mail, Catch::Contains("Ready to complete: device.wipe"));
  CHECK_THAT(mail, Catch::Contains("Message-ID: <" +
                                   NotificationWorker::idempotencyKey("r-5:request.ready", "alice", "mail")));
  CHECK(mail.find("smtp-password-xyz") == std::string::npos);
  // erin has no address: a permanent, visible failure rather than a silent drop.
  auto status = rig.store->outboxStatus(10);
  CHECK(status->sent == 1);
  CHECK(status->failed == 1);
  CHECK_THAT(status->recentFailures.at(0).lastError, Catch::Contains("no e-mail address"));
}

TEST_CASE("an hourly digest sends one e-mail with everything due and quiet hours hold messages",
          "[notify][smtp]") {
  WorkerRig rig;
  SmtpSink smtp(rig.tmp, rig.pki);
  writeSecret(rig.tmp / "smtp.password", "smtp-password-xyz");
  rig.now = 1'800'000'000 - 1'800'000'000 % 86400 + 10 * 3600 + 5;  // 10:00:05 UTC
  rig.start({{"keyturn.notify.channels", "mail"},
             {"keyturn.notify.channel.mail.type", "email"},
             {"keyturn.notify.channel.mail.smtp_host", "127.0.0.1"},
             {"keyturn.notify.channel.mail.smtp_port", std::to_string(smtp.port)},
             {"keyturn.notify.channel.mail.username", "keyturn"},
             {"keyturn.notify.channel.mail.password_file", rig.tmp / "smtp.password"},
             {"keyturn.notify.channel.mail.from", "keyturn@contoso.test"},
             {"keyturn.notify.channel.mail.ca_file", rig.pki.ca},
             {"keyturn.notify.route.principal.bob", "mail"},
             {"keyturn.notify.principal.bob.email", "bob@contoso.test"},
             {"keyturn.notify.principal.bob.digest", "hourly"}});
  REQUIRE(rig.store->insertNotifications(
      {requestEvent("r-a", "request.submitted", "[\"bob\"]", rig.now),
       requestEvent("r-b", "request.submitted", "[\"bob\"]", rig.now)}));
  rig.pass();
  CHECK(smtp.count() == 0);  // held until 11:00
  rig.now += 3600;
  rig.pass();
  REQUIRE(smtp.count() == 1);
  std::string mail = slurp(smtp.outDir + "/1.eml");
  CHECK_THAT(mail, Catch::Contains("2 notifications"));
  CHECK(rig.store->outboxStatus(10)->sent == 2);

  // Quiet hours 22-07 (UTC): 23:30 waits for 07:00.
  RecipientOptions quiet;
  quiet.quietHours = std::make_pair(22, 7);
  const std::int64_t day = 1'800'000'000 - 1'800'000'000 % 86400;
  CHECK(NotificationWorker::releaseTime(&quiet, day + 23 * 3600 + 1800) == day + 86400 + 7 * 3600);
  CHECK(NotificationWorker::releaseTime(&quiet, day + 3 * 3600) == day + 7 * 3600);
  CHECK(NotificationWorker::releaseTime(&quiet, day + 12 * 3600) == day + 12 * 3600);
  CHECK(NotificationWorker::releaseTime(nullptr, day + 1) == day + 1);
}

TEST_CASE("notification configuration: bad values are refused naming the key",
          "[notify][config]") {
  TempDir tmp;
  writeSecret(tmp / "ok.secret", kSecret);
  writeSecret(tmp / "open.secret", kSecret, 0644);
  auto load = [&](std::map<std::string, std::string> props) {
    Poco::AutoPtr<Poco::Util::MapConfiguration> p(new Poco::Util::MapConfiguration);
    for (const auto& [k, v] : props) p->setString(k, v);
    return NotificationConfig::load(*p, "keyturn.example");
  };
  auto hook = [&](std::map<std::string, std::string> extra) {
    std::map<std::string, std::string> p = {{"keyturn.notify.channels", "h"},
                                            {"keyturn.notify.channel.h.type", "webhook"},
                                            {"keyturn.notify.channel.h.url", "https://hooks.example/x"},
                                            {"keyturn.notify.channel.h.secret_file", tmp / "ok.secret"}};
    for (auto& [k, v] : extra) p[k] = v;
    return load(p);
  };
  auto ok = hook({});
  INFO((ok ? "" : ok.detail()));
  REQUIRE(ok);
  CHECK(ok->consoleUrl == "https://keyturn.example");
  CHECK(ok->reminders == std::vector<std::int64_t>{7 * 86400, 86400});

  auto bad = hook({{"keyturn.notify.channel.h.type", "pager"}});
  CHECK(bad.reason() == "malformed");
  CHECK_THAT(bad.detail(), Catch::Contains("keyturn.notify.channel.h.type"));
  bad = hook({{"keyturn.notify.channel.h.url", "http://hooks.example/x"}});
  CHECK_THAT(bad.detail(), Catch::Contains("allow_http"));
  CHECK(hook({{"keyturn.notify.channel.h.url", "http://127.0.0.1:9/x"},
              {"keyturn.notify.channel.h.allow_http", "true"}}));
  bad = hook({{"keyturn.notify.channel.h.secret_file", tmp / "open.secret"}});
  CHECK(bad.reason() == "insecure_permissions");
  bad = hook({{"keyturn.notify.channel.h.secret_file", ""}});
  CHECK_THAT(bad.detail(), Catch::Contains("secret_file is required"));
  bad = hook({{"keyturn.notify.route.group.admins", "h,nowhere"}});
  CHECK_THAT(bad.detail(), Catch::Contains("no channel \"nowhere\""));
  bad = hook({{"keyturn.notify.principal.bob.quiet_hours", "22-99"}});
  CHECK_THAT(bad.detail(), Catch::Contains("keyturn.notify.principal.bob.quiet_hours"));
  bad = hook({{"keyturn.notify.reminders", "7 days"}});
  CHECK_THAT(bad.detail(), Catch::Contains("keyturn.notify.reminders"));
  CHECK(ok->retentionSeconds == 30 * 86400);
  CHECK(ok->failedRetentionSeconds == 90 * 86400);
  bad = hook({{"keyturn.notify.retention", "30m"}});
  CHECK_THAT(bad.detail(), Catch::Contains("keyturn.notify.retention must be one duration of at least 1h"));
  bad = hook({{"keyturn.notify.retention_failed", "7d,1d"}});
  CHECK_THAT(bad.detail(), Catch::Contains("keyturn.notify.retention_failed"));
  bad = hook({{"keyturn.notify.retry.max_attempts", "0"}});
  CHECK_THAT(bad.detail(), Catch::Contains("keyturn.notify.retry.max_attempts"));
  auto mail = load({{"keyturn.notify.channels", "m"},
                    {"keyturn.notify.channel.m.type", "email"},
                    {"keyturn.notify.channel.m.smtp_host", "mail.example"},
                    {"keyturn.notify.channel.m.from", "k@example"},
                    {"keyturn.notify.channel.m.security", "none"},
                    {"keyturn.notify.channel.m.username", "u"},
                    {"keyturn.notify.channel.m.password_file", tmp / "ok.secret"}});
  CHECK_THAT(mail.detail(), Catch::Contains("never sent in clear"));
}

TEST_CASE("the worker prunes sent deliveries after keyturn.notify.retention and failed ones after "
          "retention_failed",
          "[notify][retention]") {
  WorkerRig rig;
  rig.start({{"keyturn.notify.retention", "10d"}, {"keyturn.notify.retention_failed", "20d"}});
  const std::int64_t day = 86400;
  REQUIRE(rig.store->insertNotifications(
      {requestEvent("r-1", "request.submitted", "[\"bob\"]", rig.now - 30 * day)}));
  auto make = [&](const std::string& key) {
    NotificationDelivery d;
    d.idempotencyKey = key;
    d.eventId = "r-1:request.submitted";
    d.recipient = "bob";
    d.channel = "mail";
    d.nextAttempt = rig.now - 30 * day;
    d.updated = rig.now - 30 * day;
    return d;
  };
  REQUIRE(rig.store->fanOut({{"r-1:request.submitted", {make("k-sent"), make("k-failed")}}}));
  auto sent = make("k-sent");
  sent.state = delivery_state::kSent;
  sent.attempts = 1;
  sent.sentAt = rig.now - 15 * day;
  sent.updated = rig.now - 15 * day;
  auto failed = make("k-failed");
  failed.state = delivery_state::kFailed;
  failed.attempts = 10;
  failed.lastError = "HTTP 401";
  failed.updated = rig.now - 15 * day;
  REQUIRE(rig.store->recordDeliveryAttempts({{sent, std::nullopt}, {failed, std::nullopt}}));

  rig.pass();  // 15 days: the sent one is past 10d, the failed one stays visible
  auto status = rig.store->outboxStatus(10);
  REQUIRE(status);
  CHECK(status->sent == 0);
  CHECK(status->failed == 1);
  CHECK_THAT(rig.logText.str(), Catch::Contains("notification outbox pruned"));

  rig.now += 6 * day;  // 21 days: the failed one goes too
  rig.pass();
  status = rig.store->outboxStatus(10);
  CHECK(status->failed == 0);
  CHECK(status->recentFailures.empty());
  // The event keeps its id (written once), without its body.
  CHECK(rig.store->insertNotifications(
                {requestEvent("r-1", "request.submitted", "[\"bob\"]", rig.now)})
            .value() == 0);
}

TEST_CASE("messages escape what people wrote and carry the link and the command",
          "[notify]") {
  NotificationEvent e{"r-7:request.approved:bob", "request.approved", "r-7", "[\"alice\"]",
                      "{\"request\":\"r-7\",\"action\":\"app.install\",\"requester\":\"alice\","
                      "\"justification\":\"<b>now</b>\",\"targets\":1,\"devices\":[\"d1\"],"
                      "\"by\":\"bob\",\"notes\":\"ok & <fine>\"}",
                      1};
  RenderedMessage m = renderMessage(e, "https://kt.example");
  CHECK(m.subject == "Approved by bob: app.install");
  CHECK(m.link == "https://kt.example/#/requests/r-7");
  CHECK_THAT(m.text, Catch::Contains("Notes from bob: ok & <fine>"));
  CHECK_THAT(m.html, Catch::Contains("ok &amp; &lt;fine&gt;"));
  CHECK(m.html.find("<b>now</b>") == std::string::npos);
  CHECK_THAT(m.text, Catch::Contains("CLI: keyturn request show r-7"));
  // RFC 2104 HMAC-SHA256, the well-known example value.
  CHECK(webhookSignature("key", "The quick brown fox jumps over the lazy dog") ==
        "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
}

TEST_CASE("the coordinator restarted with notifications pending loses none and repeats none",
          "[notify][process]") {
  Pki pki;
  TempDir& tmp = pki.tmp;
  writeSecret(tmp / "hook.secret", kSecret);
  writeSecret(tmp / "receiver.secret", kSecret);
  // The receiver is slow (0.15 s a message) so the stop lands while messages are in flight.
  Receiver receiver(tmp, pki, "hook", {"--secret-file", tmp / "receiver.secret", "--delay", "0.15"});
  {
    std::ofstream props(configPath(pki.dir), std::ios::app);
    props << "keyturn.notify.channels = hook\n"
          << "keyturn.notify.channel.hook.type = webhook\n"
          << "keyturn.notify.channel.hook.url = https://127.0.0.1:" << receiver.port << "/h\n"
          << "keyturn.notify.channel.hook.secret_file = " << (tmp / "hook.secret") << "\n"
          << "keyturn.notify.channel.hook.ca_file = " << pki.ca << "\n"
          << "keyturn.notify.route.principal.alice = hook\n"
          << "keyturn.notify.retry.base_seconds = 1\n";
  }
  auto config = ServerConfig::load(pki.dir);
  REQUIRE(config);
  constexpr int kEvents = 30;
  {
    auto store = SqliteStore::open(config->database);
    REQUIRE(store);
    std::vector<NotificationEvent> events;
    for (int i = 0; i < kEvents; ++i)
      events.push_back(requestEvent("r-" + std::to_string(i), "request.ready", "[\"alice\"]",
                                    std::time(nullptr)));
    REQUIRE(store.value()->insertNotifications(events).value() == kEvents);
  }
  const std::vector<std::string> args = {"run", "--data", pki.dir, "--port", "0", "--log-format", "json"};
  auto server = std::make_unique<ServerProcess>(args);
  REQUIRE_FALSE(server->waitForLine("listening").empty());
  // Stop once a few went out, while the rest are pending.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (lines(receiver.out).size() < 5 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(server->stop(SIGTERM) == 0);
  const std::size_t before = lines(receiver.out).size();
  INFO("delivered before the restart: " << before);
  CHECK(before < static_cast<std::size_t>(kEvents));

  server = std::make_unique<ServerProcess>(args);
  REQUIRE_FALSE(server->waitForLine("listening").empty());
  until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (lines(receiver.out).size() < static_cast<std::size_t>(kEvents) &&
         std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // anything extra would show
  REQUIRE(server->stop(SIGTERM) == 0);

  auto got = lines(receiver.out);
  std::multiset<std::string> ids;
  std::set<std::string> keys;
  for (const auto& g : got) {
    CHECK(g->getValue<bool>("signature_ok"));
    ids.insert(json::parseObject(g->getValue<std::string>("body")).value()->getValue<std::string>("id"));
    keys.insert(g->getObject("headers")->getValue<std::string>("Idempotency-Key"));
  }
  CHECK(got.size() == static_cast<std::size_t>(kEvents));
  CHECK(keys.size() == static_cast<std::size_t>(kEvents));
  for (int i = 0; i < kEvents; ++i)
    CHECK(ids.count("r-" + std::to_string(i) + ":request.ready") == 1);
  auto store = SqliteStore::open(config->database);
  REQUIRE(store);
  auto status = store.value()->outboxStatus(5);
  CHECK(status->sent == kEvents);
  CHECK(status->pending == 0);
}
