// What the web console reads from the workflow (issue 6): the preview of a
// request's required approvals (nothing stored or signed), the reason shown
// beside a disabled Approve, and the requester / device filters of the
// listings.
#include <catch2/catch.hpp>

#include "workflow_fixture.h"

using namespace keyturn;
using namespace keyturn::server;
using namespace keyturn::server::test;

namespace {

Poco::JSON::Object::Ptr parsed(const Result<std::string>& r) {
  INFO(why(r));
  REQUIRE(r);
  auto o = json::parseObject(r.value());
  REQUIRE(o);
  return o.value();
}

std::vector<std::string> strings(const Poco::JSON::Array::Ptr& a) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < a->size(); ++i) out.push_back(a->getElement<std::string>(i));
  return out;
}

}  // namespace

TEST_CASE("preview: the requirements submit would store, with who may approve, and nothing stored",
          "[workflow][preview]") {
  WorkflowFixture f;
  f.enroll("dev-1", "corporate");
  f.enroll("dev-2", "personal");

  auto corporate = parsed(f.workflow->preview(*f.bundle, "alice", "device.wipe",
                                              "{\"mode\":\"full\"}", {"dev-1"}));
  CHECK(corporate->getValue<std::string>("verdict") == "requirements");
  auto reqs = corporate->getArray("requirements");
  REQUIRE(reqs->size() == 1);
  CHECK(reqs->getObject(0)->getValue<std::string>("group") == "device-approvers");
  CHECK(reqs->getObject(0)->getValue<int>("approvals") == 1);
  CHECK(reqs->getObject(0)->getValue<std::string>("policy") == "device-wipe");
  CHECK(strings(reqs->getObject(0)->getArray("eligible")) ==
        std::vector<std::string>{"bob", "carol"});

  // A personal device in the set adds the stricter HR requirement (merged as on
  // submit), and the caller is never listed as eligible.
  auto mixed = parsed(f.workflow->preview(*f.bundle, "carol", "device.wipe", "{}",
                                          {"dev-2", "dev-1"}));
  CHECK(mixed->getValue<int>("devices") == 2);
  auto both = mixed->getArray("requirements");
  REQUIRE(both->size() == 2);
  for (std::size_t i = 0; i < both->size(); ++i) {
    auto r = both->getObject(i);
    CHECK(r->getValue<std::string>("policy") == "device-wipe");
    if (r->getValue<std::string>("group") == "hr-wipe-approvers") {
      CHECK(r->getValue<int>("approvals") == 2);
      CHECK(strings(r->getArray("eligible")) == std::vector<std::string>{"dave"});
    } else {
      CHECK(r->getValue<std::string>("group") == "device-approvers");
      CHECK(strings(r->getArray("eligible")) == std::vector<std::string>{"bob"});
    }
  }

  // An action no policy matches needs nothing.
  auto free = parsed(f.workflow->preview(*f.bundle, "alice", "device.lock", "{}", {"dev-1"}));
  CHECK(free->getValue<std::string>("verdict") == "unprotected");
  CHECK(free->getArray("requirements")->size() == 0);

  // Nothing was stored and nothing was audited as submitted.
  auto listed = parsed(f.workflow->list(*f.bundle, "alice", RequestView::kMine, "", ""));
  CHECK(listed->getArray("requests")->size() == 0);
  CHECK(f.audit("request.submitted", "preview").empty());
}

TEST_CASE("preview: denials, policy errors and unknown devices are reported per device",
          "[workflow][preview]") {
  WorkflowFixture f;
  f.enroll("dev-1");
  auto denied = parsed(f.workflow->preview(*f.bundle, "alice", "test.deny", "{}", {"dev-1"}));
  CHECK(denied->getValue<std::string>("verdict") == "denied");
  auto refusal = denied->getArray("refusals")->getObject(0);
  CHECK(refusal->getValue<std::string>("device") == "dev-1");
  CHECK(refusal->getValue<std::string>("reason") == "policy_denied");
  CHECK(refusal->getValue<std::string>("detail").find("tests deny this") != std::string::npos);

  auto boom = parsed(f.workflow->preview(*f.bundle, "alice", "test.boom", "{}", {"dev-1"}));
  CHECK(boom->getValue<std::string>("verdict") == "error");
  CHECK(boom->getArray("refusals")->getObject(0)->getValue<std::string>("reason") ==
        "policy_error");

  auto unknown = parsed(
      f.workflow->preview(*f.bundle, "alice", "device.wipe", "{}", {"dev-1", "laptop-404"}));
  CHECK(unknown->getValue<std::string>("verdict") == "unknown_device");
  auto refusals = unknown->getArray("refusals");
  REQUIRE(refusals->size() == 1);
  CHECK(refusals->getObject(0)->getValue<std::string>("device") == "laptop-404");
  CHECK(refusals->getObject(0)->getValue<std::string>("reason") == "unknown_device");
}

