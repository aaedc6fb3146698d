// Admin login over the real server: challenge–response with the admin's Ed25519
// key (core signLogin / checkLogin), single-use challenges, sessions of at most
// 15 minutes, and an audited refusal with its reason for every way a login can
// be wrong.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>
#include <memory>
#include <thread>

#include "api_server.h"
#include "app/auth.h"
#include "keyturn/json.h"
#include "keyturn/login.h"

using namespace keyturn;
using namespace keyturn::test;

namespace {

struct Challenge {
  std::string nonce, audience, tenant;
  std::int64_t expires = 0;
};

Challenge challengeFor(ApiServer &server, const std::string &principal) {
  HttpReply r = server.send("POST", "/api/v1/login/challenge",
                            "{\"principal\":" + json::quote(principal) + "}");
  REQUIRE(r.status == 200);
  auto o = parseBody(r);
  return {o->getValue<std::string>("challenge"),
          o->getValue<std::string>("audience"),
          o->getValue<std::string>("tenant"),
          o->getValue<std::int64_t>("expires")};
}

std::string errorOf(const HttpReply &r) {
  return parseBody(r)->getValue<std::string>("error");
}

std::uint64_t now() { return static_cast<std::uint64_t>(std::time(nullptr)); }

} // namespace

TEST_CASE("login: a signed challenge opens a session of at most 15 minutes for "
          "that principal",
          "[api][login]") {
  ApiServer server;
  Challenge c = challengeFor(server, "bob");
  CHECK(c.audience == "https://localhost");
  CHECK(c.tenant == "contoso");
  CHECK(c.expires <= static_cast<std::int64_t>(now()) + 60);
  HttpReply r = server.send(
      "POST", "/api/v1/login",
      signLogin(testKey(2), c.tenant, "bob", c.nonce, c.audience, now()));
  REQUIRE(r.status == 200);
  auto o = parseBody(r);
  CHECK(o->getValue<std::string>("principal") == "bob");
  CHECK(o->getValue<std::int64_t>("expires") <=
        static_cast<std::int64_t>(now()) + kMaxSessionSeconds);
  std::string session = o->getValue<std::string>("session");
  CHECK(server.sendAs(session, "GET", "/api/v1/devices").status == 200);
  CHECK(server.process->stderrText().find(session) ==
        std::string::npos); // never logged

  SECTION("logout ends the session") {
    CHECK(server.sendAs(session, "POST", "/api/v1/logout").status == 200);
    HttpReply after = server.sendAs(session, "GET", "/api/v1/devices");
    CHECK(after.status == 401);
    CHECK(errorOf(after) == "unauthenticated");
  }
}

TEST_CASE("login: a replayed challenge is refused, the first use wins",
          "[api][login]") {
  ApiServer server;
  Challenge c = challengeFor(server, "bob");
  std::string proof =
      signLogin(testKey(2), c.tenant, "bob", c.nonce, c.audience, now());
  CHECK(server.send("POST", "/api/v1/login", proof).status == 200);
  HttpReply replay = server.send("POST", "/api/v1/login", proof);
  CHECK(replay.status == 401);
  CHECK(errorOf(replay) == "unknown_challenge");
}

TEST_CASE("login: a key that is not the principal's, a bad signature and a "
          "wrong audience are refused",
          "[api][login]") {
  ApiServer server;
  SECTION("unknown key: bob's name with carol's key") {
    Challenge c = challengeFor(server, "bob");
    HttpReply r = server.send(
        "POST", "/api/v1/login",
        signLogin(testKey(3), c.tenant, "bob", c.nonce, c.audience, now()));
    CHECK(r.status == 401);
    CHECK(errorOf(r) == "unknown_key");
  }
  SECTION("bad signature: the payload changed after signing") {
    Challenge c = challengeFor(server, "bob");
    std::string proof =
        signLogin(testKey(2), c.tenant, "bob", c.nonce, c.audience, now());
    auto o = json::parseObject(proof).value();
    std::string other = signLogin(testKey(2), c.tenant, "bob", c.nonce + "x",
                                  c.audience, now());
    o->set("payload",
           json::parseObject(other).value()->getValue<std::string>("payload"));
    HttpReply r = server.send("POST", "/api/v1/login", json::stringify(o));
    CHECK(r.status == 401);
    CHECK(errorOf(r) == "bad_signature");
  }
  SECTION("wrong audience: a login made for another coordinator") {
    Challenge c = challengeFor(server, "bob");
    HttpReply r = server.send("POST", "/api/v1/login",
                              signLogin(testKey(2), c.tenant, "bob", c.nonce,
                                        "https://evil.example", now()));
    CHECK(r.status == 401);
    CHECK(errorOf(r) == "wrong_audience");
  }
  SECTION("an unknown principal gets a challenge like anyone, but can never "
          "log in") {
    Challenge c = challengeFor(server, "mallory");
    CHECK(c.nonce.size() == challengeFor(server, "bob").nonce.size());
    HttpReply r = server.send(
        "POST", "/api/v1/login",
        signLogin(testKey(9), c.tenant, "mallory", c.nonce, c.audience, now()));
    CHECK(r.status == 401);
    CHECK(errorOf(r) == "unknown_key");
  }
  // Every refusal is in the audit chain with its reason.
  auto audit = parseBody(
      server.sendAs(server.aliceSession, "GET", "/api/v1/audit?limit=1000"));
  auto entries = audit->getArray("entries");
  bool refused = false;
  for (std::size_t i = 0; i < entries->size(); ++i) {
    auto e = entries->getObject(static_cast<unsigned>(i));
    if (e->getValue<std::string>("event") == "login.refused") {
      refused = true;
      CHECK_THAT(e->getValue<std::string>("detail_json"),
                 Catch::Contains("\"reason\":"));
    }
  }
  CHECK(refused);
}

