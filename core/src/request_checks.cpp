#include "keyturn/request_checks.h"

#include <algorithm>

#include "keyturn/approval_rules.h"
#include "keyturn/json.h"
#include "keyturn/merkle.h"
#include "keyturn/token_gate.h"

namespace keyturn {
namespace {

bool withinSkew(std::int64_t at, std::int64_t now) { return at >= now - kClockSkew && at <= now + kClockSkew; }

Status checkTargets(const RequestPayload& p, const std::vector<std::string>& targets) {
  auto sorted = canonicalTargets(targets);
  if (!sorted) return Status::fail("targets_mismatch", "the target list is not valid: " + sorted.detail());
  if (sorted->size() != p.targetCount)
    return Status::fail("targets_mismatch", "the request signs " + std::to_string(p.targetCount) +
                                                " targets; the list has " + std::to_string(sorted->size()));
  if (MerkleTree(sorted.value()).root() != p.targetRoot)
    return Status::fail("targets_mismatch", "the target list does not hash to the signed Merkle root");
  return Status::ok();
}

}  // namespace

Result<Token> checkSubmission(const TrustBundle& bundle, std::string_view jws, const std::vector<std::string>& targets,
                              std::int64_t now, VerifiedSignatures* memory) {
  using R = Result<Token>;
  auto parsed = parseToken(jws);
  if (!parsed) return parsed.error();
  Token& t = parsed.value();
  const RequestPayload& p = t.payload;
  if (t.signatures.size() != 1 || t.signatures[0].role != SignerRole::kRequester)
    return R::fail("requester_mismatch", "a new request carries exactly one signature, the requester's");
  const TokenSignature& s = t.signatures[0];
  const Ed25519PublicKey* key = bundle.principalKey(s.kid);
  if (!key) return R::fail("unknown_key", "kid " + s.kid + " is not a principal key of the current bundle");
  const BundlePrincipal* signer = bundle.principalByKid(s.kid);
  if (signer->id != p.requester)
    return R::fail("requester_mismatch", "the request names \"" + p.requester + "\" as requester but is signed by \"" +
                                             signer->id + "\"");
  const auto& js = t.envelope.signatures[0];
  if (!verifySignature(*key, t.envelope.signingInput(js), js.signature.data(), js.signature.size(), memory))
    return R::fail("bad_signature", "the requester's signature does not verify");
  if (p.tenant != bundle.tenant)
    return R::fail("wrong_tenant", "the request is for tenant \"" + p.tenant + "\", this coordinator serves \"" +
                                       bundle.tenant + "\"");
  if (p.bundle != bundle.version)
    return R::fail("bundle_stale", "the request names bundle version " + std::to_string(p.bundle) +
                                       "; the current version is " + std::to_string(bundle.version));
  if (!withinSkew(static_cast<std::int64_t>(p.created), now))
    return R::fail(static_cast<std::int64_t>(p.created) > now ? "not_yet_valid" : "request_expired",
                   "the request was created at " + std::to_string(p.created) + "; the coordinator's clock says " +
                       std::to_string(now) + " (300 s allowed)");
  if (!withinSkew(static_cast<std::int64_t>(s.at), now))
    return R::fail("request_expired", "the requester signed at " + std::to_string(s.at) + ", not now");
  if (Status ts = checkTargets(p, targets); !ts) return ts.error();
  return parsed;
}

Result<JwsSignature> checkAddedSignature(const TrustBundle& bundle, const Token& request, SignerRole role,
                                         const std::string& principal, const std::string& protectedB64,
                                         const std::string& signatureB64, std::uint64_t latestApproval,
                                         std::int64_t now, VerifiedSignatures* memory) {
  using R = Result<JwsSignature>;
  // Reuse the token schema: a one-signature envelope over the stored payload.
  std::string envelope = "{\"payload\":\"" + request.envelope.payloadB64 + "\",\"signatures\":[{\"protected\":" +
                         json::quote(protectedB64) + ",\"signature\":" + json::quote(signatureB64) + "}]}";
  auto parsed = parseToken(envelope);
  if (!parsed) return parsed.error();
  const TokenSignature& s = parsed->signatures[0];
  if (s.role != role)
    return R::fail("malformed", std::string("expected a ") + roleName(role) + " signature, got " + roleName(s.role));
  const Ed25519PublicKey* key = bundle.principalKey(s.kid);
  if (!key) return R::fail("unknown_key", "kid " + s.kid + " is not a principal key of the current bundle");
  const BundlePrincipal* signer = bundle.principalByKid(s.kid);
  if (signer->id != principal)
    return R::fail("requester_mismatch", "the signature is by \"" + signer->id + "\", not by the signed-in \"" +
                                             principal + "\"");
  if (role == SignerRole::kCompleter && principal != request.payload.requester)
    return R::fail("requester_mismatch", "only the requester \"" + request.payload.requester + "\" can complete");
  const JwsSignature& js = parsed->envelope.signatures[0];
  if (!verifySignature(*key, parsed->envelope.signingInput(js), js.signature.data(), js.signature.size(), memory))
    return R::fail("bad_signature", std::string("the ") + roleName(role) + " signature does not verify over this request");
  const auto& p = request.payload;
  auto at = static_cast<std::int64_t>(s.at);
  if (at < static_cast<std::int64_t>(p.created) - kClockSkew || at > static_cast<std::int64_t>(p.expires) ||
      now > static_cast<std::int64_t>(p.expires))
    return R::fail("request_expired", "request " + p.id + " expired at " + std::to_string(p.expires));
  if (!withinSkew(at, now))
    return R::fail("request_expired", "the signature's kt.at " + std::to_string(s.at) + " is not the current time");
  if (role == SignerRole::kCompleter && s.at < latestApproval)
    return R::fail("requester_mismatch", "the completion's kt.at is before the last approval");
  return js;
}

Status recheckStoredRequest(const TrustBundle& bundle, const Token& request,
                            const std::vector<std::string>& principals,
                            const std::vector<Requirement>& requirements, VerifiedSignatures* memory) {
  const RequestPayload& p = request.payload;
  if (principals.size() != request.signatures.size())
    return Status::fail("malformed", std::to_string(request.signatures.size()) + " stored signatures but " +
                                         std::to_string(principals.size()) + " recorded signers");
  std::vector<std::string> approvers;
  std::size_t approverIndex = 0;
  for (std::size_t i = 0; i < request.signatures.size(); ++i) {
    const TokenSignature& s = request.signatures[i];
    const std::string& who = principals[i];
    std::string name = std::string(roleName(s.role)) + " signature" +
                       (s.role == SignerRole::kApprover ? " " + std::to_string(++approverIndex) : "") +
                       " (principal \"" + who + "\", kid " + s.kid + ")";
    if ((i == 0) != (s.role == SignerRole::kRequester) ||
        (s.role != SignerRole::kRequester && s.role != SignerRole::kApprover))
      return Status::fail("malformed", name + ": a stored request holds the requester's signature first, then "
                                              "approvers' only");
    const Ed25519PublicKey* key = bundle.principalKey(s.kid);
    if (!key) return Status::fail("unknown_key", name + ": the kid is not a principal key of bundle v" +
                                                     std::to_string(bundle.version));
    const BundlePrincipal* signer = bundle.principalByKid(s.kid);
    if (signer->id != who)
      return Status::fail("requester_mismatch", name + ": the key belongs to \"" + signer->id + "\"");
    const JwsSignature& js = request.envelope.signatures[s.entry];
    if (!verifySignature(*key, request.envelope.signingInput(js), js.signature.data(), js.signature.size(), memory))
      return Status::fail("bad_signature", name + ": does not verify over the request");
    if (s.role == SignerRole::kRequester && who != p.requester)
      return Status::fail("requester_mismatch", name + ": the request names \"" + p.requester + "\" as requester");
    auto at = static_cast<std::int64_t>(s.at);
    if (at < static_cast<std::int64_t>(p.created) - kClockSkew || at > static_cast<std::int64_t>(p.expires))
      return Status::fail("request_expired", name + ": signed at " + std::to_string(s.at) +
                                                 ", outside the request's window");
    if (s.role != SignerRole::kApprover) continue;
    if (who == p.requester)
      return Status::fail("self_approval", name + ": the requester cannot approve their own request");
    if (std::find(approvers.begin(), approvers.end(), who) != approvers.end())
      return Status::fail("already_approved", name + ": \"" + who + "\" approved twice");
    bool inGroup = false;
    for (const auto& r : requirements) inGroup = inGroup || signer->inGroup(r.group);
    if (!inGroup)
      return Status::fail("not_an_approver", name + ": \"" + who + "\" is in none of the required groups");
    approvers.push_back(who);
  }
  if (request.signatures.empty() || request.signatures[0].role != SignerRole::kRequester)
    return Status::fail("malformed", "the stored request has no requester signature");
  return requirementsMet(bundle, approvers, requirements);
}

}  // namespace keyturn
