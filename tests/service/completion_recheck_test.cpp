// Completion re-verifies what the database holds before anything is issued: a
// signature or an approval that reached the store without passing approve()'s checks
// (someone with the data folder, a restored backup, a bug) is refused by the
// coordinator, named and audited, and no token is issued.
#include <sqlite3.h>

#include <catch2/catch.hpp>

#include "keyturn/token.h"
#include "workflow_fixture.h"

using namespace keyturn;
using namespace keyturn::server;
using namespace keyturn::server::test;

namespace {

// A corporate wipe of dev-1 and dev-2 by alice, needing one device-approver (bob or
// carol), with raw SQL on the store's file for the tampering.
struct Tampered : WorkflowFixture {
  std::string id = "r-1";
  Tampered() {
    enroll("dev-1");
    enroll("dev-2");
    keyturn::test::TokenSpec spec;
    spec.id = id;
    spec.targets = {"dev-1", "dev-2"};
    auto r = submit(spec);
    INFO(why(r));
    REQUIRE(r);
  }
  void sql(const std::string& text, const std::vector<std::string>& params = {}) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((dir / "keyturn.db").string().c_str(), &db) == SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* st = nullptr;
    INFO(text << ": " << sqlite3_errmsg(db));
    REQUIRE(sqlite3_prepare_v2(db, text.c_str(), -1, &st, nullptr) == SQLITE_OK);
    for (std::size_t i = 0; i < params.size(); ++i)
      sqlite3_bind_text(st, static_cast<int>(i + 1), params[i].c_str(), -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    sqlite3_close(db);
    REQUIRE(rc == SQLITE_DONE);
  }
  // Stores an approver row for `principal` signed by `signer`'s key (kid of the
  // signer's key unless `kid` is given) and marks the request approved: what an
  // attacker with the database can do without passing approve().
  void slipApproval(const std::string& principal, const Ed25519PrivateKey& signer,
                    std::string kid = "") {
    if (kid.empty()) kid = signer.publicKey().kid();
    Signed s = signOver(signer, approverHeader(kid, static_cast<std::uint64_t>(now)), payloadOf(id));
    sql("INSERT INTO request_signatures (request_id, role, principal, kid, at, protected_b64,"
        " signature_b64, notes) VALUES (?1, 'approver', ?2, ?3, ?4, ?5, ?6, 'slipped in')",
        {id, principal, kid, std::to_string(now), s.protectedB64, s.signatureB64});
    sql("UPDATE requests SET state = 'approved' WHERE id = ?1", {id});
  }
  std::string refusal(const char* member) {
    auto entries = audit("request.refused", id);
    if (entries.empty()) return "";
    return json::parseObject(entries.back().detailJson).value()->getValue<std::string>(member);
  }
  bool anyTokenIssued() {
    auto targets = store->targets(id);
    REQUIRE(targets);
    for (const auto& t : targets.value())
      if (t.token) return true;
    return false;
  }
  // Completion by alice: refused with `reason`, the detail naming `what`, audited as a
  // refused completion, and nothing issued.
  void requireRefused(const std::string& reason, const std::string& what) {
    Status s = complete("alice", id);
    INFO(why(s));
    CHECK(s.reason() == reason);
    CHECK_THAT(s.detail(), Catch::Contains("re-verified at completion"));
    CHECK_THAT(s.detail(), Catch::Contains(what));
    CHECK(refusal("operation") == "complete");
    CHECK(refusal("reason") == reason);
    CHECK_THAT(refusal("detail"), Catch::Contains(what));
    CHECK(stateOf(id) == "approved");
    CHECK_FALSE(anyTokenIssued());
    CHECK(audit("request.completed", id).empty());
  }
};

}  // namespace

TEST_CASE("an approval forged with another key is refused at completion as bad_signature, naming it",
          "[workflow][recheck]") {
  Tampered f;
  // bob's kid (public in the bundle), signed with the issuer key the attacker holds.
  f.slipApproval("bob", f.tenant.issuer, f.tenant.key("bob").publicKey().kid());
  f.requireRefused("bad_signature", "approver signature 1 (principal \"bob\"");
}

TEST_CASE("a real approval recorded under another principal is refused at completion",
          "[workflow][recheck]") {
  Tampered f;
  // carol's row carrying bob's genuine signature: the key is not carol's.
  f.slipApproval("carol", f.tenant.key("bob"));
  f.requireRefused("requester_mismatch", "the key belongs to \"bob\"");
}

