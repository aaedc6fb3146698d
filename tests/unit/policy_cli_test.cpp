// `keyturn policy test|simulate|lint|diff` run as real processes (issue 8).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>

#include "fixtures.h"
#include "keyturn/json.h"
#include "process_run.h"

using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using namespace keyturn;
namespace fs = std::filesystem;

namespace {

const std::string kSrc = KEYTURN_SOURCE_DIR;

class PolicyKit {
 public:
  PolicyKit() {
    static int n = 0;
    dir_ = fs::temp_directory_path() / ("kt-policycli-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~PolicyKit() { fs::remove_all(dir_); }
  test::ProcessResult keyturn(const std::string& args) const {
    // stderr too: the group's own 2>/dev/null (added by runProcess) applies outside it.
    return test::runProcess("{ " + test::binaryPath("cli/keyturn") + " " + args + " 2>&1; }", dir_.string());
  }
  std::string write(const std::string& name, const std::string& text) const {
    fs::create_directories((dir_ / name).parent_path());
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

 private:
  fs::path dir_;
};

std::string lastLine(const std::string& out) {
  std::string s = out;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  auto nl = s.rfind('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

json::Object::Ptr jsonOut(const test::ProcessResult& r) {
  auto o = json::parseObject(lastLine(r.out));
  INFO(r.out);
  REQUIRE(o.isOk());
  return o.value();
}

}  // namespace

TEST_CASE("keyturn policy test passes the shipped policies and ends with the tally line") {
  PolicyKit k;
  auto r = k.keyturn("policy test " + kSrc + "/policies");
  INFO(r.out);
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Contains("PASS wiping a personal device needs two hr-wipe-approvers"));
  CHECK(std::regex_match(lastLine(r.out), std::regex("[1-9][0-9]* passed, 0 failed")));
  auto one = k.keyturn("policy test " + kSrc + "/policies/bulk_test.lua -o json");
  CHECK(one.status == 0);
  CHECK(jsonOut(one)->getValue<int>("failed") == 0);
}

TEST_CASE("keyturn policy test reports a looping and an escaping policy as failures, quickly") {
  PolicyKit k;
  auto start = std::chrono::steady_clock::now();
  auto r = k.keyturn("policy test " + kSrc + "/tests/policy/fixtures/sandbox");
  INFO(r.out);
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Contains("FAIL a policy that loops forever: loop_test.lua:2:"));
  CHECK_THAT(r.out, Contains("policy instruction limit"));
  CHECK_THAT(r.out, Contains("worker killed"));
  CHECK_THAT(r.out, Contains("global 'os'"));
  CHECK(lastLine(r.out) == "0 passed, 4 failed");
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
}

TEST_CASE("keyturn policy test refuses a missing folder as a usage error") {
  PolicyKit k;
  auto r = k.keyturn("policy test " + k.path("nowhere"));
  CHECK(r.status == 2);
  CHECK_THAT(r.out, Contains("neither a folder nor a test file"));
}

TEST_CASE("keyturn policy simulate explains each policy and the combined requirement") {
  PolicyKit k;
  k.write("facts/a.json", R"({"id":"laptop-1","ownership":"corporate"})");
  k.write("facts/b.json", R"({"id":"phone-2","ownership":"personal"})");
  auto r = k.keyturn("policy simulate --policies " + kSrc +
                     "/policies --action device.wipe --device-facts facts "
                     "--requester alice --param mode=full --targets 12");
  INFO(r.out);
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Contains("bulk (bulk.lua) matched"));
  CHECK_THAT(r.out, Contains("scripts (scripts.lua) not matched"));
  CHECK_THAT(r.out, Contains("2 approvals from hr-wipe-approvers   on 1 of 2 devices (first phone-2)"));
  CHECK_THAT(r.out, Contains("combined requires 2 from maa-admins, 1 from device-approvers, 2 from hr-wipe-approvers"));

  auto j = k.keyturn("policy simulate --policies " + kSrc +
                     "/policies --action device.wipe --device-facts facts/a.json "
                     "--requester alice -o json");
  CHECK(j.status == 0);
  auto o = jsonOut(j);
  CHECK(o->getValue<std::string>("verdict") == "requirements");
  CHECK(o->getValue<std::string>("summary") == "requires 1 from device-approvers");
  CHECK(o->getArray("policies")->size() == 4);
}

TEST_CASE("keyturn policy simulate takes the requester's groups from a bundle") {
  PolicyKit k;
  test::Tenant t;
  auto bundle = t.sign(t.draft(1, {{"bg.lua",
                                    "return { name = 'bg', actions = { 'device.wipe' }, evaluate = "
                                    "function(req) if req.requester.groups['device-approvers'] then "
                                    "return nil end return { approvals = 1, group = 'maa-admins' } end }"}}),
                       {"alice", "bob"});
  k.write("bundle.json", bundle);
  k.write("d.json", R"({"id":"d"})");
  auto bob =
      k.keyturn("policy simulate --bundle bundle.json --action device.wipe --device-facts d.json --requester bob");
  INFO(bob.out);
  CHECK(bob.status == 0);
  CHECK_THAT(bob.out, Contains("groups: maa-admins, device-approvers"));
  CHECK_THAT(bob.out, Contains("combined no approvals needed"));
  auto alice =
      k.keyturn("policy simulate --bundle bundle.json --action device.wipe --device-facts d.json --requester alice");
  CHECK_THAT(alice.out, Contains("combined requires 1 from maa-admins"));
  auto nobody =
      k.keyturn("policy simulate --bundle bundle.json --action device.wipe --device-facts d.json --requester zed");
  CHECK(nobody.status == 1);
  CHECK_THAT(nobody.out, Contains("not in the bundle's roster"));
}

TEST_CASE("keyturn policy simulate refuses bad input, and --server together with --bundle") {
  PolicyKit k;
  k.write("ok.json", R"({"id":"d","ownership":"corporate"})");
  k.write("bad.json", R"({"id":"d","ownership":"borrowed"})");
  std::string base = "policy simulate --policies " + kSrc + "/policies --requester alice ";
  auto server = k.keyturn("policy simulate --server --bundle bundle.json --action device.wipe --device-facts ok.json --requester alice");
  CHECK(server.status == 2);
  CHECK_THAT(server.out, Contains("exactly one of --bundle FILE, --policies DIR and --server"));
  auto bad = k.keyturn(base + "--action device.wipe --device-facts bad.json");
  CHECK(bad.status == 2);
  CHECK_THAT(bad.out, Contains("bad.json"));
  auto missing = k.keyturn(base + "--action device.wipe --device-facts nowhere");
  CHECK(missing.status == 2);
  auto unknown = k.keyturn(base + "--action device.explode --device-facts ok.json");
  CHECK(unknown.status == 1);
  CHECK_THAT(unknown.out, Contains("not in the catalogue"));
  auto noPolicies = k.keyturn("policy simulate --policies " + k.path("none") +
                              " --action device.wipe --device-facts ok.json --requester alice");
  CHECK(noPolicies.status == 2);
  auto badParam = k.keyturn(base + "--action device.wipe --device-facts ok.json --param novalue");
  CHECK(badParam.status == 2);
}

TEST_CASE("keyturn policy simulate reports a looping or escaping policy and exits 1") {
  PolicyKit k;
  k.write("d.json", R"({"id":"d"})");
  auto start = std::chrono::steady_clock::now();
  auto r = k.keyturn("policy simulate --policies " + kSrc +
                     "/tests/policy/fixtures/sandbox --action device.wipe "
                     "--device-facts d.json --requester alice");
  INFO(r.out);
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Contains("policy_error on 1 of 1 device"));
  CHECK_THAT(r.out, Contains("worker killed"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
}

TEST_CASE("keyturn policy lint reports findings with lines and exits 1 on an error") {
  PolicyKit k;
  auto r = k.keyturn("policy lint " + kSrc + "/tests/policy/fixtures/lint");
  INFO(r.out);
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Contains("syntax.lua:7: error: [load]"));
  CHECK_THAT(r.out, Contains("misspelled.lua:4: error: [field] unknown field 'evalute': did you mean 'evaluate'?"));
  CHECK_THAT(r.out, Contains("forbidden.lua:5: error: [global] 'os'"));
  CHECK_THAT(r.out, Contains("unknown_action.lua:3: error: [action] action pattern \"device.explode\""));
  CHECK_THAT(r.out, Contains("no_return.lua:4: error: [return]"));
  CHECK_THAT(r.out, Contains("dup_b.lua:2: error: [duplicate]"));
  auto clean = k.keyturn("policy lint " + kSrc + "/policies -o json");
  CHECK(clean.status == 0);
  CHECK(jsonOut(clean)->getValue<int>("errors") == 0);
  CHECK(k.keyturn("policy lint " + k.path("nowhere")).status == 2);
}

TEST_CASE("keyturn policy diff lists changed policies and the examples whose decision changes") {
  PolicyKit k;
  fs::create_directories(k.path("new"));
  for (const auto& e : fs::directory_iterator(kSrc + "/policies"))
    if (e.path().extension() == ".lua" && e.path().filename() != "device_actions.lua")
      fs::copy_file(e.path(), k.path("new/" + e.path().filename().string()));
  auto r = k.keyturn("policy diff " + kSrc + "/policies new --examples " + kSrc + "/policies/examples");
  INFO(r.out);
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Contains("removed   device-actions (device_actions.lua)"));
  CHECK_THAT(r.out, Contains("wipe a lost corporate laptop (corporate-wipe.json)"));
  CHECK_THAT(r.out, Contains("before: requires 1 from device-approvers"));
  auto same = k.keyturn("policy diff " + kSrc + "/policies " + kSrc + "/policies -o json");
  CHECK(same.status == 0);
  auto o = jsonOut(same);
  CHECK(o->getArray("changed")->size() == 0);
  CHECK(o->getArray("policies")->size() == 0);
  CHECK(k.keyturn("policy diff " + kSrc + "/policies").status == 2);
  CHECK(k.keyturn("policy diff " + kSrc + "/policies " + k.path("nowhere")).status == 2);
}

TEST_CASE("keyturn policy diff and lint read a bundle file as well as a folder") {
  PolicyKit k;
  test::Tenant t;
  auto wipe = [](const std::string& group) {
    return PolicySource{"wipe.lua",
                        "return { name = 'wipe', actions = { 'device.wipe' }, evaluate = function() "
                        "return { approvals = 1, group = '" +
                            group + "' } end }"};
  };
  k.write("old.json", t.sign(t.draft(1, {wipe("device-approvers")}), {"alice", "bob"}));
  k.write("new/wipe.lua", wipe("hr-wipe-approvers").source);
  k.write("ex/a.json", R"({"name":"a wipe","request":{"action":"device.wipe","requester":"bob"},"device":{"id":"d"}})");
  auto r = k.keyturn("policy diff old.json new --examples ex -o json");
  INFO(r.out);
  CHECK(r.status == 0);
  auto o = jsonOut(r);
  REQUIRE(o->getArray("policies")->size() == 1);
  REQUIRE(o->getArray("changed")->size() == 1);
  CHECK(o->getArray("changed")->getObject(0)->getValue<std::string>("after") == "requires 1 from hr-wipe-approvers");
  CHECK(k.keyturn("policy lint old.json").status == 0);
  k.write("ex/bad.json", R"({"request":{"action":"device.wipe"}})");
  CHECK(k.keyturn("policy diff old.json new --examples ex").status == 2);
}
