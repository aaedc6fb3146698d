// Benchmarks for the trust core, PROTOCOL.md sections 3 and 5:
//   1. the in-process gate check of a token with one approval (4 signatures) under the
//      shipped policies, without consuming it, against 4 raw EVP Ed25519 verifies of the
//      same signatures in the same run, and the ratio of the two;
//   2. the durable consume (one fsync-bound SQLite write);
//   3. loading and verifying a bundle with 10,000 principals.
// Prints one line per figure. Not a test: nothing here asserts a time.
#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "../tests/unit/fixtures.h"
#include "keyturn/crypto_util.h"
#include "keyturn/replay_journal.h"
#include "keyturn/token_gate.h"

using namespace keyturn;
using namespace keyturn::test;
using Clock = std::chrono::steady_clock;

namespace {

std::vector<PolicySource> shippedPolicies() {
  std::vector<PolicySource> out;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(std::string(KEYTURN_SOURCE_DIR) + "/policies")) {
    std::string name = e.path().filename().string();
    if (e.path().extension() == ".lua" && name.find("_test.lua") == std::string::npos) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) out.push_back({f.filename().string(), readFile(f.string(), 1 << 20).value()});
  return out;
}

// Median of `rounds` rounds, each the mean of `batch` calls, in microseconds.
template <class F>
double medianMicros(int rounds, int batch, F&& f) {
  std::vector<double> samples;
  for (int r = 0; r < rounds; ++r) {
    auto t0 = Clock::now();
    for (int i = 0; i < batch; ++i) f();
    samples.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / batch);
  }
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

}  // namespace

int main() {
  Tenant t;
  auto policies = shippedPolicies();
  auto accepted = acceptInitialBundle(t.sign(t.draft(1, policies), {"alice", "bob"}), std::nullopt,
                                      AcceptOptions{kNow, true, {}});
  if (!accepted) {
    std::fprintf(stderr, "bundle refused: %s: %s\n", accepted.reason().c_str(), accepted.detail().c_str());
    return 1;
  }
  TokenGate gate(accepted->bundle, *accepted->engine, nullptr);
  TokenSpec spec;
  spec.approvers = {"bob"};
  std::string token = makeToken(t, spec);
  DeviceFacts dev = device("dev-2", "corporate");
  auto first = gate.check(token, dev, kNow);
  if (!first) {
    std::fprintf(stderr, "token refused: %s: %s\n", first.reason().c_str(), first.detail().c_str());
    return 1;
  }

  // The same four signatures, verified with nothing but EVP.
  auto env = parseJws(token, 16).value();
  struct Raw {
    EVP_PKEY* key;
    std::string input;
    Signature sig;
  };
  std::vector<Raw> raw;
  for (std::size_t i = 0; i < env.signatures.size(); ++i) {
    const auto& s = first->token.signatures[i];
    const Ed25519PublicKey* k =
        s.role == SignerRole::kIssuer ? accepted->bundle.issuerKey(s.kid) : accepted->bundle.principalKey(s.kid);
    raw.push_back({EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, k->raw().data(), 32),
                   env.signingInput(env.signatures[i]), env.signatures[i].signature});
  }
  auto rawVerify = [&] {
    for (auto& r : raw) {
      EVP_MD_CTX* ctx = EVP_MD_CTX_new();
      EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, r.key);
      if (EVP_DigestVerify(ctx, r.sig.data(), 64, reinterpret_cast<const unsigned char*>(r.input.data()),
                           r.input.size()) != 1)
        std::abort();
      EVP_MD_CTX_free(ctx);
    }
  };
  auto gateCheck = [&] {
    if (!gate.check(token, dev, kNow)) std::abort();
  };
  // Interleave the two so that frequency changes hit both alike.
  for (int i = 0; i < 200; ++i) { rawVerify(); gateCheck(); }
  double rawUs = 0, gateUs = 0;
  std::vector<double> ratios;
  for (int round = 0; round < 15; ++round) {
    double r = medianMicros(1, 400, rawVerify);
    double g = medianMicros(1, 400, gateCheck);
    ratios.push_back(g / r);
    rawUs += r;
    gateUs += g;
  }
  std::sort(ratios.begin(), ratios.end());
  // The same steps for an action no policy matches: no round trip to the policy worker.
  TokenSpec bare;
  bare.action = "custom.thing";
  bare.paramsJson = "{}";
  std::string bareToken = makeToken(t, bare);
  std::vector<double> bareRatios;
  for (int round = 0; round < 15; ++round) {
    double r = medianMicros(1, 400, rawVerify);
    double g = medianMicros(1, 400, [&] { (void)gate.check(bareToken, dev, kNow); });
    bareRatios.push_back(g / r);
  }
  std::sort(bareRatios.begin(), bareRatios.end());
  std::printf("token size: %zu bytes, %zu signatures, %zu shipped policies\n", token.size(), raw.size(),
              policies.size());
  std::printf("raw EVP Ed25519 verify x%zu: %.1f us\n", raw.size(), rawUs / 15);
  std::printf("gate check (steps 1-15, no consume): %.1f us\n", gateUs / 15);
  std::printf("ratio gate / raw verifies: %.3f (median of 15 rounds; goal <= 1.15)\n", ratios[ratios.size() / 2]);
  std::printf("ratio without the policy worker round trip (no policy matches): %.3f\n",
              bareRatios[bareRatios.size() / 2]);
  for (auto& r : raw) EVP_PKEY_free(r.key);

  // Policy evaluation alone, for the breakdown.
  PolicyRequest req;
  req.id = "r-0001";
  req.action = "device.wipe";
  req.paramsJson = "{\"mode\":\"full\"}";
  req.requesterId = "alice";
  req.requesterGroups = {"maa-admins"};
  req.justification = "x";
  req.created = kNow - 10;
  req.expires = kNow + 1000;
  req.now = kNow;
  double evalUs = medianMicros(9, 500, [&] { (void)accepted->engine->evaluate(req, dev); });
  double parseUs = medianMicros(9, 500, [&] { (void)parseToken(token); });
  std::printf("  of which policy evaluation: %.1f us, token parsing: %.1f us\n", evalUs, parseUs);

  // Durable consume.
  auto dir = std::filesystem::temp_directory_path() / ("kt-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    auto journal = ReplayJournal::open((dir / "journal.db").string()).value();
    int n = 0;
    double consumeUs = medianMicros(5, 40, [&] {
      if (!journal->consume("bench-" + std::to_string(n++), "device.wipe", kNow)) std::abort();
    });
    std::printf("durable consume (SQLite WAL, synchronous=FULL): %.1f us (%.2f ms)\n", consumeUs, consumeUs / 1000);
  }
  std::filesystem::remove_all(dir);

  // A bundle with 10,000 principals.
  BundleDraft big = t.draft(1, policies);
  for (int i = 0; i < 10000 - 5; ++i)
    big.principals.push_back({"admin" + std::to_string(i), {"device-approvers"},
                              {fixedKey("bench-" + std::to_string(i)).publicKey().x()}});
  std::string bigFile = t.sign(big, {"alice", "bob"});
  double parseMs = medianMicros(5, 1, [&] { (void)TrustBundle::parse(bigFile); }) / 1000;
  double acceptMs = medianMicros(5, 1, [&] {
    if (!acceptInitialBundle(bigFile, std::nullopt, AcceptOptions{kNow, true, {}})) std::abort();
  }) / 1000;
  std::printf("bundle with 10,000 principals (%.1f MB): parse %.1f ms, parse+verify+load policies %.1f ms\n",
              bigFile.size() / 1e6, parseMs, acceptMs);
  return 0;
}