TEST_CASE("a self-approval slipped into the store is refused at completion", "[workflow][recheck]") {
  Tampered f;
  f.slipApproval("alice", f.tenant.key("alice"));
  f.requireRefused("self_approval", "approver signature 1 (principal \"alice\"");
}

TEST_CASE("an approval by a principal outside every required group is refused at completion",
          "[workflow][recheck]") {
  Tampered f;
  f.slipApproval("dave", f.tenant.key("dave"));
  f.requireRefused("not_an_approver", "\"dave\" is in none of the required groups");
}

TEST_CASE("an approval by a key the bundle does not list is refused at completion",
          "[workflow][recheck]") {
  Tampered f;
  f.slipApproval("bob", keyturn::test::fixedKey("mallory"));
  f.requireRefused("unknown_key", "approver signature 1 (principal \"bob\"");
}

TEST_CASE("a request marked approved in the store without its approvals is refused at completion",
          "[workflow][recheck]") {
  Tampered f;
  f.sql("UPDATE requests SET state = 'approved' WHERE id = ?1", {f.id});
  f.requireRefused("insufficient_approvals", "requires 1 approval(s)");
}

TEST_CASE("a stored request whose row no longer says what was signed is refused at completion",
          "[workflow][recheck]") {
  Tampered f;
  REQUIRE(f.approve("bob", f.id, "Checked with the service desk"));
  f.sql("UPDATE requests SET action = 'device.lock' WHERE id = ?1", {f.id});
  f.requireRefused("stored_mismatch", "the stored request's action \"device.lock\"");
}

TEST_CASE("a requester signature replaced in the store is refused at completion",
          "[workflow][recheck]") {
  Tampered f;
  REQUIRE(f.approve("bob", f.id, "Checked with the service desk"));
  // The requester's row re-signed with the issuer key under alice's kid.
  const auto& alice = f.tenant.key("alice");
  Signed s = signOver(f.tenant.issuer,
                      requesterHeader(alice.publicKey().kid(), static_cast<std::uint64_t>(f.now)),
                      f.payloadOf(f.id));
  f.sql("UPDATE request_signatures SET protected_b64 = ?2, signature_b64 = ?3"
        " WHERE request_id = ?1 AND role = 'requester'",
        {f.id, s.protectedB64, s.signatureB64});
  f.requireRefused("bad_signature", "requester signature (principal \"alice\"");
}

TEST_CASE("a genuinely approved request still completes after re-verification", "[workflow][recheck]") {
  Tampered f;
  REQUIRE(f.approve("carol", f.id, "Checked with the service desk"));
  Status s = f.complete("alice", f.id);
  INFO(why(s));
  REQUIRE(s);
  CHECK(f.stateOf(f.id) == "completed");
  CHECK(f.anyTokenIssued());
}

TEST_CASE("a bundle approval forged into the store is refused at completion and nothing is published",
          "[workflow][recheck][bundle]") {
  WorkflowFixture f;
  auto id = f.workflow->proposeBundle(*f.bundle, "alice",
                                      f.tenant.sign(f.tenant.draft(2), {"alice"}), "renew");
  REQUIRE(id);
  // "carol"'s bundle signature made with the issuer key; the request marked approved.
  const std::string carolKid = f.tenant.key("carol").publicKey().kid();
  Signed forged = signOver(f.tenant.issuer, bundleSignatureHeader(carolKid, kNow), f.payloadOf(id.value()));
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((f.dir / "keyturn.db").string().c_str(), &db) == SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  const std::string insert =
      "INSERT INTO request_signatures (request_id, role, principal, kid, at, protected_b64,"
      " signature_b64, notes) VALUES ('" + id.value() + "', 'approver', 'carol', '" + carolKid +
      "', " + std::to_string(kNow) + ", '" + forged.protectedB64 + "', '" + forged.signatureB64 +
      "', 'forged'); UPDATE requests SET state = 'approved' WHERE id = '" + id.value() + "';";
  REQUIRE(sqlite3_exec(db, insert.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);

  Status s = f.workflow->complete(*f.bundle, "alice", id.value(), "", "");
  INFO(why(s));
  CHECK(s.reason() == "bad_signature");
  CHECK_THAT(s.detail(), Catch::Contains("approver signature 1 (principal \"carol\""));
  CHECK(f.published == 0);
  CHECK(f.stateOf(id.value()) == "approved");
  auto refused = f.audit("request.refused", id.value());
  REQUIRE_FALSE(refused.empty());
  CHECK_THAT(refused.back().detailJson, Catch::Contains("bad_signature"));
}
