// Notification events (issue 7): written by the workflow in the same transaction as the
// state change, to the right people, with the facts and never a token or a parameter;
// time-driven events (reminders, expiry, results, bundle expiry) written once by the
// sweep however often it runs.
#include <catch2/catch.hpp>

#include "keyturn/bundle.h"
#include "service/notifications.h"
#include "workflow_fixture.h"

using namespace keyturn;
using namespace keyturn::server;
using namespace keyturn::server::test;

namespace {

std::map<std::string, NotificationEvent> events(WorkflowFixture& f) {
  auto list = f.store->eventsToFanOut(1000);
  REQUIRE(list);
  std::map<std::string, NotificationEvent> out;
  for (auto& e : list.value()) out[e.id] = e;
  return out;
}

std::vector<std::string> recipients(const NotificationEvent& e) {
  auto a = json::parse(e.recipientsJson).value().extract<Poco::JSON::Array::Ptr>();
  std::vector<std::string> out;
  for (std::size_t i = 0; i < a->size(); ++i) out.push_back(a->get(static_cast<unsigned>(i)).toString());
  return out;
}

Poco::JSON::Object::Ptr body(const NotificationEvent& e) { return json::parseObject(e.bodyJson).value(); }

struct Wipe : WorkflowFixture {
  std::string id = "r-n1";
  explicit Wipe(const std::string& ownership = "corporate") {
    for (const char* d : {"dev-1", "dev-2", "dev-3"}) enroll(d, ownership);
    keyturn::test::TokenSpec spec;
    spec.id = id;
    spec.targets = {"dev-1", "dev-2", "dev-3"};
    spec.paramsJson = "{\"mode\":\"full\",\"pin\":\"SECRET-PIN-42\"}";
    auto r = submit(spec);
    INFO(why(r));
    REQUIRE(r);
  }
};

}  // namespace

TEST_CASE("a new request notifies exactly who may approve it, in the same transaction",
          "[notify]") {
  Wipe f;
  auto e = events(f);
  REQUIRE(e.size() == 1);
  const auto& submitted = e.at("r-n1:request.submitted");
  CHECK(submitted.kind == "request.submitted");
  CHECK(submitted.subject == "r-n1");
  // corporate wipe: one device-approver; alice (requester, device-admins) is not one.
  CHECK(recipients(submitted) == std::vector<std::string>{"bob", "carol"});
  auto b = body(submitted);
  CHECK(b->getValue<std::string>("justification") == "User lost laptop on the train again");
  CHECK(b->getValue<std::string>("action") == "device.wipe");
  CHECK(b->getValue<int>("targets") == 3);
  CHECK(b->getArray("devices")->size() == 3);
  // Never a parameter value, a token or a signature.
  CHECK(submitted.bodyJson.find("SECRET-PIN-42") == std::string::npos);
  CHECK(submitted.bodyJson.find("params") == std::string::npos);
  CHECK(submitted.bodyJson.find(f.payloadOf("r-n1").substr(0, 20)) == std::string::npos);

  // A personal device needs hr-wipe-approvers instead: carol and dave.
  Wipe personal("personal");
  CHECK(recipients(events(personal).at("r-n1:request.submitted")) ==
        std::vector<std::string>{"carol", "dave"});
}

TEST_CASE("approvals tell the requester with the notes, then that it is ready", "[notify]") {
  Wipe f;
  // A refused approval (self-approval) writes no event.
  CHECK_FALSE(f.approve("alice", f.id, "me"));
  CHECK(events(f).size() == 1);

  REQUIRE(f.approve("bob", f.id, "Checked with the user's manager"));
  auto e = events(f);
  REQUIRE(e.count("r-n1:request.approved:bob"));
  const auto& approved = e.at("r-n1:request.approved:bob");
  CHECK(recipients(approved) == std::vector<std::string>{"alice"});
  CHECK(body(approved)->getValue<std::string>("notes") == "Checked with the user's manager");
  CHECK(body(approved)->getValue<std::string>("by") == "bob");
  REQUIRE(e.count("r-n1:request.ready"));
  CHECK(recipients(e.at("r-n1:request.ready")) == std::vector<std::string>{"alice"});
}

