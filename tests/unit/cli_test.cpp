// keyturn, the offline signing kit, run as a real process in a temporary folder.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "keyturn/crypto_util.h"
#include "keyturn/json.h"
#include "keyturn/token.h"
#include "process_run.h"

using namespace keyturn;
namespace fs = std::filesystem;

namespace {

using Run = test::ProcessResult;

class Kit {
 public:
  Kit() {
    static int n = 0;
    dir_ = fs::temp_directory_path() /
           ("kt-cli-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~Kit() { fs::remove_all(dir_); }
  Run keyturn(const std::string& args) const {
    return test::runProcess(test::binaryPath("cli/keyturn") + " " + args, dir_.string());
  }
  // keyturn-agent is another target; when it was not built, its steps are skipped with a warning.
  static bool haveAgent() { return fs::exists(test::binaryPath("agent/keyturn-agent")); }
  Run agent(const std::string& args) const {
    return test::runProcess(test::binaryPath("agent/keyturn-agent") + " " + args, dir_.string());
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path(name)) << text;
  }
  std::string read(const std::string& name) const {
    return readFile(path(name), 1 << 24).value_or("");
  }

  // alice, bob and an issuer; a v1 bundle draft for them (unsigned).
  void tenant() const {
    for (const char* who : {"alice", "bob", "carol", "issuer"})
      REQUIRE(keyturn(std::string("key new --id ") + who).status == 0);
    write("roster.json", R"({"tenant":"contoso","issuers":["issuer.pub.json"],
      "principals":[{"id":"alice","groups":["maa-admins"],"keys":["alice.pub.json"]},
                    {"id":"bob","groups":["maa-admins","device-approvers"],"keys":["bob.pub.json"]},
                    {"id":"carol","groups":["device-approvers"],"keys":["carol.pub.json"]}],
      "update":{"group":"maa-admins","threshold":2},"roles":{"audit.read":["maa-admins"]}})");
    fs::create_directories(path("policies"));
    write("policies/wipe.lua",
          "return { name = 'wipe', actions = { 'device.wipe' },\n"
          "  evaluate = function(req, device) return { approvals = 1, group = 'device-approvers' } "
          "end }\n");
    write("policies/wipe_test.lua", "-- tests are not policies\n");
    REQUIRE(keyturn("bundle new --roster roster.json --policies policies --version 1 --issued " +
                    std::to_string(kNow - 60) + " --expires-days 90 --out bundle.json")
                .status == 0);
  }
  void request(const std::string& file = "req.json") const {
    REQUIRE(keyturn("request new --tenant contoso --id r-1 --action device.wipe --param mode=full "
                    "--target dev-2 "
                    "--target dev-1 --target dev-3 --requester alice --justification 'Stolen "
                    "laptops' --bundle-version 1 "
                    "--created " +
                    std::to_string(kNow) + " --out " + file)
                .status == 0);
  }
  static constexpr std::uint64_t kNow = 1764300000;

 private:
  fs::path dir_;
};

std::string at(std::uint64_t t) { return " --at " + std::to_string(t); }

}  // namespace

