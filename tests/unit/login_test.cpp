// Admin login by challenge–response with the admin's Ed25519 key.
#include <catch2/catch.hpp>

#include "fixtures.h"
#include "keyturn/login.h"

using namespace keyturn;
using namespace keyturn::test;

namespace {
const Tenant& tenant() {
  static Tenant t;
  return t;
}
const AcceptedBundle& accepted() {
  static AcceptedBundle b = tenant().v1();
  return b;
}
std::string reasonOf(const Result<LoginProof>& r) { return r ? "accept" : r.reason(); }
const std::string kAudience = "https://keyturn.contoso.test:8443";
}  // namespace

TEST_CASE("a login signed by the admin's own key names the principal and the challenge", "[login]") {
  std::string challenge = randomToken();
  auto proof = checkLogin(accepted().bundle,
                          signLogin(tenant().key("bob"), "contoso", "bob", challenge, kAudience, kNow), kAudience, kNow);
  REQUIRE(proof);
  CHECK(proof->principal == "bob");
  CHECK(proof->challenge == challenge);
}

TEST_CASE("a login is refused for another principal's key, tenant, audience or time", "[login]") {
  const auto& b = accepted().bundle;
  const auto& bob = tenant().key("bob");
  CHECK(reasonOf(checkLogin(b, signLogin(bob, "contoso", "alice", "c", kAudience, kNow), kAudience, kNow)) == "unknown_key");
  CHECK(reasonOf(checkLogin(b, signLogin(bob, "fabrikam", "bob", "c", kAudience, kNow), kAudience, kNow)) == "wrong_tenant");
  CHECK(reasonOf(checkLogin(b, signLogin(bob, "contoso", "bob", "c", "https://evil.test", kNow), kAudience, kNow)) ==
        "wrong_audience");
  CHECK(reasonOf(checkLogin(b, signLogin(bob, "contoso", "bob", "c", kAudience, kNow - 301), kAudience, kNow)) == "expired");
  CHECK(reasonOf(checkLogin(b, signLogin(bob, "contoso", "bob", "c", kAudience, kNow + 301), kAudience, kNow)) ==
        "not_yet_valid");
  auto stranger = fixedKey("stranger");
  CHECK(reasonOf(checkLogin(b, signLogin(stranger, "contoso", "bob", "c", kAudience, kNow), kAudience, kNow)) ==
        "unknown_key");
  CHECK(reasonOf(checkLogin(b, "{\"payload\":\"\",\"signatures\":[]}", kAudience, kNow)) == "malformed");
}

TEST_CASE("random tokens are 32 bytes of base64url and do not repeat", "[login]") {
  std::string a = randomToken(), b = randomToken();
  CHECK(a.size() == 43);
  CHECK(a != b);
}
