// What the coordinator checks before it stores a request, an approval or a completion.
#include <catch2/catch.hpp>

#include "fixtures.h"
#include "keyturn/request_checks.h"

using namespace keyturn;
using namespace keyturn::test;

namespace {

struct Fixture {
  Tenant tenant;
  AcceptedBundle bundle = tenant.v1();
  std::vector<std::string> targets = {"dev-1", "dev-2", "dev-3"};

  // A request signed by its requester only, as a requester's CLI submits it.
  std::string submission(const std::string& requester = "alice", const std::string& signer = "alice",
                         std::uint64_t created = kNow) const {
    RequestDraft d{"contoso", "r-1", "device.wipe", "{\"mode\":\"full\"}", targets, requester, "Lost laptops",
                   created, created + 30 * 86400, 1};
    JwsEnvelope jws = newJws(requestPayloadJson(d).value());
    const auto& k = tenant.key(signer);
    appendSignature(jws, k, requesterHeader(k.publicKey().kid(), created));
    return jws.serialize();
  }
  // One more signature, returned as the (protected, signature) pair a client posts.
  std::pair<std::string, std::string> added(const Token& request, const std::string& who, const std::string& header) const {
    JwsEnvelope env = request.envelope;
    appendSignature(env, tenant.key(who), header);
    return {env.signatures.back().protectedB64, env.signatures.back().signatureB64};
  }
};

Fixture& fx() {
  static Fixture f;
  return f;
}

std::string reasonOf(const Result<Token>& r) { return r ? "accept" : r.reason(); }
std::string reasonOf(const Result<JwsSignature>& r) { return r ? "accept" : r.reason(); }

}  // namespace

TEST_CASE("a submission signed by its requester over the right targets is accepted", "[request-checks]") {
  auto r = checkSubmission(fx().bundle.bundle, fx().submission(), {"dev-3", "dev-1", "dev-2"}, kNow + 5);
  REQUIRE(r);
  CHECK(r->payload.id == "r-1");
}

TEST_CASE("a submission is refused with the reason an agent would give", "[request-checks]") {
  const auto& b = fx().bundle.bundle;
  CHECK(reasonOf(checkSubmission(b, fx().submission("alice", "bob"), fx().targets, kNow)) == "requester_mismatch");
  CHECK(reasonOf(checkSubmission(b, fx().submission(), {"dev-1", "dev-2"}, kNow)) == "targets_mismatch");
  CHECK(reasonOf(checkSubmission(b, fx().submission(), {"dev-1", "dev-2", "dev-4"}, kNow)) == "targets_mismatch");
  CHECK(reasonOf(checkSubmission(b, fx().submission(), fx().targets, kNow + 301)) == "request_expired");
  CHECK(reasonOf(checkSubmission(b, fx().submission(), fx().targets, kNow - 301)) == "not_yet_valid");
  CHECK(reasonOf(checkSubmission(b, "{}", fx().targets, kNow)) == "malformed");
  std::string bent = fx().submission();
  bent[bent.size() - 10] = bent[bent.size() - 10] == 'A' ? 'B' : 'A';
  CHECK(reasonOf(checkSubmission(b, bent, fx().targets, kNow)) == "bad_signature");
}

TEST_CASE("an approval is checked against the signed-in principal and the request's window", "[request-checks]") {
  const auto& b = fx().bundle.bundle;
  auto request = checkSubmission(b, fx().submission(), fx().targets, kNow).value();
  const auto& bobKid = fx().tenant.key("bob").publicKey().kid();
  auto [prot, sig] = fx().added(request, "bob", approverHeader(bobKid, kNow + 60));
  CHECK(checkAddedSignature(b, request, SignerRole::kApprover, "bob", prot, sig, 0, kNow + 60));
  // The session says carol, the key says bob.
  CHECK(reasonOf(checkAddedSignature(b, request, SignerRole::kApprover, "carol", prot, sig, 0, kNow + 60)) ==
        "requester_mismatch");
  // A completer header posted as an approval.
  auto [cprot, csig] = fx().added(request, "bob", completerHeader(bobKid, kNow + 60));
  CHECK(reasonOf(checkAddedSignature(b, request, SignerRole::kApprover, "bob", cprot, csig, 0, kNow + 60)) ==
        "malformed");
  // After the request expired.
  auto late = request.payload.expires + 10;
  auto [lprot, lsig] = fx().added(request, "bob", approverHeader(bobKid, late));
  CHECK(reasonOf(checkAddedSignature(b, request, SignerRole::kApprover, "bob", lprot, lsig, 0, late)) ==
        "request_expired");
  // A signature over another payload.
  CHECK(reasonOf(checkAddedSignature(b, request, SignerRole::kApprover, "bob", prot, csig, 0, kNow + 60)) ==
        "bad_signature");
}

TEST_CASE("only the requester completes, and not before the last approval", "[request-checks]") {
  const auto& b = fx().bundle.bundle;
  auto request = checkSubmission(b, fx().submission(), fx().targets, kNow).value();
  const auto& aliceKid = fx().tenant.key("alice").publicKey().kid();
  auto [prot, sig] = fx().added(request, "alice", completerHeader(aliceKid, kNow + 100));
  CHECK(checkAddedSignature(b, request, SignerRole::kCompleter, "alice", prot, sig, kNow + 90, kNow + 100));
  CHECK(reasonOf(checkAddedSignature(b, request, SignerRole::kCompleter, "alice", prot, sig, kNow + 120, kNow + 100)) ==
        "requester_mismatch");
  const auto& bobKid = fx().tenant.key("bob").publicKey().kid();
  auto [bprot, bsig] = fx().added(request, "bob", completerHeader(bobKid, kNow + 100));
  CHECK(reasonOf(checkAddedSignature(b, request, SignerRole::kCompleter, "bob", bprot, bsig, 0, kNow + 100)) ==
        "requester_mismatch");
}
