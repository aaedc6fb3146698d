#include "keyturn/token_gate.h"

#include <algorithm>

#include "keyturn/approval_rules.h"
#include "keyturn/merkle.h"

namespace keyturn {
namespace {

using R = Result<GateAccept>;

std::string entry(const TokenSignature& s) {
  return std::string(roleName(s.role)) + " signature " + std::to_string(s.entry);
}

}  // namespace

const std::set<std::string>& builtinActions() {
  static const std::set<std::string> kActions = {"device.wipe",  "device.retire", "device.lock",  "device.restart",
                                                 "script.run",   "app.install",   "app.uninstall"};
  return kActions;
}

TokenGate::TokenGate(const TrustBundle& bundle, const PolicyEngine& policies, const ReplayJournal* journal,
                     std::set<std::string> extraActions)
    : bundle_(bundle), policies_(policies), journal_(journal), extraActions_(std::move(extraActions)) {}

Result<GateAccept> TokenGate::check(std::string_view tokenBytes, const DeviceFacts& device, std::int64_t now) const {
  // Steps 1 and 2: size, envelope, schemas; algorithms.
  auto parsed = parseToken(tokenBytes);
  if (!parsed) return parsed.error();
  Token& t = parsed.value();
  const RequestPayload& p = t.payload;

  // Step 3: the local bundle.
  if (!(now < static_cast<std::int64_t>(bundle_.expires)))
    return R::fail("bundle_expired", "the local trust bundle (version " + std::to_string(bundle_.version) +
                                         ") expired at " + std::to_string(bundle_.expires));
  if (p.bundle > bundle_.version)
    return R::fail("bundle_stale", "the request was made under bundle version " + std::to_string(p.bundle) +
                                       "; this device has version " + std::to_string(bundle_.version));

  // Step 4: every kid resolves, issuers among issuers and everyone else among principals.
  std::vector<const Ed25519PublicKey*> keys(t.signatures.size());
  for (std::size_t i = 0; i < t.signatures.size(); ++i) {
    const auto& s = t.signatures[i];
    keys[i] = s.role == SignerRole::kIssuer ? bundle_.issuerKey(s.kid) : bundle_.principalKey(s.kid);
    if (!keys[i])
      return R::fail("unknown_key", entry(s) + " uses kid " + s.kid + ", which the local bundle does not list as " +
                                        (s.role == SignerRole::kIssuer ? "an issuer key" : "a principal key"));
  }

  // Step 5: every signature verifies, over the received bytes.
  for (std::size_t i = 0; i < t.signatures.size(); ++i) {
    const auto& js = t.envelope.signatures[t.signatures[i].entry];
    if (!keys[i]->verify(t.envelope.signingInput(js), js.signature.data(), js.signature.size()))
      return R::fail("bad_signature", entry(t.signatures[i]) + " (kid " + t.signatures[i].kid + ") does not verify");
  }

  // Step 6: tenant.
  if (p.tenant != bundle_.tenant)
    return R::fail("wrong_tenant", "the request is for tenant \"" + p.tenant + "\", this device belongs to \"" +
                                       bundle_.tenant + "\"");

  // Step 7: exactly one issuer, for this device, with a valid audit path.
  const TokenSignature* issuer = nullptr;
  for (const auto& s : t.signatures) {
    if (s.role != SignerRole::kIssuer) continue;
    if (issuer) return R::fail("no_issuer", "the token carries more than one issuer signature");
    issuer = &s;
  }
  if (!issuer) return R::fail("no_issuer", "the token carries no issuer signature");
  if (issuer->device != device.id)
    return R::fail("wrong_device", "the token was issued for device \"" + issuer->device + "\", this is \"" +
                                       device.id + "\"");
  if (!verifyAuditPath(issuer->device, issuer->index, p.targetCount, issuer->proof, p.targetRoot))
    return R::fail("wrong_device", "the audit path does not lead from leaf " + std::to_string(issuer->index) +
                                       " (device \"" + issuer->device + "\") to the request's target root");

  // Step 8: the issuer's window, with skew.
  if (now < static_cast<std::int64_t>(issuer->nbf) - kClockSkew)
    return R::fail("not_yet_valid", "the token is valid from " + std::to_string(issuer->nbf) + "; now is " +
                                        std::to_string(now));
  if (!(now < static_cast<std::int64_t>(issuer->exp) + kClockSkew))
    return R::fail("expired", "the token expired at " + std::to_string(issuer->exp) + "; now is " + std::to_string(now));

  // Step 9: exactly one requester and one completer signature, both by the requester.
  const BundlePrincipal* requester = bundle_.principalById(p.requester);
  const TokenSignature* reqSig = nullptr;
  const TokenSignature* completer = nullptr;
  std::uint64_t latestApproval = 0;
  for (const auto& s : t.signatures) {
    if (s.role == SignerRole::kRequester) {
      if (reqSig) return R::fail("requester_mismatch", "the token carries more than one requester signature");
      reqSig = &s;
    } else if (s.role == SignerRole::kCompleter) {
      if (completer) return R::fail("requester_mismatch", "the token carries more than one completer signature");
      completer = &s;
    } else if (s.role == SignerRole::kApprover) {
      latestApproval = std::max(latestApproval, s.at);
    }
  }
  if (!reqSig) return R::fail("requester_mismatch", "the token carries no requester signature");
  if (!completer) return R::fail("requester_mismatch", "the token carries no completer signature (not completed)");
  for (const TokenSignature* s : {reqSig, completer}) {
    const BundlePrincipal* signer = bundle_.principalByKid(s->kid);
    if (!requester || signer != requester)
      return R::fail("requester_mismatch", entry(*s) + " is by \"" + (signer ? signer->id : "?") +
                                               "\", not by the requester \"" + p.requester + "\"");
  }
  if (completer->at < latestApproval)
    return R::fail("requester_mismatch", "the completer signed at " + std::to_string(completer->at) +
                                             ", before the last approval at " + std::to_string(latestApproval));

  // Step 10: nobody approves their own request.
  std::vector<const BundlePrincipal*> approvers;
  for (const auto& s : t.signatures) {
    if (s.role != SignerRole::kApprover) continue;
    const BundlePrincipal* signer = bundle_.principalByKid(s.kid);
    if (signer == requester)
      return R::fail("self_approval", entry(s) + " is by the requester \"" + p.requester + "\" themself");
    if (std::find(approvers.begin(), approvers.end(), signer) == approvers.end()) approvers.push_back(signer);
  }

  // Step 11: every admin signature inside the request's own window.
  const std::int64_t windowStart = static_cast<std::int64_t>(p.created) - kClockSkew;
  for (const auto& s : t.signatures) {
    if (s.role == SignerRole::kIssuer) continue;
    auto at = static_cast<std::int64_t>(s.at);
    if (at < windowStart || at > static_cast<std::int64_t>(p.expires))
      return R::fail("request_expired", entry(s) + " was made at " + std::to_string(s.at) +
                                            ", outside the request's window [" + std::to_string(p.created) + " - 300, " +
                                            std::to_string(p.expires) + "]");
  }

  // Step 12: replay.
  if (journal_ && journal_->isConsumed(p.id))
    return R::fail("replayed", "request " + p.id + " was already consumed on this device");

  // Step 13: policies, over this device's own facts.
  PolicyRequest req;
  req.id = p.id;
  req.action = p.action;
  req.paramsJson = p.paramsJson;
  req.requesterId = p.requester;
  req.requesterGroups = requester->groups;
  req.justification = p.justification;
  req.targetCount = p.targetCount;
  req.created = static_cast<std::int64_t>(p.created);
  req.expires = static_cast<std::int64_t>(p.expires);
  req.now = now;
  PolicyDecision decision = policies_.evaluate(req, device);
  if (!decision.status) return decision.status.error();

  // Step 14: every requirement met by distinct approvers in its group.
  std::vector<std::string> approverIds;
  for (const BundlePrincipal* a : approvers) approverIds.push_back(a->id);
  if (Status met = requirementsMet(bundle_, approverIds, decision.requirements); !met) return met.error();

  // Step 15: an action this device knows how to run.
  if (!builtinActions().count(p.action) && !extraActions_.count(p.action))
    return R::fail("unknown_action", "action \"" + p.action + "\" is neither in the catalogue nor provided by a plugin");

  GateAccept accept;
  accept.approvers = std::move(approverIds);
  accept.requirements = std::move(decision.requirements);
  accept.token = std::move(t);
  return accept;
}

}  // namespace keyturn