TEST_CASE("login: an expired session is refused", "[api][login]") {
  ApiServer server;
  auto store = server.openStore();
  std::int64_t t = static_cast<std::int64_t>(now());
  REQUIRE(store->insertSession(
      {server::secretHash("old-session"), "alice", t - 1000, t - 100}));
  HttpReply r = server.sendAs("old-session", "GET", "/api/v1/devices");
  CHECK(r.status == 401);
  CHECK(errorOf(r) == "unauthenticated");
}

TEST_CASE("login: bad bodies get 415, 413 and 400 malformed naming the member",
          "[api][login]") {
  ApiServer server;
  HttpReply text =
      server.send("POST", "/api/v1/login/challenge", "{\"principal\":\"bob\"}",
                  {{"Content-Type", "text/plain"}});
  CHECK(text.status == 415);
  CHECK(errorOf(text) == "unsupported_media_type");
  HttpReply big =
      server.send("POST", "/api/v1/login/challenge",
                  "{\"principal\":\"" + std::string(80 * 1024, 'a') + "\"}");
  CHECK(big.status == 413);
  CHECK(errorOf(big) == "too_large");
  HttpReply unknown = server.send("POST", "/api/v1/login/challenge",
                                  "{\"principal\":\"bob\",\"x\":1}");
  CHECK(unknown.status == 400);
  CHECK(errorOf(unknown) == "malformed");
  CHECK_THAT(parseBody(unknown)->getValue<std::string>("detail"),
             Catch::Contains("x"));
  HttpReply missing = server.send("POST", "/api/v1/login/challenge", "{}");
  CHECK(missing.status == 400);
  CHECK_THAT(parseBody(missing)->getValue<std::string>("detail"),
             Catch::Contains("principal"));
  HttpReply broken =
      server.send("POST", "/api/v1/login/challenge", "{\"principal\":");
  CHECK(broken.status == 400);
  CHECK(errorOf(broken) == "malformed");
  // The server keeps serving.
  CHECK(server.send("GET", "/healthz").status == 200);
}

namespace {

// Seconds until the server closes a TLS connection on which only half a request
// header was sent; -1 if it is still open after 30 s.
double secondsUntilDropped(int port) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(
      SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval limit{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  SSL_set_fd(ssl.get(), fd);
  REQUIRE(SSL_connect(ssl.get()) == 1);
  const char kPartial[] = "POST /api/v1/login HTTP/1.1\r\nHost: localhost\r\n";
  REQUIRE(SSL_write(ssl.get(), kPartial, sizeof kPartial - 1) > 0);
  auto started = std::chrono::steady_clock::now();
  char buf[256];
  int n = SSL_read(ssl.get(), buf, sizeof buf);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();
  ssl.reset();
  ::close(fd);
  return n <= 0 && seconds < 29 ? seconds : -1;
}

} // namespace

// Poco's receive timeout is 10 s; the connection is gone after at most two of
// them (the read of the header, then the TLS shutdown).
TEST_CASE("a silent client is dropped after the receive timeout while others "
          "are served",
          "[api][login][slow]") {
  ApiServer server;
  double dropped = -1;
  std::thread slow([&] { dropped = secondsUntilDropped(server.port); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(
      server.send("POST", "/api/v1/login/challenge", "{\"principal\":\"bob\"}")
          .status == 200);
  slow.join();
  CHECK(dropped > 5);
  CHECK(dropped < 25);
  CHECK(server.send("GET", "/healthz").status == 200);
}
