// The token gate, PROTOCOL.md section 5: every check, in order, with its reason code.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>

#include "fixtures.h"
#include "keyturn/base64url.h"
#include "keyturn/crypto_util.h"
#include "keyturn/json.h"
#include "keyturn/replay_journal.h"
#include "keyturn/token_gate.h"

using namespace keyturn;
using namespace keyturn::test;

namespace {

// One tenant, its accepted bundle and a gate, shared by every case (key generation and
// the policy worker are the expensive parts).
struct World {
  Tenant tenant;
  AcceptedBundle bundle = tenant.v1();
  TokenGate gate{bundle.bundle, *bundle.engine, nullptr};
};
World& world() {
  static World w;
  return w;
}

struct Case {
  const char* name;
  std::function<std::string(const Tenant&)> token;
  const char* reason;  // "accept" or a reason code
  std::string deviceId = "dev-2";
  std::string ownership = "corporate";
  std::int64_t now = kNow;
};

TokenSpec spec() { return TokenSpec{}; }
template <class F>
std::function<std::string(const Tenant&)> with(F f) {
  return [f](const Tenant& t) {
    TokenSpec s;
    f(s);
    return makeToken(t, s);
  };
}
std::string header(const std::string& kid, const std::string& extra) {
  return R"({"alg":"EdDSA","kid":")" + kid + R"(","kt.role":"approver","kt.at":)" + std::to_string(kNow - 3000) +
         R"(,"kt.decision":"approve")" + extra + "}";
}
std::string rawHeader(const std::string& alg, const std::string& kid) {
  return R"({"alg":")" + alg + R"(","kid":")" + kid + R"(","kt.role":"approver","kt.at":)" +
         std::to_string(kNow - 3000) + R"(,"kt.decision":"approve"})";
}
std::string mutateEnvelope(const std::string& token, const std::function<void(JwsEnvelope&)>& f) {
  auto env = parseJws(token, 64).value();
  f(env);
  return env.serialize();
}

const std::vector<Case>& cases() {
  static const std::vector<Case> kCases = {
      {"a wipe approved by a device approver is accepted", [](const Tenant& t) { return makeToken(t, spec()); },
       "accept"},
      // Step 1: malformed.
      {"a token over 64 KiB", with([](TokenSpec& s) { s.paramsJson = R"({"pad":")" + std::string(70000, 'x') + "\"}"; }),
       "malformed"},
      {"more than 16 signature entries",
       with([](TokenSpec& s) { s.approvers = {"bob", "carol", "dave", "erin", "bob", "carol", "dave", "erin", "bob",
                                              "carol", "dave", "erin", "bob", "carol"}; }),
       "malformed"},
      {"a duplicate member in the payload",
       [](const Tenant& t) {
         std::string tok = makeToken(t, spec());
         auto env = parseJws(tok, 64).value();
         std::string p = env.payload;
         p.insert(p.size() - 1, R"(,"action":"device.lock")");
         return withPayload(tok, p);
       },
       "malformed"},
      {"an unknown payload member",
       [](const Tenant& t) {
         std::string tok = makeToken(t, spec());
         std::string p = parseJws(tok, 64).value().payload;
         p.insert(p.size() - 1, R"(,"note":"x")");
         return withPayload(tok, p);
       },
       "malformed"},
      {"a payload with padding in its base64url",
       [](const Tenant& t) {
         std::string tok = makeToken(t, spec());
         auto env = parseJws(tok, 64).value();
         std::string b64 = env.payloadB64;
         if (b64.size() % 4 == 0) return std::string("{}");
         std::string padded = b64 + std::string(4 - b64.size() % 4, '=');
         std::string out = tok;
         out.replace(out.find(b64), b64.size(), padded);
         return out;
       },
       "malformed"},
      {"a 63-byte signature",
       [](const Tenant& t) {
         return mutateEnvelope(makeToken(t, spec()), [](JwsEnvelope& e) {
           e.signatures[0].signatureB64 = base64url::encode(e.signatures[0].signature.data(), 63);
         });
       },
       "malformed"},
      {"an unprotected header member in a signature entry",
       [](const Tenant& t) {
         std::string tok = makeToken(t, spec());
         return tok.replace(tok.find("{\"protected\""), 1, "{\"header\":{\"kid\":\"x\"},");
       },
       "malformed"},
      {"an integer written as a fraction",
       [](const Tenant& t) {
         std::string tok = makeToken(t, spec());
         std::string p = parseJws(tok, 64).value().payload;
         p.replace(p.find("\"bundle\":1"), 10, "\"bundle\":1.0");
         return withPayload(tok, p);
       },
       "malformed"},
      {"justification over 1,024 characters",
       [](const Tenant& t) {
         std::string tok = makeToken(t, spec());
         std::string p = parseJws(tok, 64).value().payload;
         std::string j = spec().justification;
         p.replace(p.find(j), j.size(), std::string(1025, 'j'));
         return withPayload(tok, p);
       },
       "malformed"},
      {"an approval with a decision other than approve",
       [](const Tenant& t) {
         const auto& k = t.key("carol");
         return addSignature(makeToken(t, spec()), k, header(k.publicKey().kid(), "").replace(
             header(k.publicKey().kid(), "").find("approve\""), 8, "reject\""));
       },
       "malformed"},
      // Step 2: algorithms.
      {"alg none", [](const Tenant& t) { return addSignature(makeToken(t, spec()), t.key("carol"), rawHeader("none", t.key("carol").publicKey().kid())); },
       "unsupported_alg"},
      {"alg HS256", [](const Tenant& t) { return addSignature(makeToken(t, spec()), t.key("carol"), rawHeader("HS256", t.key("carol").publicKey().kid())); },
       "unsupported_alg"},
      {"alg ES256", [](const Tenant& t) { return addSignature(makeToken(t, spec()), t.key("carol"), rawHeader("ES256", t.key("carol").publicKey().kid())); },
       "unsupported_alg"},
      {"a crit header", [](const Tenant& t) { return addSignature(makeToken(t, spec()), t.key("carol"), header(t.key("carol").publicKey().kid(), R"(,"crit":["kt.at"])")); },
       "unsupported_alg"},
      {"an embedded jwk header",
       [](const Tenant& t) { return addSignature(makeToken(t, spec()), t.key("carol"), header(t.key("carol").publicKey().kid(), R"(,"jwk":{"kty":"OKP"})")); },
       "unsupported_alg"},
      {"a b64 header", [](const Tenant& t) { return addSignature(makeToken(t, spec()), t.key("carol"), header(t.key("carol").publicKey().kid(), R"(,"b64":false)")); },
       "unsupported_alg"},
      // Step 3: the local bundle.
      {"the local bundle has expired", [](const Tenant& t) { return makeToken(t, spec()); }, "bundle_expired", "dev-2",
       "corporate", kNow + 91 * 86400},
      {"a request made under a newer bundle", with([](TokenSpec& s) { s.bundle = 2; }), "bundle_stale"},
      // Step 4: keys.
      {"an approver key the bundle does not list",
       [](const Tenant& t) {
         static auto stranger = fixedKey("stranger");
         return addSignature(makeToken(t, spec()), stranger, header(stranger.publicKey().kid(), ""));
       },
       "unknown_key"},
      {"an issuer signature by an admin key",
       [](const Tenant& t) {
         TokenSpec s;
         s.issued = false;
         std::string tok = makeToken(t, s);
         const auto& k = t.key("bob");
         MerkleTree tree(canonicalTargets(s.targets).value());
         return addSignature(tok, k, issuerHeader(k.publicKey().kid(), kNow, "dev-2", 1, tree.auditPath(1), kNow - 60, kNow + 3600));
       },
       "unknown_key"},
      {"an approval by the issuer key",
       [](const Tenant& t) { return addSignature(makeToken(t, spec()), t.issuer, header(t.issuer.publicKey().kid(), "")); },
       "unknown_key"},
      // Step 5: signatures.
      {"a flipped bit in one signature",
       [](const Tenant& t) {
         return mutateEnvelope(makeToken(t, spec()), [](JwsEnvelope& e) {
           e.signatures[1].signature[10] ^= 1;
           e.signatures[1].signatureB64 = base64url::encode(e.signatures[1].signature.data(), 64);
         });
       },
       "bad_signature"},
      {"a malleated signature (S + L)",
       [](const Tenant& t) {
         return mutateEnvelope(makeToken(t, spec()), [](JwsEnvelope& e) {
           // L = 2^252 + 27742317777372353535851937790883648493, little-endian.
           const std::uint8_t L[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                                       0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
           auto& sig = e.signatures[1].signature;
           unsigned carry = 0;
           for (int i = 0; i < 32; ++i) {
             unsigned v = sig[32 + i] + L[i] + carry;
             sig[32 + i] = static_cast<std::uint8_t>(v);
             carry = v >> 8;
           }
           e.signatures[1].signatureB64 = base64url::encode(sig.data(), 64);
         });
       },
       "bad_signature"},
      {"a payload changed after signing (and an earlier check would also fail later)",
       [](const Tenant& t) {
         std::string tok = makeToken(t, spec());
         std::string p = parseJws(tok, 64).value().payload;
         p.replace(p.find("contoso"), 7, "fabrika");
         return withPayload(tok, p);
       },
       "bad_signature"},
      // Step 6: tenant.
      {"a request for another tenant", with([](TokenSpec& s) { s.tenant = "fabrikam"; }), "wrong_tenant"},
      // Step 7: issuer and device.
      {"no issuer signature", with([](TokenSpec& s) { s.issued = false; }), "no_issuer"},
      {"two issuer signatures",
       [](const Tenant& t) {
         TokenSpec s;
         std::string tok = makeToken(t, s);
         MerkleTree tree(canonicalTargets(s.targets).value());
         return addSignature(tok, t.issuer, issuerHeader(t.issuer.publicKey().kid(), kNow, "dev-1", 0, tree.auditPath(0), kNow - 60, kNow + 3600));
       },
       "no_issuer"},
      {"a token issued for another device", [](const Tenant& t) { return makeToken(t, spec()); }, "wrong_device", "dev-1"},
      {"a device outside the targets with the proof of another leaf", with([](TokenSpec& s) { s.device = "dev-9"; }),
       "wrong_device", "dev-9"},
      // Step 8: the issuer's window, 300 s of skew either way.
      {"not yet valid beyond the skew", with([](TokenSpec& s) { s.nbf = kNow + 301; s.exp = kNow + 7200; }), "not_yet_valid"},
      {"not yet valid but inside the skew", with([](TokenSpec& s) { s.nbf = kNow + 300; s.exp = kNow + 7200; }), "accept"},
      {"expired beyond the skew", with([](TokenSpec& s) { s.nbf = kNow - 7200; s.exp = kNow - 300; }), "expired"},
      {"expired but inside the skew", with([](TokenSpec& s) { s.nbf = kNow - 7200; s.exp = kNow - 299; }), "accept"},
      // Step 9: requester and completer.
      {"not completed", with([](TokenSpec& s) { s.completed = false; }), "requester_mismatch"},
      {"completed by someone else", with([](TokenSpec& s) { s.completerSigner = "carol"; }), "requester_mismatch"},
      {"requested under someone else's key", with([](TokenSpec& s) { s.requesterSigner = "carol"; }), "requester_mismatch"},
      {"completed before the last approval", with([](TokenSpec& s) { s.completerAt = s.created + 15; }), "requester_mismatch"},
      {"completed with the requester's second key", with([](TokenSpec& s) { s.completerSigner = "alice#1"; }), "accept"},
      {"two requester signatures",
       [](const Tenant& t) {
         const auto& k = t.key("alice");
         return addSignature(makeToken(t, spec()), k, requesterHeader(k.publicKey().kid(), kNow - 3000));
       },
       "requester_mismatch"},
      // Step 10: self-approval.
      {"self-approval is refused even by a member of the approver group",
       with([](TokenSpec& s) { s.requester = "carol"; s.approvers = {"carol"}; }), "self_approval"},
      {"self-approval with the requester's other key", with([](TokenSpec& s) { s.approvers = {"bob", "alice#1"}; }),
       "self_approval"},
      // Step 11: the request's window.
      {"an approval after the request expired",
       with([](TokenSpec& s) { s.expires = s.created + 15; }), "request_expired"},
      {"a requester signature long before the request was created",
       with([](TokenSpec& s) { s.requesterAt = s.created - 301; }), "request_expired"},
      // Steps 13 to 15: policies, approvals, actions.
      {"a policy denies", with([](TokenSpec& s) { s.action = "test.deny"; s.paramsJson = "{}"; }), "policy_denied"},
      {"a policy fails", with([](TokenSpec& s) { s.action = "test.boom"; s.paramsJson = "{}"; }), "policy_error"},
      {"a wipe without approvals", with([](TokenSpec& s) { s.approvers = {}; }), "insufficient_approvals"},
      {"a personal device needs two HR approvers", [](const Tenant& t) { return makeToken(t, spec()); },
       "insufficient_approvals", "dev-2", "personal"},
      {"a personal device with two HR approvers",
       with([](TokenSpec& s) { s.approvers = {"carol", "dave"}; }), "accept", "dev-2", "personal"},
      {"one approver counted twice does not make two", with([](TokenSpec& s) { s.approvers = {"carol", "carol"}; }),
       "insufficient_approvals", "dev-2", "personal"},
      {"an action nobody provides", with([](TokenSpec& s) { s.action = "custom.thing"; s.paramsJson = "{}"; }),
       "unknown_action"},
  };
  return kCases;
}

}  // namespace