TEST_CASE("a partial approval does not announce ready and a rejection tells the requester",
          "[notify]") {
  Wipe f("personal");  // needs two of hr-wipe-approvers
  REQUIRE(f.approve("carol", f.id, "one of two"));
  auto e = events(f);
  CHECK(e.count("r-n1:request.approved:carol") == 1);
  CHECK(e.count("r-n1:request.ready") == 0);
  REQUIRE(f.workflow->reject(*f.bundle, "dave", f.id, "Not without HR's ticket"));
  e = events(f);
  REQUIRE(e.count("r-n1:request.rejected"));
  const auto& rejected = e.at("r-n1:request.rejected");
  CHECK(recipients(rejected) == std::vector<std::string>{"alice"});
  CHECK(body(rejected)->getValue<std::string>("notes") == "Not without HR's ticket");
  CHECK(body(rejected)->getValue<std::string>("state") == "rejected");
}

TEST_CASE("the sweep sends each reminder and the expiry once", "[notify]") {
  Wipe f;
  auto r = f.store->getRequest(f.id);
  REQUIRE(r);
  const std::int64_t expires = r->expires;
  NotificationSweep sweep(*f.store, NotificationOptions{});
  auto none = sweep.run(*f.bundle, f.now);
  REQUIRE(none);
  CHECK(none.value() == 0);

  f.now = expires - 7 * 86400 + 60;
  auto first = sweep.run(*f.bundle, f.now);
  REQUIRE(first);
  CHECK(first.value() == 1);
  auto again = sweep.run(*f.bundle, f.now + 30);
  REQUIRE(again);
  CHECK(again.value() == 0);  // written once
  auto e = events(f);
  REQUIRE(e.count("r-n1:request.reminder:604800"));
  CHECK(recipients(e.at("r-n1:request.reminder:604800")) == std::vector<std::string>{"bob", "carol"});

  // bob approves: the 1-day reminder goes to alice, to complete it.
  REQUIRE(f.approve("bob", f.id, "ok"));
  f.now = expires - 86400 + 60;
  REQUIRE(sweep.run(*f.bundle, f.now).value() == 1);
  e = events(f);
  REQUIRE(e.count("r-n1:request.reminder:86400"));
  CHECK(recipients(e.at("r-n1:request.reminder:86400")) == std::vector<std::string>{"alice"});
  CHECK(body(e.at("r-n1:request.reminder:86400"))->getValue<std::string>("for") == "requester");

  f.now = expires + 1;
  REQUIRE(f.workflow->expireDue().value() == 1);
  // The expiry wrote its event in its own transaction: the sweep has nothing to add.
  CHECK(events(f).count("r-n1:request.expired") == 1);
  CHECK(sweep.run(*f.bundle, f.now).value() == 0);
  e = events(f);
  REQUIRE(e.count("r-n1:request.expired"));
  CHECK(recipients(e.at("r-n1:request.expired")) == std::vector<std::string>{"alice"});
}

TEST_CASE("a request made close to its expiry gets no early reminder", "[notify]") {
  WorkflowFixture f;
  f.enroll("dev-1");
  keyturn::test::TokenSpec spec;
  spec.id = "r-short";
  spec.targets = {"dev-1"};
  // Lifetime 3 days: the 7-day reminder point is before the request existed.
  auto jws = f.requestJws(spec);
  Workflow shortLived(*f.store, f.tenant.issuer, WorkflowOptions{"contoso", 3 * 86400, 7 * 86400,
                                                                  (f.dir / "b").string(), true, ""},
                      [&f] { return f.now; }, nullptr);
  REQUIRE(shortLived.submit(*f.bundle, "alice", jws, {"dev-1"}));
  NotificationSweep sweep(*f.store, NotificationOptions{});
  f.now += 2 * 86400 + 100;  // 1 day minus 100 s left
  REQUIRE(sweep.run(*f.bundle, f.now));
  auto e = events(f);
  CHECK(e.count("r-short:request.reminder:604800") == 0);
  CHECK(e.count("r-short:request.reminder:86400") == 1);
}

