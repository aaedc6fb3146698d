// Mode "fanout": one device.wipe over 10,000 enrolled devices through the service layer
// (Workflow on SqliteStore). The devices are inserted through the store before any
// clock starts. Each round times submit (10,000 policy evaluations), approve, and
// complete: the completer's signature checked, 10,000 tokens signed by the issuer, each
// with its Merkle audit path, and stored in one durable transaction. For the
// breakdown, the issuer's part (tree, 10,000 signatures, serialisation) is then
// timed alone on one thread the way completion did it before the batch signer
// (appendSignature per token): a control for the machine's load in the same run. Last,
// 10,000 bare signatures on one thread.
#include <cstdio>

#include "bench_coordinator.h"
#include "bench_server.h"
#include "keyturn/json.h"
#include "keyturn/jws.h"
#include "keyturn/merkle.h"
#include "keyturn/token.h"
#include "service/workflow.h"
#include "store/sqlite_store.h"
#include "workflow_fixture.h"  // signOver (header only)

namespace keyturn::bench {
namespace {

using keyturn::test::kNow;

std::string why(const Status& s) { return s ? "" : s.reason() + ": " + s.detail(); }

double ms(Clock::time_point start) { return secondsSince(start) * 1000; }

// What completion did per target before the batch signer, without the store.
double issuerOnlyMs(const keyturn::test::Tenant& tenant, const std::string& jws,
                    const std::vector<std::string>& targets) {
  auto start = Clock::now();
  JwsEnvelope base = parseJws(jws, 4).value();
  auto sorted = canonicalTargets(targets).value();
  MerkleTree tree(sorted);
  const std::string& kid = tenant.issuer.publicKey().kid();
  const auto nbf = static_cast<std::uint64_t>(kNow);
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    JwsEnvelope env = base;
    appendSignature(env, tenant.issuer,
                    issuerHeader(kid, nbf, sorted[i], i, tree.auditPath(i), nbf, nbf + 7 * 86400));
    bytes += env.serialize().size();
  }
  require(bytes > 0, "no tokens");
  return ms(start);
}

// The bare signatures of the fan-out: `n` Ed25519 signatures over token-sized messages
// on one thread.
void signingOnly(const keyturn::test::Tenant& tenant, std::size_t n) {
  const std::string message(600, 'x');
  auto t0 = Clock::now();
  for (std::size_t i = 0; i < n; ++i) (void)tenant.issuer.sign(message + std::to_string(i));
  std::printf("signing only, one thread: %zu signatures in %.0f ms\n", n, ms(t0));
}

}  // namespace

int runFanout(const Options& options) {
  const auto n = static_cast<std::size_t>(options.devices);
  std::printf("== fanout: one request over %zu devices (service layer, durable)\n", n);
  keyturn::test::Tenant tenant;
  ServiceBench sb(tenant);
  auto& store = sb.store;
  const AcceptedBundle& bundle = sb.bundle;
  server::Workflow& workflow = *sb.workflow;

  auto start = Clock::now();
  std::vector<std::string> targets;
  for (std::size_t i = 0; i < n; ++i) {
    std::string id = "dev-" + std::to_string(100000 + i);
    targets.push_back(id);
    insertCorporateDevice(*store, id, kNow);
  }
  std::printf("setup: %zu devices inserted in %.1f s (one transaction each)\n", n,
              secondsSince(start));

  const auto& alice = tenant.key("alice");
  const auto& bob = tenant.key("bob");
  std::vector<double> submits, approves, completes, issuers;
  std::printf("%-6s %12s %12s %12s %14s\n", "round", "submit ms", "approve ms", "complete ms",
              "issuer-only ms");
  for (int round = 1; round <= options.rounds; ++round) {
    keyturn::test::TokenSpec spec;
    spec.id = "r-fanout-" + std::to_string(round);
    spec.targets = targets;
    spec.approvers.clear();
    spec.completed = false;
    spec.issued = false;
    spec.created = static_cast<std::uint64_t>(kNow - 10);
    spec.expires = spec.created + 30 * 86400;
    std::string jws = keyturn::test::makeToken(tenant, spec);
    std::string payload = parseJws(jws, 4).value().payloadB64;
    auto approval = server::test::signOver(
        bob, approverHeader(bob.publicKey().kid(), static_cast<std::uint64_t>(kNow)), payload);
    auto completion = server::test::signOver(
        alice, completerHeader(alice.publicKey().kid(), static_cast<std::uint64_t>(kNow)),
        payload);

    auto t0 = Clock::now();
    auto id = workflow.submit(bundle, "alice", jws, targets);
    double submitMs = ms(t0);
    require(bool(id), "submit", why(id.status()));
    auto t1 = Clock::now();
    Status a = workflow.approve(bundle, "bob", spec.id, approval.protectedB64,
                                approval.signatureB64, "bench");
    double approveMs = ms(t1);
    require(bool(a), "approve", why(a));
    auto t2 = Clock::now();
    Status c = workflow.complete(bundle, "alice", spec.id, completion.protectedB64,
                                 completion.signatureB64);
    double completeMs = ms(t2);
    require(bool(c), "complete", why(c));
    auto issued = store->targets(spec.id);
    require(issued && issued->size() == n && issued->back().token.has_value(), "tokens issued");
    double issuerMs = issuerOnlyMs(tenant, jws, targets);
    submits.push_back(submitMs);
    approves.push_back(approveMs);
    completes.push_back(completeMs);
    issuers.push_back(issuerMs);
    std::printf("%-6d %12.0f %12.1f %12.0f %14.0f\n", round, submitMs, approveMs, completeMs,
                issuerMs);
  }
  signingOnly(tenant, n);
  std::printf("%-6s %12.0f %12.1f %12.0f %14.0f   (goal: complete < 1000 ms)\n", "median",
              median(submits), median(approves), median(completes), median(issuers));
  return 0;
}

}  // namespace keyturn::bench