TEST_CASE("the token gate names the first failing check", "[gate]") {
  auto index = GENERATE(range(std::size_t{0}, cases().size()));
  const Case& c = cases()[index];
  World& w = world();
  std::string token = c.token(w.tenant);
  DeviceFacts facts = device(c.deviceId, c.ownership);
  auto r = w.gate.check(token, facts, c.now);
  INFO(c.name << " -> " << (r ? std::string("accept") : r.reason() + ": " + r.detail()));
  CHECK((r ? std::string("accept") : r.reason()) == c.reason);
  if (!r) CHECK_FALSE(r.detail().empty());
}

TEST_CASE("an accepted token reports its approvers and requirements", "[gate]") {
  World& w = world();
  TokenSpec s;
  s.approvers = {"carol", "dave"};
  auto r = w.gate.check(makeToken(w.tenant, s), device("dev-2", "personal"), kNow);
  REQUIRE(r);
  CHECK(r->approvers == std::vector<std::string>{"carol", "dave"});
  REQUIRE(r->requirements.size() == 1);
  CHECK(r->requirements[0].group == "hr-wipe-approvers");
  CHECK(r->requirements[0].approvals == 2);
}

TEST_CASE("a consumed request id is refused as replayed, and consuming twice fails", "[gate][journal]") {
  World& w = world();
  auto path = std::filesystem::temp_directory_path() / ("kt-journal-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  auto journal = ReplayJournal::open(path.string());
  REQUIRE(journal);
  TokenGate gate(w.bundle.bundle, *w.bundle.engine, journal.value().get());
  std::string token = makeToken(w.tenant, TokenSpec{});
  auto first = gate.check(token, device("dev-2"), kNow);
  REQUIRE(first);
  REQUIRE(journal.value()->consume(first->token.payload.id, first->token.payload.action, kNow));
  auto second = gate.check(token, device("dev-2"), kNow);
  REQUIRE_FALSE(second);
  CHECK(second.reason() == "replayed");
  Status again = journal.value()->consume(first->token.payload.id, "device.wipe", kNow);
  CHECK(again.reason() == "replayed");
  journal.value().reset();
  // The record survives reopening.
  auto reopened = ReplayJournal::open(path.string());
  REQUIRE(reopened);
  CHECK(reopened.value()->isConsumed("r-0001"));
  CHECK_FALSE(reopened.value()->isConsumed("r-0002"));
  std::filesystem::remove(path);
}

// Vectors on disk: the cases above, written as files that another implementation (or an
// auditor's script) can run. `keyturn_unit_tests "[.write-vectors]"` regenerates them;
// keys are derived from fixed seeds and Ed25519 is deterministic, so they do not change.
namespace {
std::string slug(const std::string& name) {
  std::string s;
  for (char c : name) s += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '-';
  return s.substr(0, 60);
}
std::vector<std::string> vectorFiles() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(std::string(KEYTURN_VECTORS_DIR) + "/tokens"))
    if (e.path().extension() == ".json") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

TEST_CASE("write the token vectors", "[.write-vectors]") {
  World& w = world();
  std::string dir = std::string(KEYTURN_VECTORS_DIR) + "/tokens";
  std::filesystem::create_directories(dir);
  REQUIRE(writeFileAtomic(std::string(KEYTURN_VECTORS_DIR) + "/bundle.json", w.bundle.bundle.fileBytes, 0644).empty());
  for (std::size_t i = 0; i < cases().size(); ++i) {
    const Case& c = cases()[i];
    char prefix[32];
    std::snprintf(prefix, sizeof prefix, "%02zu-", i);
    std::string body = "{\"name\":" + json::quote(c.name) + ",\"expect\":" + json::quote(c.reason) +
                       ",\"now\":" + std::to_string(c.now) + ",\"facts\":{\"id\":" + json::quote(c.deviceId) +
                       ",\"ownership\":" + json::quote(c.ownership) + "},\"token\":" + json::quote(c.token(w.tenant)) +
                       "}\n";
    REQUIRE(writeFileAtomic(dir + "/" + prefix + slug(c.name) + ".json", body, 0644).empty());
  }
}

TEST_CASE("every token vector on disk gives its expected reason", "[gate][vectors]") {
  static auto files = vectorFiles();
  REQUIRE(files.size() >= 40);
  std::string bundleFile = readFile(std::string(KEYTURN_VECTORS_DIR) + "/bundle.json", kMaxBundleBytes).value();
  static auto accepted = acceptInitialBundle(bundleFile, std::nullopt, AcceptOptions{kNow, true, {}});
  REQUIRE(accepted);
  TokenGate gate(accepted->bundle, *accepted->engine, nullptr);
  auto file = GENERATE(from_range(files));
  auto v = json::parseObject(readFile(file, 1 << 20).value());
  REQUIRE(v);
  auto facts = v.value()->getObject("facts");
  DeviceFacts dev = device(facts->getValue<std::string>("id"), facts->getValue<std::string>("ownership"));
  std::string token = v.value()->getValue<std::string>("token");
  auto r = gate.check(token, dev, v.value()->getValue<Poco::Int64>("now"));
  INFO(file << ": " << (r ? std::string("accept") : r.reason() + ": " + r.detail()));
  CHECK((r ? std::string("accept") : r.reason()) == v.value()->getValue<std::string>("expect"));
}
