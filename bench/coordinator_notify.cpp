// Mode "notify" (issue 7): 1,000 requests submitted in a burst (4 client threads, each
// submission one durable transaction) through the service layer, with and without
// notifications, interleaved round by round in the same run. "With" means the workflow
// writes the notification event in the submission's transaction AND the delivery
// worker runs at the same time, fanning out and posting every event to a local webhook
// sink (plain HTTP on loopback, a Poco HTTPServer in this process), so the submissions
// compete with delivery for the store and the CPU, as on a real coordinator. Reported:
// submissions per second each way, the ratio, and how long after the burst started the
// last approver notification was delivered.
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/Util/MapConfiguration.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <sstream>
#include <thread>

#include "app/notification_worker.h"
#include "bench_coordinator.h"
#include "bench_server.h"
#include "keyturn/json.h"
#include "service/workflow.h"
#include "store/sqlite_store.h"

namespace keyturn::bench {
namespace {

using keyturn::test::kNow;

constexpr std::size_t kRequests = 1000;
constexpr std::size_t kClients = 4;

std::atomic<long> gReceived{0};

class Sink : public Poco::Net::HTTPRequestHandler {
 public:
  void handleRequest(Poco::Net::HTTPServerRequest& rq, Poco::Net::HTTPServerResponse& rs) override {
    std::string body;
    Poco::StreamCopier::copyToString(rq.stream(), body);
    ++gReceived;
    rs.setContentLength(0);
    rs.send();
  }
};

class SinkFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new Sink;
  }
};

std::string why(const Status& s) { return s ? "" : s.reason() + ": " + s.detail(); }

struct RoundResult {
  double submitRate = 0;
  double deliveredAfter = 0;  // seconds from the burst's start to the last delivery
};

RoundResult runRound(const keyturn::test::Tenant& tenant, bool notify, int round, int sinkPort) {
  ServiceBench sb(tenant, notify);
  auto& store = sb.store;
  const AcceptedBundle& bundle = sb.bundle;
  server::Workflow& workflow = *sb.workflow;
  std::vector<std::string> jws(kRequests);
  for (std::size_t i = 0; i < kRequests; ++i) {
    std::string id = "dev-" + std::to_string(i);
    insertCorporateDevice(*store, id, kNow);
    keyturn::test::TokenSpec spec;
    spec.id = "r-" + std::to_string(round) + "-" + std::to_string(i);
    spec.targets = {id};
    spec.approvers.clear();
    spec.completed = false;
    spec.issued = false;
    spec.created = static_cast<std::uint64_t>(kNow - 10);
    spec.expires = spec.created + 30 * 86400;
    jws[i] = keyturn::test::makeToken(tenant, spec);  // signed before the clock starts
  }

  std::ostringstream logText;
  server::LogSink log(server::LogSink::Format::kText, logText);
  server::BundleState noBundle(sb.tmp / "none.json", "contoso");
  std::unique_ptr<server::NotificationWorker> worker;
  if (notify) {
    Poco::AutoPtr<Poco::Util::MapConfiguration> p(new Poco::Util::MapConfiguration);
    p->setString("keyturn.notify.channels", "hook");
    p->setString("keyturn.notify.channel.hook.type", "slack");  // no secret file needed
    p->setString("keyturn.notify.channel.hook.url",
                 "http://127.0.0.1:" + std::to_string(sinkPort) + "/hook");
    p->setString("keyturn.notify.channel.hook.allow_http", "true");
    // The default policies ask a device-approver: bob and carol.
    p->setString("keyturn.notify.route.principal.bob", "hook");
    p->setString("keyturn.notify.route.principal.carol", "hook");
    auto config = server::NotificationConfig::load(*p, "keyturn.example");
    require(bool(config), "notification config", config ? "" : config.detail());
    worker = std::make_unique<server::NotificationWorker>(
        *store, noBundle, log, std::move(config).value(), std::make_unique<server::NetworkSender>(),
        [] { return static_cast<std::int64_t>(std::time(nullptr)); });
    worker->start();
  }
  gReceived = 0;
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < kClients; ++t)
    threads.emplace_back([&, t] {
      while (!go) std::this_thread::yield();
      for (std::size_t i = t; i < kRequests; i += kClients) {
        auto id = workflow.submit(bundle, "alice", jws[i], {"dev-" + std::to_string(i)});
        require(bool(id), "submit", why(id.status()));
      }
    });
  auto start = Clock::now();
  go = true;
  for (auto& th : threads) th.join();
  RoundResult r;
  r.submitRate = static_cast<double>(kRequests) / secondsSince(start);
  if (worker) {
    while (gReceived < static_cast<long>(kRequests) && secondsSince(start) < 120)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    r.deliveredAfter = secondsSince(start);
    require(gReceived == static_cast<long>(kRequests), "every notification delivered",
            std::to_string(gReceived.load()) + " of " + std::to_string(kRequests));
    worker->stop();
    auto status = store->outboxStatus(0);
    require(bool(status) && status->sent == static_cast<std::int64_t>(kRequests),
            "outbox says all sent");
  }
  return r;
}

}  // namespace

int runNotify(const Options& options) {
  keyturn::test::Tenant tenant;
  Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1:0"), 64);
  Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(4);
  Poco::Net::HTTPServer sink(new SinkFactory, socket, params);
  sink.start();
  const int port = socket.address().port();
  std::printf("-- notify: %zu requests submitted in a burst by %zu threads, each durable;\n"
              "   'on' writes the approvers' event in the same transaction while the worker\n"
              "   delivers to a loopback webhook concurrently\n",
              kRequests, kClients);
  std::vector<double> off, on, ratio, delivered;
  for (int round = 1; round <= options.rounds; ++round) {
    RoundResult a = runRound(tenant, false, round * 2, port);
    RoundResult b = runRound(tenant, true, round * 2 + 1, port);
    off.push_back(a.submitRate);
    on.push_back(b.submitRate);
    ratio.push_back(b.submitRate / a.submitRate);
    delivered.push_back(b.deliveredAfter);
    std::printf("   round %d: off %.0f req/s, on %.0f req/s (%.1f %%), all %zu delivered %.2f s "
                "after the burst began\n",
                round, a.submitRate, b.submitRate, 100.0 * (b.submitRate / a.submitRate - 1),
                kRequests, b.deliveredAfter);
  }
  std::printf("   median: off %.0f req/s, on %.0f req/s, on/off %.3f, delivered after %.2f s\n",
              median(off), median(on), median(ratio), median(delivered));
  sink.stopAll(true);
  return 0;
}

}  // namespace keyturn::bench