TEST_CASE("key new writes a 0600 private key and a public key file, and never overwrites",
          "[cli]") {
  Kit k;
  Run r = k.keyturn("key new --id alice -o json");
  REQUIRE(r.status == 0);
  auto o = json::parseObject(r.out);
  REQUIRE(o);
  struct stat st {};
  REQUIRE(::stat(k.path("alice.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto pub = json::parseObject(k.read("alice.pub.json"));
  REQUIRE(pub);
  CHECK(pub.value()->getValue<std::string>("kid") == o.value()->getValue<std::string>("kid"));
  CHECK(jwkThumbprint(pub.value()->getValue<std::string>("x")) ==
        pub.value()->getValue<std::string>("kid"));
  CHECK(k.read("alice.key").find("BEGIN PRIVATE KEY") != std::string::npos);
  CHECK(r.out.find("PRIVATE") == std::string::npos);  // the key itself is never printed
  CHECK(k.keyturn("key new --id alice").status == 2);
}

TEST_CASE("a group-readable private key is refused before anything is signed with it", "[cli]") {
  Kit k;
  k.tenant();
  ::chmod(k.path("alice.key").c_str(), 0644);
  Run r = k.keyturn("key show --key alice.key -o json");
  CHECK(r.status == 1);
  auto o = json::parseObject(r.out).value();
  CHECK(o->getValue<std::string>("error") == "insecure_permissions");
  CHECK(o->getValue<std::string>("detail").find("chmod 600") != std::string::npos);
  std::string before = k.read("bundle.json");
  CHECK(k.keyturn("bundle sign --bundle bundle.json --key alice.key").status == 1);
  CHECK(k.read("bundle.json") == before);
}

TEST_CASE("a bundle becomes acceptable once the threshold of admins signed it", "[cli]") {
  Kit k;
  k.tenant();
  Run unsigned_ =
      k.keyturn("bundle show --bundle bundle.json -o json --now " + std::to_string(Kit::kNow));
  CHECK(unsigned_.status == 1);
  CHECK(json::parseObject(unsigned_.out).value()->getValue<std::string>("reason") ==
        "threshold_not_met");
  REQUIRE(k.keyturn("bundle sign --bundle bundle.json --key alice.key" + at(Kit::kNow)).status ==
          0);
  Run again =
      k.keyturn("bundle sign --bundle bundle.json --key alice.key -o json");  // once per key
  CHECK(again.status == 1);
  CHECK(json::parseObject(again.out).value()->getValue<std::string>("error") == "already_signed");
  Run one = k.keyturn("bundle show --bundle bundle.json --now " + std::to_string(Kit::kNow));
  CHECK(one.status == 1);
  CHECK(one.out.find("threshold_not_met") != std::string::npos);
  CHECK(one.out.find("1 of 2 from maa-admins") != std::string::npos);
  // carol is not in the update group: her signature is valid but does not count.
  REQUIRE(k.keyturn("bundle sign --bundle bundle.json --key carol.key" + at(Kit::kNow)).status ==
          0);
  Run withCarol =
      k.keyturn("bundle show --bundle bundle.json -o json --now " + std::to_string(Kit::kNow));
  CHECK(withCarol.status == 1);
  auto threshold = json::parseObject(withCarol.out).value()->getArray("thresholds")->getObject(0);
  CHECK(threshold->getValue<int>("signed") == 1);
  CHECK_FALSE(threshold->getValue<bool>("met"));
  REQUIRE(k.keyturn("bundle sign --bundle bundle.json --key bob.key" + at(Kit::kNow)).status == 0);
  Run two =
      k.keyturn("bundle show --bundle bundle.json -o json --now " + std::to_string(Kit::kNow));
  CHECK(two.status == 0);
  auto o = json::parseObject(two.out).value();
  CHECK(o->getValue<std::string>("decision") == "accept");
  CHECK(o->getArray("policies")->size() == 1);  // wipe_test.lua is not a policy
  CHECK(o->getArray("signatures")->getObject(2)->getValue<std::string>("status") == "valid");
  CHECK(o->getArray("thresholds")->getObject(0)->getValue<int>("signed") == 2);
  CHECK(o->getArray("thresholds")->getObject(0)->getValue<bool>("met"));
}

TEST_CASE("bundle show judges a next version by the current bundle's update rule", "[cli]") {
  Kit k;
  k.tenant();
  for (const char* who : {"alice", "bob"})
    REQUIRE(k.keyturn(std::string("bundle sign --bundle bundle.json --key ") + who + ".key" +
                      at(Kit::kNow))
                .status == 0);
  REQUIRE(k.keyturn("bundle new --roster roster.json --version 2 --issued " +
                    std::to_string(Kit::kNow) + " --out v2.json")
              .status == 0);
  REQUIRE(k.keyturn("bundle sign --bundle v2.json --key alice.key" + at(Kit::kNow)).status == 0);
  std::string show = "bundle show --bundle v2.json --current bundle.json -o json --now " +
                     std::to_string(Kit::kNow);
  Run one = k.keyturn(show);
  CHECK(one.status == 1);
  auto o = json::parseObject(one.out).value();
  CHECK(o->getValue<std::string>("reason") == "threshold_not_met");
  CHECK(o->getArray("thresholds")->getObject(1)->getValue<std::string>("rule") == "current");
  REQUIRE(k.keyturn("bundle sign --bundle v2.json --key bob.key" + at(Kit::kNow)).status == 0);
  CHECK(k.keyturn(show).status == 0);
  Run gap = k.keyturn("bundle show --bundle v2.json --current v2.json -o json --now " +
                      std::to_string(Kit::kNow));
  CHECK(gap.status == 1);
  CHECK(json::parseObject(gap.out).value()->getValue<std::string>("reason") == "rollback");
}

TEST_CASE("the whole offline flow ends in a token the agent accepts for the right device only",
          "[cli]") {
  Kit k;
  k.tenant();
  REQUIRE(k.keyturn("bundle sign --bundle bundle.json --key alice.key" + at(Kit::kNow)).status ==
          0);
  REQUIRE(k.keyturn("bundle sign --bundle bundle.json --key bob.key" + at(Kit::kNow)).status == 0);
  Run shown =
      k.keyturn("bundle show --bundle bundle.json -o json --now " + std::to_string(Kit::kNow));
  REQUIRE(shown.status == 0);
  std::string sha = json::parseObject(shown.out).value()->getValue<std::string>("sha256");
  CHECK(sha == toHex(sha256(k.read("bundle.json"))));
  const bool agent = Kit::haveAgent();
  if (!agent) WARN("agent/keyturn-agent is not built: the agent's verdicts are not checked");
  if (agent)
    REQUIRE(k.agent("trust init --state state --bundle bundle.json --expect-sha256 " + sha +
                    " --now " + std::to_string(Kit::kNow))
                .status == 0);
  k.request();
  REQUIRE(k.keyturn("request sign --request req.json --key alice.key --role requester" +
                    at(Kit::kNow + 1))
              .status == 0);
  REQUIRE(
      k.keyturn("request sign --request req.json --key bob.key --role approver" + at(Kit::kNow + 2))
          .status == 0);
  CHECK(k.keyturn("request sign --request req.json --key alice.key --role completer" +
                  at(Kit::kNow + 1))
            .status == 1);
  REQUIRE(k.keyturn("request sign --request req.json --key alice.key --role completer" +
                    at(Kit::kNow + 3))
              .status == 0);
  Run show = k.keyturn("request show --request req.json --bundle bundle.json -o json");
  REQUIRE(show.status == 0);
  auto o = json::parseObject(show.out).value();
  CHECK(o->getValue<bool>("targets_match"));
  CHECK(o->getArray("targets")->size() == 3);
  CHECK(o->getArray("signatures")->getObject(1)->getValue<std::string>("principal") == "bob");

  REQUIRE(k.keyturn("issue --request req.json --key issuer.key --device dev-2 --nbf " +
                    std::to_string(Kit::kNow) + " --out token.json")
              .status == 0);
  auto token = parseToken(k.read("token.json"));
  REQUIRE(token);
  CHECK(token->signatures.size() == 4);
  Run outside =
      k.keyturn("issue --request req.json --key issuer.key --device dev-9 --out x.json -o json");
  CHECK(outside.status == 1);
  CHECK(json::parseObject(outside.out).value()->getValue<std::string>("error") == "not_a_target");
  CHECK_FALSE(fs::exists(k.path("x.json")));

  k.write("dev2.json", R"({"id":"dev-2"})");
  k.write("dev1.json", R"({"id":"dev-1"})");
  std::string verify = "verify --state state --token token.json --now " +
                       std::to_string(Kit::kNow + 10) + " --facts ";
  if (agent) {
    CHECK(k.agent(verify + "dev2.json").status == 0);
    Run other = k.agent(verify + "dev1.json");
    CHECK(other.status == 1);
    CHECK(other.out.find("wrong_device") != std::string::npos);
  }

  REQUIRE(k.keyturn("issue --request req.json --key issuer.key --all --out-dir tokens --nbf " +
                    std::to_string(Kit::kNow))
              .status == 0);
  CHECK(fs::exists(k.path("tokens/dev-1.token.json")));
  CHECK(fs::exists(k.path("tokens/dev-3.token.json")));
  if (agent)
    CHECK(k.agent("verify --state state --token tokens/dev-1.token.json --now " +
                  std::to_string(Kit::kNow + 10) + " --facts dev1.json")
              .status == 0);
}

TEST_CASE("an approver's signature is refused when the target list was changed", "[cli]") {
  Kit k;
  k.tenant();
  k.request();
  REQUIRE(k.keyturn("request sign --request req.json --key alice.key --role requester").status ==
          0);
  std::string text = k.read("req.json");
  text.replace(text.find("\"dev-3\""), 7, "\"dev-4\"");
  k.write("req.json", text);
  Run r = k.keyturn("request sign --request req.json --key bob.key --role approver -o json");
  CHECK(r.status == 1);
  CHECK(json::parseObject(r.out).value()->getValue<std::string>("error") == "targets_mismatch");
  CHECK(k.keyturn("request show --request req.json").status == 1);
  CHECK(k.keyturn("issue --request req.json --key issuer.key --device dev-4 --out t.json").status ==
        1);
}

TEST_CASE("keyturn usage errors exit 2 and name the argument", "[cli]") {
  Kit k;
  auto err = [&](const std::string& args) {
    Run r = k.keyturn(args + " -o json");
    CHECK(r.status == 2);
    auto o = json::parseObject(r.out);
    REQUIRE(o);
    return o.value()->getValue<std::string>("detail");
  };
  CHECK(err("key new").find("--id") != std::string::npos);
  CHECK(err("key new --id 'bad id'").find("--id") != std::string::npos);
  CHECK(err("request new --tenant t --id r --action device.wipe --requester a --justification j "
            "--bundle-version 1 --out r.json")
            .find("--target") != std::string::npos);
  CHECK(err("request new --tenant t --id r --action device.wipe --target d --requester a "
            "--justification j "
            "--bundle-version x --out r.json")
            .find("--bundle-version") != std::string::npos);
  CHECK(err("request new --tenant t --id r --action Device.Wipe --target d --requester a "
            "--justification j "
            "--bundle-version 1 --out r.json")
            .find("payload.action") != std::string::npos);
  CHECK(err("issue --request r.json --key k --device d --all --out x").find("--device") !=
        std::string::npos);
  CHECK(k.keyturn("frobnicate").status == 2);
  CHECK(k.keyturn("bundle new --help").status == 0);
  CHECK(k.keyturn("--help").status == 0);
}

TEST_CASE("an approver cannot approve with the key the requester signed with", "[cli]") {
  Kit k;
  k.tenant();
  k.request();
  REQUIRE(k.keyturn("request sign --request req.json --key alice.key --role requester").status ==
          0);
  Run r = k.keyturn("request sign --request req.json --key alice.key --role approver -o json");
  CHECK(r.status == 1);
  CHECK(json::parseObject(r.out).value()->getValue<std::string>("error") == "self_approval");
  CHECK(k.keyturn("request sign --request req.json --key bob.key --role requester").status ==
        1);  // one requester
  REQUIRE(k.keyturn("request sign --request req.json --key bob.key --role approver").status == 0);
  CHECK(k.keyturn("request sign --request req.json --key bob.key --role approver").status ==
        1);  // once per key
}

TEST_CASE("every command's -o json output is one JSON object", "[cli]") {
  Kit k;
  k.tenant();
  std::string now = std::to_string(Kit::kNow);
  for (const std::string& args : {
           std::string("key new --id dave"),
           std::string("key show --key dave.key"),
           std::string("bundle new --roster roster.json --version 1 --issued ") + now +
               " --out b.json",
           std::string("bundle sign --bundle b.json --key alice.key"),
           std::string("bundle sign --bundle b.json --key bob.key"),
           std::string("bundle show --bundle b.json --now ") + now,
           std::string("request new --tenant contoso --id r-2 --action device.lock --param "
                       "minutes=5 --param notify=true "
                       "--target dev-1 --requester alice --justification x --bundle-version 1 "
                       "--out r.json"),
           std::string("request sign --request r.json --key alice.key --role requester"),
           std::string("request show --request r.json --bundle b.json"),
           std::string("issue --request r.json --key issuer.key --device dev-1 --out-dir tokens"),
       }) {
    INFO(args);
    Run r = k.keyturn(args + " -o json");
    CHECK(r.status == 0);
    CHECK(json::parseObject(r.out));
  }
  auto token = parseToken(k.read("tokens/dev-1.token.json"));
  REQUIRE(token);
  CHECK(token->payload.paramsJson == R"({"minutes":5,"notify":true})");
}