TEST_CASE("preview: bad input is malformed and names what is wrong", "[workflow][preview]") {
  WorkflowFixture f;
  f.enroll("dev-1");
  auto badAction = f.workflow->preview(*f.bundle, "alice", "Wipe!", "{}", {"dev-1"});
  CHECK(badAction.reason() == "malformed");
  CHECK(badAction.detail().find("action") != std::string::npos);
  CHECK(f.workflow->preview(*f.bundle, "alice", "maa.bundle.update", "{}", {"dev-1"}).reason() ==
        "malformed");
  auto badParams = f.workflow->preview(*f.bundle, "alice", "device.wipe", "[1]", {"dev-1"});
  CHECK(badParams.reason() == "malformed");
  CHECK(badParams.detail().find("params") != std::string::npos);
  auto none = f.workflow->preview(*f.bundle, "alice", "device.wipe", "{}", {});
  CHECK(none.reason() == "malformed");
  CHECK(none.detail().find("targets") != std::string::npos);
  CHECK(f.workflow->preview(*f.bundle, "alice", "device.wipe", "{}", {"dev-1", "dev-1"})
            .reason() == "malformed");
}

TEST_CASE("show: approve_refusal says why the caller may not approve, null when they may",
          "[workflow][console]") {
  WorkflowFixture f;
  f.enroll("dev-1");
  keyturn::test::TokenSpec spec;
  spec.id = "r-1";
  spec.targets = {"dev-1"};
  auto id = f.submit(spec);
  INFO(why(id));
  REQUIRE(id);
  auto refusal = [&](const std::string& who) -> std::string {
    auto v = parsed(f.workflow->show(*f.bundle, who, "r-1"));
    if (v->isNull("approve_refusal")) return "";
    return v->getObject("approve_refusal")->getValue<std::string>("reason");
  };
  CHECK(refusal("bob") == "");
  CHECK(refusal("alice") == "self_approval");
  // Erin sees it only with requests.read_all; the tenant grants her none, so she
  // cannot even see it.
  CHECK(f.workflow->show(*f.bundle, "erin", "r-1").reason() == "not_found");
  REQUIRE(f.approve("bob", "r-1", "Checked with the owner"));
  CHECK(refusal("bob") == "wrong_state");
  auto v = parsed(f.workflow->show(*f.bundle, "bob", "r-1"));
  CHECK(v->getObject("approve_refusal")->getValue<std::string>("detail").find("approved") !=
        std::string::npos);
}

TEST_CASE("show: who already approved is told so while the next approver may still approve",
          "[workflow][console]") {
  WorkflowFixture f;
  f.enroll("dev-1", "personal");  // needs two hr-wipe-approvers
  keyturn::test::TokenSpec spec;
  spec.id = "r-2";
  spec.targets = {"dev-1"};
  spec.requester = "bob";
  REQUIRE(f.submit(spec));
  // Two of hr-wipe-approvers are needed: carol approves, dave still may.
  REQUIRE(f.approve("carol", "r-2", "ok by me"));
  auto v = parsed(f.workflow->show(*f.bundle, "carol", "r-2"));
  REQUIRE_FALSE(v->isNull("approve_refusal"));
  CHECK(v->getObject("approve_refusal")->getValue<std::string>("reason") == "already_approved");
  auto d = parsed(f.workflow->show(*f.bundle, "dave", "r-2"));
  CHECK(d->isNull("approve_refusal"));
}