TEST_CASE("execution results go to the requester once every device reported, failures named",
          "[notify]") {
  Wipe f;
  REQUIRE(f.approve("bob", f.id, "ok"));
  f.now += 5;
  REQUIRE(f.complete("alice", f.id));
  NotificationSweep sweep(*f.store, NotificationOptions{});
  REQUIRE(f.store->recordResult(f.id, "dev-1", "succeeded", "{\"exit_code\":0}", f.now, std::nullopt));
  REQUIRE(f.store->recordResult(f.id, "dev-2", "failed",
                                "{\"exit_code\":3,\"output\":\"SECRET-OUTPUT\"}", f.now, std::nullopt));
  auto early = sweep.run(*f.bundle, f.now);
  INFO(why(early));
  REQUIRE(early);
  CHECK(early.value() == 0);  // dev-3 has not reported
  REQUIRE(f.store->recordResult(f.id, "dev-3", "succeeded", "{\"exit_code\":0}", f.now, std::nullopt));
  REQUIRE(sweep.run(*f.bundle, f.now).value() == 1);
  CHECK(sweep.run(*f.bundle, f.now).value() == 0);
  const auto all = events(f);
  const auto& results = all.at("r-n1:request.results");
  INFO(results.bodyJson);
  CHECK(recipients(results) == std::vector<std::string>{"alice"});
  auto b = body(results);
  CHECK(b->getValue<int>("failures") == 1);
  CHECK(b->getObject("results")->getValue<int>("succeeded") == 2);
  CHECK(b->getArray("failed_devices")->get(0).toString() == "dev-2 (failed, exit 3)");
  CHECK(results.bodyJson.find("SECRET-OUTPUT") == std::string::npos);
}

TEST_CASE("a device that never reports holds the results message only until the tokens expire",
          "[notify]") {
  Wipe f;
  REQUIRE(f.approve("bob", f.id, "ok"));
  f.now += 5;
  const std::int64_t completedAt = f.now;
  REQUIRE(f.complete("alice", f.id));
  NotificationOptions options;
  // The sweep's token lifetime is the workflow's issue window plus the agents' skew.
  CHECK(options.tokenLifetime == WorkflowOptions{}.issueWindow + 2 * 300);
  NotificationSweep sweep(*f.store, options);
  REQUIRE(f.store->recordResult(f.id, "dev-1", "succeeded", "{\"exit_code\":0}", f.now, std::nullopt));
  REQUIRE(f.store->recordResult(f.id, "dev-2", "failed", "{\"exit_code\":3}", f.now, std::nullopt));
  REQUIRE(f.store->markDelivered(f.id, "dev-3", f.now, std::nullopt));  // fetched, never reported
  // While dev-3's token could still run, the requester waits for its report.
  f.now = completedAt + options.tokenLifetime - 1;
  auto waiting = sweep.run(*f.bundle, f.now);
  INFO(why(waiting));
  REQUIRE(waiting);
  CHECK(events(f).count("r-n1:request.results") == 0);
  // Once it can no longer run, the results go out with dev-3 named as not reporting.
  f.now = completedAt + options.tokenLifetime + 1;
  REQUIRE(sweep.run(*f.bundle, f.now));
  CHECK(sweep.run(*f.bundle, f.now).value() == 0);
  const auto all = events(f);
  REQUIRE(all.count("r-n1:request.results") == 1);
  const auto& results = all.at("r-n1:request.results");
  INFO(results.bodyJson);
  auto b = body(results);
  CHECK(b->getValue<int>("failures") == 2);
  CHECK(b->getValue<int>("unreported") == 1);
  CHECK(b->getObject("results")->getValue<int>("no report") == 1);
  auto failed = b->getArray("failed_devices");
  REQUIRE(failed->size() == 2);
  CHECK(failed->get(0).toString() == "dev-2 (failed, exit 3)");
  CHECK(failed->get(1).toString() == "dev-3 (no report, token delivered)");
}

