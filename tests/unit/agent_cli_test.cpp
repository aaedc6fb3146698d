// keyturn-agent's offline command line (PROTOCOL.md section 8), run as a real process:
// one JSON line on stdout, exit 0 accept, 1 reject, 2 usage or I/O error.

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "fixtures.h"
#include "keyturn/crypto_util.h"
#include "keyturn/json.h"
#include "process_run.h"

using namespace keyturn;
using namespace keyturn::test;
namespace fs = std::filesystem;

namespace {

struct Run {
  int status;
  std::string out;
  Poco::JSON::Object::Ptr line() const {
    auto o = json::parseObject(out.substr(0, out.find('\n')));
    if (!o) FAIL("not one JSON line: " << out);
    return o.value();
  }
  std::string field(const std::string& name) const { return line()->getValue<std::string>(name); }
};

Run agent(const std::string& args) {
  auto r = runProcess(binaryPath("agent/keyturn-agent") + " " + args);
  return Run{r.status, r.out};
}

struct Workdir {
  fs::path dir;
  Workdir() {
    static int n = 0;
    dir = fs::temp_directory_path() / ("kt-agent-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~Workdir() { fs::remove_all(dir); }
  std::string write(const std::string& name, const std::string& text) const {
    std::string p = (dir / name).string();
    std::ofstream(p) << text;
    return p;
  }
  std::string state() const { return (dir / "state").string(); }
};

const std::string kNowArg = " --now " + std::to_string(kNow);

}  // namespace

TEST_CASE("trust init accepts once and prints the version, and a second init is refused", "[agent-cli]") {
  Tenant t;
  Workdir w;
  std::string v1 = w.write("v1.json", t.sign(t.draft(1), {"alice", "bob"}));
  Run first = agent("trust init --state " + w.state() + " --bundle " + v1 + kNowArg);
  CHECK(first.status == 0);
  CHECK(first.out == "{\"decision\":\"accept\",\"version\":1}\n");
  Run again = agent("trust init --state " + w.state() + " --bundle " + v1 + kNowArg);
  CHECK(again.status == 1);
  CHECK(again.field("reason") == "already_initialized");
  CHECK(again.line()->getValue<int>("version") == 1);
}

TEST_CASE("trust init checks --expect-sha256 before anything else", "[agent-cli]") {
  Tenant t;
  Workdir w;
  std::string text = t.sign(t.draft(1), {"alice", "bob"});
  std::string file = w.write("v1.json", text);
  Run bad = agent("trust init --state " + w.state() + " --bundle " + file + " --expect-sha256 " +
                  std::string(64, 'a') + kNowArg);
  CHECK(bad.status == 1);
  CHECK(bad.field("reason") == "digest_mismatch");
  CHECK(bad.line()->getValue<int>("version") == 0);
  Run good = agent("trust init --state " + w.state() + " --bundle " + file + " --expect-sha256 " +
                   toHex(sha256(text)) + kNowArg);
  CHECK(good.status == 0);
}

TEST_CASE("trust update applies files in order and stops at the first refusal", "[agent-cli]") {
  Tenant t;
  Workdir w;
  REQUIRE(agent("trust init --state " + w.state() + " --bundle " + w.write("v1.json", t.sign(t.draft(1), {"alice", "bob"})) + kNowArg).status == 0);
  std::string v2 = w.write("v2.json", t.sign(t.draft(2), {"alice", "bob"}));
  std::string v3bad = w.write("v3.json", t.sign(t.draft(3), {"alice"}));
  std::string v4 = w.write("v4.json", t.sign(t.draft(4), {"alice", "bob"}));
  Run r = agent("trust update --state " + w.state() + " --bundle " + v2 + " " + v3bad + " " + v4 + kNowArg);
  CHECK(r.status == 1);
  CHECK(r.field("reason") == "threshold_not_met");
  CHECK(r.line()->getValue<int>("version") == 2);  // v2 stays accepted
  Run gap = agent("trust update --state " + w.state() + " --bundle " + v4 + kNowArg);
  CHECK(gap.field("reason") == "version_gap");
  Run back = agent("trust update --state " + w.state() + " --bundle " + v2 + kNowArg);
  CHECK(back.field("reason") == "rollback");
  Run show = agent("trust show --state " + w.state() + kNowArg);
  CHECK(show.status == 0);
  CHECK(show.line()->getValue<int>("version") == 2);
  CHECK(show.field("tenant") == "contoso");
}

TEST_CASE("verify accepts the right device, refuses others with the reason, and --consume stops replays",
          "[agent-cli]") {
  Tenant t;
  Workdir w;
  REQUIRE(agent("trust init --state " + w.state() + " --bundle " + w.write("v1.json", t.sign(t.draft(1), {"alice", "bob"})) + kNowArg).status == 0);
  std::string token = w.write("token.json", makeToken(t, TokenSpec{}));
  std::string dev2 = w.write("dev2.json", R"({"id":"dev-2","ownership":"corporate","platform":"linux","groups":["kiosk"],"tags":{"site":"leeds"}})");
  std::string dev1 = w.write("dev1.json", R"({"id":"dev-1"})");
  std::string base = "verify --state " + w.state() + " --token " + token + kNowArg;

  Run ok = agent(base + " --facts " + dev2);
  CHECK(ok.status == 0);
  CHECK(ok.out == "{\"decision\":\"accept\",\"request\":\"r-0001\",\"action\":\"device.wipe\",\"approvers\":[\"bob\"],"
                  "\"requirements\":[{\"group\":\"device-approvers\",\"approvals\":1}]}\n");
  Run wrong = agent(base + " --facts " + dev1);
  CHECK(wrong.status == 1);
  CHECK(wrong.field("decision") == "reject");
  CHECK(wrong.field("reason") == "wrong_device");
  CHECK_FALSE(wrong.field("detail").empty());

  // Without --consume nothing is recorded.
  CHECK(agent(base + " --facts " + dev2).status == 0);
  CHECK(agent(base + " --facts " + dev2 + " --consume").status == 0);
  Run replay = agent(base + " --facts " + dev2 + " --consume");
  CHECK(replay.status == 1);
  CHECK(replay.field("reason") == "replayed");
}

TEST_CASE("verify without a trusted bundle fails closed", "[agent-cli]") {
  Tenant t;
  Workdir w;
  std::string token = w.write("token.json", makeToken(t, TokenSpec{}));
  std::string dev2 = w.write("dev2.json", R"({"id":"dev-2"})");
  Run r = agent("verify --state " + w.state() + " --token " + token + " --facts " + dev2 + kNowArg);
  CHECK(r.status == 1);
  CHECK(r.field("reason") == "bundle_expired");
}

TEST_CASE("keyturn-agent usage errors exit 2 and name the argument", "[agent-cli]") {
  Tenant t;
  Workdir w;
  REQUIRE(agent("trust init --state " + w.state() + " --bundle " + w.write("v1.json", t.sign(t.draft(1), {"alice", "bob"})) + kNowArg).status == 0);
  std::string token = w.write("token.json", makeToken(t, TokenSpec{}));
  std::string base = "verify --state " + w.state() + " --token " + token;

  Run badOwnership = agent(base + " --facts " + w.write("f.json", R"({"id":"dev-2","ownership":"byod"})"));
  CHECK(badOwnership.status == 2);
  CHECK(badOwnership.field("detail").find("ownership") != std::string::npos);
  Run noId = agent(base + " --facts " + w.write("g.json", R"({"ownership":"corporate"})"));
  CHECK(noId.status == 2);
  CHECK(noId.field("detail").find("facts.id") != std::string::npos);
  Run missingFacts = agent(base);
  CHECK(missingFacts.status == 2);
  CHECK(missingFacts.field("detail").find("--facts") != std::string::npos);
  Run badNow = agent(base + " --facts " + w.write("h.json", R"({"id":"dev-2"})") + " --now yesterday");
  CHECK(badNow.status == 2);
  CHECK(badNow.field("detail").find("--now") != std::string::npos);
  Run unknown = agent(base + " --facts x --frobnicate");
  CHECK(unknown.status == 2);
  CHECK(unknown.field("detail").find("--frobnicate") != std::string::npos);
  Run noToken = agent("verify --state " + w.state() + " --token /nonexistent --facts " + w.write("i.json", R"({"id":"d"})"));
  CHECK(noToken.status == 2);
  CHECK(noToken.field("reason") == "io");
}
