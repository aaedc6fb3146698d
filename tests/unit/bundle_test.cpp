// Trust bundle acceptance, PROTOCOL.md section 3: init, update, and the order of checks.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "fixtures.h"
#include "keyturn/base64url.h"
#include "keyturn/bundle_verifier.h"
#include "keyturn/crypto_util.h"
#include "keyturn/json.h"
#include "keyturn/trust_store.h"

using namespace keyturn;
using namespace keyturn::test;

namespace {

Result<AcceptedBundle> init(const std::string& file, std::optional<std::string> sha = std::nullopt,
                            std::int64_t now = kNow) {
  return acceptInitialBundle(file, sha, AcceptOptions{now, true, {}});
}

std::string reasonOf(const Result<AcceptedBundle>& r) { return r ? "accept" : r.reason(); }

// Replaces one protected header of a signed file by `header` and re-signs it with `key`.
std::string resignWithHeader(const std::string& file, std::size_t entry, const Ed25519PrivateKey& key,
                             const std::string& header) {
  auto env = parseJws(file, 64).value();
  JwsEnvelope fresh = newJws(env.payload);
  for (std::size_t i = 0; i < env.signatures.size(); ++i) {
    if (i == entry) appendSignature(fresh, key, header);
    else fresh.signatures.push_back(env.signatures[i]);
  }
  return fresh.serialize();
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    static int n = 0;
    path = std::filesystem::temp_directory_path() / ("kt-store-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    std::filesystem::remove_all(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("init accepts a bundle signed by the threshold of its own update group", "[bundle]") {
  Tenant t;
  auto r = init(t.sign(t.draft(1), {"alice", "bob"}));
  REQUIRE(r);
  CHECK(r->bundle.version == 1);
  CHECK(r->bundle.principals.size() == 5);
  CHECK(r->engine->policies().size() == 3);
}

TEST_CASE("bundle acceptance names the first failing check", "[bundle]") {
  Tenant t;
  auto stranger = fixedKey("stranger");
  auto d = t.draft(1);
  const std::string good = t.sign(d, {"alice", "bob"});

  struct Case {
    std::string name;
    std::function<std::string()> file;
    std::string reason;
  };
  std::vector<Case> cases = {
      {"one signer of two required", [&] { return t.sign(d, {"alice"}); }, "threshold_not_met"},
      {"one admin's two keys count once",
       [&] {
         JwsEnvelope j = newJws(bundlePayloadJson(d));
         for (std::size_t k = 0; k < 2; ++k)
           appendSignature(j, t.key("alice", k), bundleSignatureHeader(t.key("alice", k).publicKey().kid(), kNow));
         return j.serialize();
       },
       "threshold_not_met"},
      {"a signer outside the update group does not count", [&] { return t.sign(d, {"alice", "dave"}); },
       "threshold_not_met"},
      {"a key the bundle does not list",
       [&] {
         JwsEnvelope j = parseJws(good, 64).value();
         appendSignature(j, stranger, bundleSignatureHeader(stranger.publicKey().kid(), kNow));
         return j.serialize();
       },
       "unknown_key"},
      {"the issuer key cannot sign a bundle",
       [&] {
         JwsEnvelope j = parseJws(good, 64).value();
         appendSignature(j, t.issuer, bundleSignatureHeader(t.issuer.publicKey().kid(), kNow));
         return j.serialize();
       },
       "unknown_key"},
      {"one bad signature among good ones",
       [&] {
         JwsEnvelope j = parseJws(good, 64).value();
         j.signatures[1].signature[0] ^= 1;
         j.signatures[1].signatureB64 = base64url::encode(j.signatures[1].signature.data(), 64);
         return j.serialize();
       },
       "bad_signature"},
      {"alg none", [&] {
         return resignWithHeader(good, 0, t.key("alice"),
                                 R"({"alg":"none","kid":")" + t.key("alice").publicKey().kid() +
                                     R"(","kt.role":"bundle","kt.at":1})");
       }, "unsupported_alg"},
      {"alg HS256", [&] {
         return resignWithHeader(good, 0, t.key("alice"),
                                 R"({"alg":"HS256","kid":")" + t.key("alice").publicKey().kid() +
                                     R"(","kt.role":"bundle","kt.at":1})");
       }, "unsupported_alg"},
      {"crit header", [&] {
         return resignWithHeader(good, 0, t.key("alice"),
                                 R"({"alg":"EdDSA","crit":["kt.at"],"kid":")" + t.key("alice").publicKey().kid() +
                                     R"(","kt.role":"bundle","kt.at":1})");
       }, "unsupported_alg"},
      {"embedded jwk header", [&] {
         return resignWithHeader(good, 0, t.key("alice"),
                                 R"({"alg":"EdDSA","jwk":{},"kid":")" + t.key("alice").publicKey().kid() +
                                     R"(","kt.role":"bundle","kt.at":1})");
       }, "unsupported_alg"},
      {"an unknown header member", [&] {
         return resignWithHeader(good, 0, t.key("alice"),
                                 R"({"alg":"EdDSA","kid":")" + t.key("alice").publicKey().kid() +
                                     R"(","kt.role":"bundle","kt.at":1,"x":1})");
       }, "malformed"},
      {"a header member of the wrong type", [&] {
         return resignWithHeader(good, 0, t.key("alice"),
                                 R"({"alg":"EdDSA","kid":")" + t.key("alice").publicKey().kid() +
                                     R"(","kt.role":"bundle","kt.at":"1"})");
       }, "malformed"},
      {"expired", [&] {
         auto e = d;
         e.expires = kNow - 1;
         e.issued = kNow - 10;
         return t.sign(e, {"alice", "bob"});
       }, "bundle_expired"},
      {"expires exactly now (no skew)", [&] {
         auto e = d;
         e.expires = kNow;
         return t.sign(e, {"alice", "bob"});
       }, "bundle_expired"},
      {"a policy that does not compile", [&] {
         return t.sign(t.draft(1, {{"bad.lua", "return {"}}), {"alice", "bob"});
       }, "policy_error"},
      {"a policy without evaluate", [&] {
         return t.sign(t.draft(1, {{"bad.lua", "return { name = 'x', actions = { 'a.b' } }"}}), {"alice", "bob"});
       }, "policy_error"},
      {"a broken policy in an unsigned bundle is never run", [&] {
         return t.sign(t.draft(1, {{"bad.lua", "while true do end"}}), {"alice"});
       }, "threshold_not_met"},
      {"Lua bytecode", [&] {
         return t.sign(t.draft(1, {{"bc.lua", "\x1bLuaT\x00"}}), {"alice", "bob"});
       }, "malformed"},
      {"two principals with the same id", [&] {
         auto e = d;
         e.principals[1].id = e.principals[0].id;
         return t.sign(e, {"alice", "bob"});
       }, "malformed"},
      {"one key under two principals", [&] {
         auto e = d;
         e.principals[4].keysX.push_back(e.principals[3].keysX[0]);
         return t.sign(e, {"alice", "bob"});
       }, "malformed"},
      {"one key listed twice for the same principal", [&] {
         auto e = d;
         e.principals[4].keysX.push_back(e.principals[4].keysX[0]);
         return t.sign(e, {"alice", "bob"});
       }, "malformed"},
      {"an issuer key that is also a principal key", [&] {
         auto e = d;
         e.issuersX.push_back(e.principals[2].keysX[0]);
         return t.sign(e, {"alice", "bob"});
       }, "malformed"},
      {"a threshold larger than the group", [&] {
         auto e = d;
         e.threshold = 4;
         return t.sign(e, {"alice", "bob"});
       }, "malformed"},
      {"a threshold of zero", [&] {
         auto e = d;
         e.threshold = 0;
         return t.sign(e, {"alice", "bob"});
       }, "malformed"},
      {"a kid that is not the key's thumbprint", [&] {
         std::string p = bundlePayloadJson(d);
         std::string kid = jwkThumbprint(d.principals[0].keysX[0]);
         p.replace(p.find(kid), kid.size(), jwkThumbprint(d.principals[1].keysX[0]));
         return t.signPayload(p, {"alice", "bob"});
       }, "malformed"},
      {"an unknown bundle member", [&] {
         std::string p = bundlePayloadJson(d);
         p.insert(p.size() - 1, ",\"extra\":1");
         return t.signPayload(p, {"alice", "bob"});
       }, "malformed"},
      {"a duplicate member name in the payload", [&] {
         std::string p = bundlePayloadJson(d);
         p.insert(p.size() - 1, ",\"tenant\":\"fabrikam\"");
         return t.signPayload(p, {"alice", "bob"});
       }, "malformed"},
      {"an extra member in the envelope", [&] {
         std::string f = good;
         f.insert(f.size() - 1, ",\"header\":{}");
         return f;
       }, "malformed"},
      {"no signatures at all", [&] { return t.sign(d, {}); }, "threshold_not_met"},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      auto r = init(c.file());
      INFO(c.name << ": " << (r ? "accepted" : r.detail()));
      CHECK(reasonOf(r) == c.reason);
    }
  }
}

