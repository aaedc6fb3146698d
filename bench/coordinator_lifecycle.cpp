// Mode "lifecycle": full request lifecycles per second, submit -> approve -> complete,
// each step one durable SQLite transaction (synchronous=FULL, as the store commits
// every workflow change). A lifecycle is a device.wipe of one corporate device,
// requested by alice, approved by bob (the default test policies ask one
// device-approver), completed by alice, issuing one token.
//
// Every signature (requester, approver, completer) is made before the clock starts, the
// way admins sign on their own machines: the figure is the coordinator's work.
// Two paths: the service layer (Workflow on SqliteStore, no HTTP) and HTTPS against the
// real keyturn-server (sessions as bearer tokens, one kept-alive connection per client).
#include <atomic>
#include <cstdio>
#include <ctime>
#include <thread>

#include "bench_coordinator.h"
#include "bench_server.h"
#include "keyturn/json.h"
#include "keyturn/jws.h"
#include "service/workflow.h"
#include "store/sqlite_store.h"
#include "workflow_fixture.h"  // signOver (header only)

namespace keyturn::bench {
namespace {

using keyturn::test::kNow;

// One lifecycle's signed material.
struct Signed3 {
  std::string id;
  std::string device;
  std::string jws;  // the request, signed by the requester
  server::test::Signed approval;
  server::test::Signed completion;
};

Signed3 signLifecycle(const keyturn::test::Tenant& tenant, const std::string& id,
                      const std::string& device, std::uint64_t at) {
  keyturn::test::TokenSpec spec;
  spec.id = id;
  spec.targets = {device};
  spec.approvers.clear();
  spec.completed = false;
  spec.issued = false;
  spec.created = at - 10;
  spec.expires = spec.created + 30 * 86400;
  Signed3 s{id, device, keyturn::test::makeToken(tenant, spec), {}, {}};
  std::string payload = parseJws(s.jws, 4).value().payloadB64;
  const auto& bob = tenant.key("bob");
  const auto& alice = tenant.key("alice");
  s.approval = server::test::signOver(bob, approverHeader(bob.publicKey().kid(), at), payload);
  s.completion =
      server::test::signOver(alice, completerHeader(alice.publicKey().kid(), at), payload);
  return s;
}

// `perThread` lifecycles for each of `threads` clients, device dev-<t> for client t.
std::vector<std::vector<Signed3>> signBatch(const keyturn::test::Tenant& tenant,
                                            const std::string& tag, std::size_t threads,
                                            std::size_t perThread, std::uint64_t at) {
  std::vector<std::vector<Signed3>> out(threads);
  for (std::size_t t = 0; t < threads; ++t)
    for (std::size_t i = 0; i < perThread; ++i)
      out[t].push_back(signLifecycle(tenant, "r-" + tag + "-" + std::to_string(t) + "-" +
                                                 std::to_string(i),
                                     "dev-" + std::to_string(t), at));
  return out;
}

// Runs `work(t, lifecycle)` over the batch on one thread per client; lifecycles/s.
template <class Work>
double runBatch(const std::vector<std::vector<Signed3>>& batch, Work work) {
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  std::size_t total = 0;
  for (std::size_t t = 0; t < batch.size(); ++t) {
    total += batch[t].size();
    threads.emplace_back([&, t] {
      while (!go) std::this_thread::yield();
      for (const auto& l : batch[t]) work(t, l);
    });
  }
  auto start = Clock::now();
  go = true;
  for (auto& th : threads) th.join();
  return static_cast<double>(total) / secondsSince(start);
}

std::string why(const Status& s) { return s ? "" : s.reason() + ": " + s.detail(); }

void serviceLayer(const Options& options, std::size_t perRound) {
  keyturn::test::Tenant tenant;
  ServiceBench sb(tenant);
  auto& store = sb.store;
  const AcceptedBundle& bundle = sb.bundle;
  server::Workflow& workflow = *sb.workflow;
  for (int i = 0; i < 8; ++i) {
    std::string id = "dev-" + std::to_string(i);
    insertCorporateDevice(*store, id, kNow);
  }
  std::printf("-- service layer (Workflow + SqliteStore, no HTTP), %zu lifecycles per run\n",
              perRound);
  for (std::size_t threads : {std::size_t{1}, std::size_t{2}}) {
    std::vector<double> rates;
    for (int round = 1; round <= options.rounds; ++round) {
      auto batch = signBatch(tenant, "s" + std::to_string(threads) + "-" + std::to_string(round),
                             threads, perRound / threads, static_cast<std::uint64_t>(kNow));
      std::atomic<long> stepUs[3] = {0, 0, 0};  // time inside submit, approve, complete
      auto timed = [&](int step, Clock::time_point since) {
        stepUs[step] += static_cast<long>(secondsSince(since) * 1e6);
      };
      rates.push_back(runBatch(batch, [&](std::size_t, const Signed3& l) {
        auto t0 = Clock::now();
        auto id = workflow.submit(bundle, "alice", l.jws, {l.device});
        timed(0, t0);
        require(bool(id), "submit", why(id.status()));
        auto t1 = Clock::now();
        Status a = workflow.approve(bundle, "bob", l.id, l.approval.protectedB64,
                                    l.approval.signatureB64, "bench");
        timed(1, t1);
        require(bool(a), "approve", why(a));
        auto t2 = Clock::now();
        Status c = workflow.complete(bundle, "alice", l.id, l.completion.protectedB64,
                                     l.completion.signatureB64);
        timed(2, t2);
        require(bool(c), "complete", why(c));
      }));
      const double n = static_cast<double>(batch.size() * batch[0].size()) * 1000;
      std::printf("threads %zu  round %d  %8.0f lifecycles/s  (mean ms: submit %.2f, approve "
                  "%.2f, complete %.2f)\n",
                  threads, round, rates.back(), stepUs[0] / n, stepUs[1] / n, stepUs[2] / n);
    }
    std::printf("threads %zu  median   %8.0f lifecycles/s   (goal >= 300)\n", threads,
                median(rates));
  }
}

std::string signedBody(const server::test::Signed& s, const std::string& notes) {
  std::string out = "{\"protected\":" + json::quote(s.protectedB64) +
                    ",\"signature\":" + json::quote(s.signatureB64);
  if (!notes.empty()) out += ",\"notes\":" + json::quote(notes);
  return out + "}";
}

void overHttps(const Options& options, std::size_t perRound) {
  std::vector<std::string> devices;
  for (int i = 0; i < 8; ++i) devices.push_back("dev-" + std::to_string(i));
  BenchServer server(devices);
  std::printf("-- HTTPS against keyturn-server (one kept-alive connection per client), "
              "%zu lifecycles per run\n",
              perRound);
  const std::map<std::string, std::string> alice{{"Authorization", server.bearer("alice")}};
  const std::map<std::string, std::string> bob{{"Authorization", server.bearer("bob")}};
  for (std::size_t threads : {std::size_t{1}, std::size_t{4}}) {
    std::vector<double> rates;
    for (int round = 1; round <= options.rounds; ++round) {
      auto batch = signBatch(server.tenant, "h" + std::to_string(threads) + "-" + std::to_string(round),
                             threads, perRound / threads,
                             static_cast<std::uint64_t>(std::time(nullptr)));
      std::vector<std::unique_ptr<KeepAliveClient>> clients;
      for (std::size_t t = 0; t < threads; ++t) {
        clients.push_back(server.client());
        clients.back()->send("GET", "/healthz");  // the handshake, outside the timer
      }
      rates.push_back(runBatch(batch, [&](std::size_t t, const Signed3& l) {
        KeepAliveClient& c = *clients[t];
        Reply s = c.send("POST", "/api/v1/requests",
                         "{\"token\":" + l.jws + ",\"targets\":[" + json::quote(l.device) + "]}",
                         alice);
        require(s.status == 201, "submit", s.body);
        Reply a = c.send("POST", "/api/v1/requests/" + l.id + "/approve",
                         signedBody(l.approval, "bench"), bob);
        require(a.status == 200, "approve", a.body);
        Reply d = c.send("POST", "/api/v1/requests/" + l.id + "/complete",
                         signedBody(l.completion, ""), alice);
        require(d.status == 200, "complete", d.body);
      }));
      std::printf("threads %zu  round %d  %8.0f lifecycles/s\n", threads, round, rates.back());
    }
    std::printf("threads %zu  median   %8.0f lifecycles/s   (goal >= 300)\n", threads,
                median(rates));
  }
}

}  // namespace

int runLifecycle(const Options& options) {
  std::printf("== lifecycle: submit -> approve -> complete, every step durable\n");
  const auto perRound = static_cast<std::size_t>(std::max(40.0, options.seconds * 300));
  serviceLayer(options, perRound);
  overHttps(options, perRound);
  return 0;
}

}  // namespace keyturn::bench