TEST_CASE("bundle proposals and publications go to the update group and expiry warnings once",
          "[notify][bundle]") {
  WorkflowFixture f;
  auto id = f.workflow->proposeBundle(*f.bundle, "alice",
                                      f.tenant.sign(f.tenant.draft(2, keyturn::test::defaultTestPolicies()), {"alice"}),
                                      "Rotate keys");
  INFO(why(id));
  REQUIRE(id);
  auto e = events(f);
  REQUIRE(e.count(id.value() + ":bundle.proposed"));
  CHECK(recipients(e.at(id.value() + ":bundle.proposed")) == std::vector<std::string>{"bob", "carol"});

  auto payload = f.payloadOf(id.value());
  const auto& key = f.tenant.key("bob");
  Signed s = signOver(key, bundleSignatureHeader(key.publicKey().kid(), static_cast<std::uint64_t>(f.now)),
                      payload);
  REQUIRE(f.workflow->approve(*f.bundle, "bob", id.value(), s.protectedB64, s.signatureB64, "fine"));
  REQUIRE(f.workflow->complete(*f.bundle, "alice", id.value(), "", ""));
  e = events(f);
  REQUIRE(e.count("bundle-v2:bundle.published"));
  CHECK(recipients(e.at("bundle-v2:bundle.published")) ==
        std::vector<std::string>{"alice", "bob", "carol"});

  // v2 expires at kNow + 90 days: 30 days before, one warning, once.
  NotificationSweep sweep(*f.store, NotificationOptions{});
  f.now = static_cast<std::int64_t>(f.bundle->bundle.expires) - 30 * 86400 + 10;
  REQUIRE(sweep.run(*f.bundle, f.now).value() == 1);
  CHECK(sweep.run(*f.bundle, f.now).value() == 0);
  CHECK(events(f).count("bundle-v2:bundle.expiring:2592000") == 1);
}

TEST_CASE("the sweep catches up on an expiry made without its event", "[notify]") {
  Wipe f;
  const std::int64_t expires = f.store->getRequest(f.id)->expires;
  // An expiry through the store alone (as an older build did) writes no event ...
  REQUIRE(f.store->expireDue(expires + 1).value().size() == 1);
  CHECK(events(f).count("r-n1:request.expired") == 0);
  // ... and the sweep writes it, once.
  NotificationSweep sweep(*f.store, NotificationOptions{});
  f.now = expires + 2;
  REQUIRE(sweep.run(*f.bundle, f.now).value() == 1);
  CHECK(sweep.run(*f.bundle, f.now).value() == 0);
  CHECK(recipients(events(f).at("r-n1:request.expired")) == std::vector<std::string>{"alice"});
}

TEST_CASE("with notifications off the workflow writes no events", "[notify]") {
  WorkflowFixture f;
  f.enroll("dev-1");
  WorkflowOptions o{"contoso", 30 * 86400, 7 * 86400, (f.dir / "b").string(), false, ""};
  Workflow quiet(*f.store, f.tenant.issuer, o, [&f] { return f.now; }, nullptr);
  keyturn::test::TokenSpec spec;
  spec.id = "r-quiet";
  spec.targets = {"dev-1"};
  REQUIRE(quiet.submit(*f.bundle, "alice", f.requestJws(spec), {"dev-1"}));
  CHECK(events(f).empty());
}