TEST_CASE("init with --expect-sha256 checks the file digest first, hex in either case", "[bundle]") {
  Tenant t;
  std::string file = t.sign(t.draft(1), {"alice", "bob"});
  std::string hex = toHex(sha256(file));
  CHECK(init(file, hex));
  std::string upper = hex;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(init(file, upper));
  hex[0] = hex[0] == '0' ? '1' : '0';
  CHECK(reasonOf(init(file, hex)) == "digest_mismatch");
  CHECK(reasonOf(init(t.sign(t.draft(1), {"alice"}), hex)) == "digest_mismatch");  // before the threshold
}

TEST_CASE("update needs version N+1, the same tenant, and both the old and the new threshold", "[bundle]") {
  Tenant t;
  AcceptedBundle v1 = t.v1();
  auto update = [&](const std::string& file) { return acceptBundleUpdate(v1.bundle, file, AcceptOptions{kNow, true, {}}); };

  CHECK(update(t.sign(t.draft(2), {"alice", "carol"})));
  CHECK(reasonOf(update(t.sign(t.draft(1), {"alice", "bob"}))) == "rollback");
  CHECK(reasonOf(update(t.sign(t.draft(3), {"alice", "bob"}))) == "version_gap");
  auto other = t.draft(2);
  other.tenant = "fabrikam";
  CHECK(reasonOf(update(t.sign(other, {"alice", "bob"}))) == "wrong_tenant");

  SECTION("old threshold only: the new bundle hands updates to a group that did not sign") {
    auto d = t.draft(2);
    d.updateGroup = "hr-wipe-approvers";  // carol and dave
    d.threshold = 2;
    auto r = update(t.sign(d, {"alice", "bob"}));
    CHECK(reasonOf(r) == "threshold_not_met");
    CHECK(r.detail().find("the new bundle") != std::string::npos);
  }
  SECTION("new threshold only: newcomers cannot vote themselves in") {
    auto d = t.draft(2);
    auto frank = Ed25519PrivateKey::generate();
    auto gina = Ed25519PrivateKey::generate();
    d.principals.push_back({"frank", {"maa-admins"}, {frank.publicKey().x()}});
    d.principals.push_back({"gina", {"maa-admins"}, {gina.publicKey().x()}});
    JwsEnvelope j = newJws(bundlePayloadJson(d));
    appendSignature(j, frank, bundleSignatureHeader(frank.publicKey().kid(), kNow));
    appendSignature(j, gina, bundleSignatureHeader(gina.publicKey().kid(), kNow));
    auto r = update(j.serialize());
    CHECK(reasonOf(r) == "threshold_not_met");
    CHECK(r.detail().find("the current bundle") != std::string::npos);
  }
  SECTION("a key only the new bundle lists counts toward the new threshold") {
    auto d = t.draft(2);
    auto frank = Ed25519PrivateKey::generate();
    d.principals.push_back({"frank", {"maa-admins"}, {frank.publicKey().x()}});
    d.threshold = 3;
    JwsEnvelope j = newJws(bundlePayloadJson(d));
    for (const char* who : {"alice", "bob"})
      appendSignature(j, t.key(who), bundleSignatureHeader(t.key(who).publicKey().kid(), kNow));
    appendSignature(j, frank, bundleSignatureHeader(frank.publicKey().kid(), kNow));
    CHECK(update(j.serialize()));
  }
}

