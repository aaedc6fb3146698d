// Mode "poll": an enrolled agent's idle conditional poll, GET /api/v1/agent/tokens?wait=0
// with If-None-Match (answered 304, no body), over kept-alive mutual TLS, by N client
// threads, one device and one persistent HTTPSClientSession each. The same client loop
// then runs against a minimal Poco HTTPS server in this process that answers every
// request 304: same TLS context (makeServerTlsContext with the data folder's
// certificate, key and CA), same HTTPServerParams as the coordinator's listener, and the
// same client certificates. The two targets alternate run by run.
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/ThreadPool.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "app/https_listener.h"
#include "bench_coordinator.h"
#include "bench_server.h"

namespace keyturn::bench {
namespace {

constexpr const char* kPollPath = "/api/v1/agent/tokens?wait=0";

class NotModified final : public Poco::Net::HTTPRequestHandler {
 public:
  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    request.stream().ignore();  // GET: no body
    response.set("ETag", "\"idle-v1\"");
    response.set("Cache-Control", "no-store");
    response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_NOT_MODIFIED);
    response.setContentLength(0);
    response.send();
  }
};

class NotModifiedFactory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new NotModified;
  }
};

// The minimal handler, with the coordinator listener's TLS and HTTP settings.
class MinimalServer {
 public:
  explicit MinimalServer(const server::ServerConfig& config)
      : pool_(2, 64),
        socket_(Poco::Net::SocketAddress("127.0.0.1", 0), 64,
                server::makeServerTlsContext(config.tlsKey, config.tlsCertificate,
                                             config.caCertificate)) {
    Poco::AutoPtr<Poco::Net::HTTPServerParams> params(new Poco::Net::HTTPServerParams);
    params->setKeepAlive(true);
    params->setMaxKeepAliveRequests(1000);
    params->setKeepAliveTimeout(Poco::Timespan(30, 0));
    params->setTimeout(Poco::Timespan(10, 0));
    params->setMaxThreads(64);
    params->setMaxQueued(256);
    params->setServerName(config.hostname);
    port_ = socket_.address().port();
    server_ = std::make_unique<Poco::Net::HTTPServer>(new NotModifiedFactory, pool_, socket_,
                                                      params);
    server_->start();
  }
  ~MinimalServer() { server_->stopAll(true); }
  int port() const { return port_; }

 private:
  Poco::ThreadPool pool_;
  Poco::Net::SecureServerSocket socket_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  int port_ = 0;
};

// Polls per second by `agents.size()` threads against `port` for `seconds`.
double pollRate(const std::string& caFile, int port, const std::vector<Agent>& agents,
                double seconds) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false}, stop{false};
  std::atomic<long> total{0}, failures{0};
  std::vector<std::thread> threads;
  for (const Agent& a : agents) {
    threads.emplace_back([&, a] {
      KeepAliveClient client(caFile, port, a.certFile, a.keyFile);
      // Warm-up outside the timer: the handshake, and the idle tag to send back.
      Reply first = client.send("GET", kPollPath);
      std::map<std::string, std::string> headers{{"If-None-Match", first.etag}};
      ++ready;
      while (!go) std::this_thread::yield();
      long n = 0, bad = 0;
      while (!stop) {
        Reply r = client.send("GET", kPollPath, "", headers);
        if (r.status == 304) ++n; else ++bad;
      }
      total += n;
      failures += bad;
    });
  }
  while (ready < static_cast<int>(agents.size())) std::this_thread::yield();
  auto start = Clock::now();
  go = true;
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  double elapsed = secondsSince(start);
  for (auto& t : threads) t.join();
  require(failures == 0, "poll answered other than 304", std::to_string(failures.load()));
  return static_cast<double>(total) / elapsed;
}

}  // namespace

int runPoll(const Options& options) {
  std::printf("== poll: idle GET %s with If-None-Match -> 304, mutual TLS, keep-alive\n",
              kPollPath);
  BenchServer coordinator;
  MinimalServer minimal(coordinator.config);
  std::vector<Agent> agents;
  for (int i = 0; i < 8; ++i) agents.push_back(coordinator.enroll("bench-dev-" + std::to_string(i)));
  std::printf("%-8s %-5s %16s %16s %8s\n", "threads", "round", "coordinator/s", "minimal/s",
              "ratio");
  for (std::size_t threads : {std::size_t{1}, std::size_t{2}, std::size_t{8}}) {
    std::vector<Agent> used(agents.begin(), agents.begin() + static_cast<long>(threads));
    std::vector<double> ours, theirs, ratios;
    for (int round = 1; round <= options.rounds; ++round) {
      double c = pollRate(coordinator.config.caCertificate, coordinator.port, used, options.seconds);
      double m = pollRate(coordinator.config.caCertificate, minimal.port(), used, options.seconds);
      ours.push_back(c);
      theirs.push_back(m);
      ratios.push_back(c / m);
      std::printf("%-8zu %-5d %16.0f %16.0f %8.2f\n", threads, round, c, m, c / m);
    }
    std::printf("%-8zu %-5s %16.0f %16.0f %8.2f   (goal ratio >= 0.5)\n", threads, "median",
                median(ours), median(theirs), median(ratios));
  }
  return 0;
}

}  // namespace keyturn::bench