TEST_CASE("list: requester and device filters narrow every tab and its count",
          "[workflow][console]") {
  WorkflowFixture f;
  f.enroll("dev-1");
  f.enroll("dev-2");
  keyturn::test::TokenSpec a;
  a.id = "r-a";
  a.targets = {"dev-1"};
  REQUIRE(f.submit(a));
  keyturn::test::TokenSpec b;
  b.id = "r-b";
  b.targets = {"dev-2"};
  b.requester = "bob";
  REQUIRE(f.submit(b));

  auto ids = [](const Poco::JSON::Object::Ptr& o) {
    std::vector<std::string> out;
    auto rs = o->getArray("requests");
    for (std::size_t i = 0; i < rs->size(); ++i)
      out.push_back(rs->getObject(i)->getValue<std::string>("id"));
    return out;
  };
  // carol may approve both.
  auto all = parsed(f.workflow->list(*f.bundle, "carol", RequestView::kReceived, {}));
  CHECK(all->getObject("counts")->getValue<int>("received") == 2);
  auto byDevice = parsed(f.workflow->list(*f.bundle, "carol", RequestView::kReceived,
                                          Workflow::ListFilter{"", "", "", "dev-2", Workflow::kDefaultListPage, ""}));
  CHECK(ids(byDevice) == std::vector<std::string>{"r-b"});
  CHECK(byDevice->getObject("counts")->getValue<int>("received") == 1);
  auto byRequester = parsed(f.workflow->list(*f.bundle, "carol", RequestView::kReceived,
                                             Workflow::ListFilter{"", "", "alice", "", Workflow::kDefaultListPage, ""}));
  CHECK(ids(byRequester) == std::vector<std::string>{"r-a"});
  auto nothing = parsed(f.workflow->list(*f.bundle, "carol", RequestView::kReceived,
                                         Workflow::ListFilter{"", "", "alice", "dev-2", Workflow::kDefaultListPage, ""}));
  CHECK(ids(nothing).empty());
  CHECK(nothing->getObject("counts")->getValue<int>("received") == 0);
}

TEST_CASE("list: pages of at most limit requests, newest first, resumed from next, counts over all",
          "[workflow][console][pagination]") {
  WorkflowFixture f;
  // Seven requests by alice, r-0 oldest; r-3 and r-4 made in the same second (the id
  // breaks the tie).
  std::vector<std::string> made;
  for (int i = 0; i < 7; ++i) {
    const std::string dev = "dev-" + std::to_string(i);
    f.enroll(dev);
    keyturn::test::TokenSpec spec;
    spec.id = "r-" + std::to_string(i);
    spec.targets = {dev};
    if (i != 4) f.now += 1;
    auto r = f.submit(spec);
    INFO(why(r));
    REQUIRE(r);
    made.insert(made.begin(), spec.id);  // newest first
  }
  // Newest first with ties by id descending: r-6, r-5, r-4, r-3, r-2, r-1, r-0.
  auto ids = [](const Poco::JSON::Object::Ptr& o) {
    std::vector<std::string> out;
    auto rs = o->getArray("requests");
    for (std::size_t i = 0; i < rs->size(); ++i) out.push_back(rs->getObject(i)->getValue<std::string>("id"));
    return out;
  };
  for (RequestView view : {RequestView::kMine, RequestView::kReceived}) {
    const std::string who = view == RequestView::kMine ? "alice" : "carol";
    const char* tab = view == RequestView::kMine ? "mine" : "received";
    std::vector<std::string> seen;
    std::vector<std::size_t> sizes;
    Workflow::ListFilter filter;
    filter.limit = 3;
    for (int page = 0; page < 10; ++page) {
      auto o = parsed(f.workflow->list(*f.bundle, who, view, filter));
      auto got = ids(o);
      sizes.push_back(got.size());
      seen.insert(seen.end(), got.begin(), got.end());
      CHECK(o->getObject("counts")->getValue<int>(tab) == 7);  // every page counts them all
      if (o->isNull("next")) break;
      filter.cursor = o->getValue<std::string>("next");
    }
    INFO(tab);
    CHECK(sizes == std::vector<std::size_t>{3, 3, 1});
    CHECK(seen == made);
  }
  // A page exactly as long as what is left says there is no next page.
  Workflow::ListFilter exact;
  exact.limit = 7;
  auto all = parsed(f.workflow->list(*f.bundle, "alice", RequestView::kMine, exact));
  CHECK(ids(all) == made);
  CHECK(all->isNull("next"));
  // The default page and the old overload still list everything here.
  CHECK(ids(parsed(f.workflow->list(*f.bundle, "alice", RequestView::kMine, "", ""))) == made);

  // Bad input names the field.
  Workflow::ListFilter bad;
  bad.limit = 0;
  auto r = f.workflow->list(*f.bundle, "alice", RequestView::kMine, bad);
  CHECK(r.reason() == "malformed");
  CHECK_THAT(r.detail(), Catch::Contains("limit"));
  bad.limit = Workflow::kMaxListPage + 1;
  CHECK(f.workflow->list(*f.bundle, "alice", RequestView::kMine, bad).reason() == "malformed");
  for (const char* cursor : {"r-3", "x.r-3", "12.", "12.bad id", "99999999999999999999.r-1"}) {
    Workflow::ListFilter c;
    c.cursor = cursor;
    auto refused = f.workflow->list(*f.bundle, "alice", RequestView::kMine, c);
    INFO(cursor);
    CHECK(refused.reason() == "malformed");
    CHECK_THAT(refused.detail(), Catch::Contains("cursor"));
  }
}