TEST_CASE("the trust store refuses a second init, stores atomically and re-verifies on load", "[bundle][store]") {
  Tenant t;
  TempDir dir;
  auto store = TrustStore::open(dir.path.string());
  REQUIRE(store);
  CHECK(store->currentVersion() == 0);
  auto first = store->init(t.sign(t.draft(1), {"alice", "bob"}), std::nullopt, kNow);
  REQUIRE(first);
  CHECK(first.value() == 1);
  auto again = store->init(t.sign(t.draft(1), {"alice", "bob"}), std::nullopt, kNow);
  REQUIRE_FALSE(again);
  CHECK(again.reason() == "already_initialized");

  auto v2 = store->update(t.sign(t.draft(2), {"bob", "carol"}), kNow);
  REQUIRE(v2);
  CHECK(store->currentVersion() == 2);
  CHECK(store->load(kNow));

  auto gap = store->update(t.sign(t.draft(4), {"bob", "carol"}), kNow);
  CHECK(gap.reason() == "version_gap");
  CHECK(store->currentVersion() == 2);

  SECTION("a stored bundle edited on disk no longer loads") {
    std::string text = readFile(store->bundlePath(), kMaxBundleBytes).value();
    auto env = parseJws(text, 64).value();
    env.signatures[0].signature[5] ^= 0x40;
    env.signatures[0].signatureB64 = base64url::encode(env.signatures[0].signature.data(), 64);
    REQUIRE(writeFileAtomic(store->bundlePath(), env.serialize(), 0600).empty());
    auto loaded = store->load(kNow);
    REQUIRE_FALSE(loaded);
    CHECK(loaded.reason() == "bad_signature");
  }
  SECTION("an expired stored bundle still loads, so that a newer one can replace it") {
    CHECK(store->load(kNow + 365 * 86400));
  }
}
