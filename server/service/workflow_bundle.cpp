// Workflow: maa.bundle.update, the next trust bundle as a request. The proposal
// is a bundle JWS signed by its requester; approvals are bundle signatures
// appended to it; completion publishes it only when core's acceptBundleUpdate
// accepts it against the bundle in force — the same check every agent makes
// before it takes the new bundle.
#include <filesystem>

#include "keyturn/approval_rules.h"
#include "keyturn/crypto_util.h"
#include "keyturn/json.h"
#include "service/workflow.h"
#include "service/notifications.h"
#include "service/workflow_internal.h"

namespace keyturn::server {

using workflow::object;

namespace {

AcceptOptions acceptAt(std::int64_t now) {
  AcceptOptions o;
  o.now = now;
  return o;
}

}  // namespace

Status workflow::checkBundleSignature(const TrustBundle& current, const TrustBundle& candidate,
                                      std::size_t entry, const std::string& who) {
  const BundleSignature& s = candidate.signatures.at(entry);
  const Ed25519PublicKey* key = current.principalKey(s.kid);
  const BundlePrincipal* signer = current.principalByKid(s.kid);
  if (key == nullptr) {
    key = candidate.principalKey(s.kid);
    signer = candidate.principalByKid(s.kid);
  }
  if (key == nullptr)
    return Status::fail(
        "unknown_key",
        "kid " + s.kid + " is not a principal key of the current or the proposed bundle");
  if (signer->id != who)
    return Status::fail("requester_mismatch", "the bundle signature is by \"" + signer->id +
                                                  "\", not by the signed-in \"" + who + "\"");
  const JwsSignature& js = candidate.envelope.signatures.at(s.entry);
  if (!key->verify(candidate.envelope.signingInput(js), js.signature.data(), js.signature.size()))
    return Status::fail("bad_signature",
                        "the bundle signature does not verify over the proposed bundle");
  return Status::ok();
}

Result<std::string> Workflow::proposeBundle(const AcceptedBundle& bundle, const std::string& caller,
                                            const std::string& bundleJws,
                                            const std::string& justification) {
  auto id = proposeChecked(bundle, caller, bundleJws, justification);
  if (!id && id.reason() != "storage") (void)refuse(caller, "", "propose_bundle", id.error());
  return id;
}

Result<std::string> Workflow::proposeChecked(const AcceptedBundle& bundle,
                                             const std::string& caller,
                                             const std::string& bundleJws,
                                             const std::string& justification) {
  using R = Result<std::string>;
  const TrustBundle& current = bundle.bundle;
  const std::int64_t now = clock_();
  if (!workflow::hasText(justification))
    return R::fail("justification_required", "a business justification is required");
  if (!json::validUtf8(justification) || json::codePoints(justification) > 1024)
    return R::fail("malformed", "justification must be valid UTF-8 of at most 1,024 characters");
  auto proposed = TrustBundle::parse(bundleJws);
  if (!proposed) return proposed.error();
  const TrustBundle& next = proposed.value();
  if (next.tenant != current.tenant)
    return R::fail("wrong_tenant", "the proposal is for tenant \"" + next.tenant + "\"");
  if (next.version != current.version + 1)
    return R::fail(next.version <= current.version ? "rollback" : "version_gap",
                   "the proposal is version " + std::to_string(next.version) +
                       "; the next version is " + std::to_string(current.version + 1));
  if (next.signatures.size() != 1)
    return R::fail("malformed", "a proposal carries exactly one signature, the requester's");
  if (Status s = workflow::checkBundleSignature(current, next, 0, caller); !s) return s.error();
  if (static_cast<std::int64_t>(next.expires) <= now)
    return R::fail("bundle_expired",
                   "the proposed bundle expires at " + std::to_string(next.expires));

  const std::string versionText = std::to_string(next.version);
  RequestRecord r;
  r.id = "bundle-v" + versionText + "-" +
         toHex(sha256(next.envelope.payloadB64 + std::to_string(now))).substr(0, 12);
  r.tenant = current.tenant;
  r.action = kBundleUpdateAction;
  r.paramsJson = object(
      {{"version", versionText}, {"sha256", json::quote(toHex(sha256(next.envelope.payload)))}});
  r.requester = caller;
  r.justification = justification;
  r.created = now;
  r.expires = now + options_.requestLifetime;
  r.bundleVersion = static_cast<std::int64_t>(current.version);
  r.targetCount = 0;
  r.targetRoot = "bundle-v" + versionText;  // one pending proposal per next version
  r.payloadB64 = next.envelope.payloadB64;
  r.state = state::kNeedsApproval;  // nobody publishes alone, whatever the threshold
  const BundlePrincipal* me = current.principalById(caller);
  std::uint64_t own = me && me->inGroup(current.updateGroup) ? 1 : 0;
  int needed = static_cast<int>(
      std::max<std::uint64_t>(1, current.threshold - std::min(current.threshold, own)));
  std::vector<Requirement> requirements{
      {current.updateGroup, needed, "bundle update (current threshold)"}};
  if (next.updateGroup != current.updateGroup || next.threshold != current.threshold)
    requirements.push_back(
        {next.updateGroup, static_cast<int>(next.threshold), "bundle update (new threshold)"});
  r.requirementsJson = workflow::requirementsJson(requirements);
  r.updated = now;
  const JwsSignature& js = next.envelope.signatures[0];
  SignatureRecord sig{r.id,
                      "requester",
                      caller,
                      next.signatures[0].kid,
                      static_cast<std::int64_t>(next.signatures[0].at),
                      js.protectedB64,
                      js.signatureB64,
                      ""};
  AuditEvent audit{
      caller, "bundle.proposed", r.id,
      object({{"version", versionText}, {"justification", json::quote(justification)}})};
  OptionalAudit effects = audit;
  if (options_.notifications) {
    auto to = notify::groupMembers(current, current.updateGroup, caller);
    if (!to.empty())
      effects.notifications.push_back(notify::makeEvent(
          r.id, notify::kBundleProposed, "", to,
          notify::requestFacts(r, {}, {{"bundle_version", versionText}}), now));
  }
  Status s = store_.insertRequest(r, {}, sig, effects);
  if (!s)
    return s.reason() == "conflict"
               ? R::fail("duplicate_request",
                         "a proposal for bundle v" + versionText + " is already pending")
               : s.error();
  return r.id;
}

Status Workflow::approveBundle(const AcceptedBundle& bundle, const std::string& caller,
                               const Loaded& l, const std::string& protectedB64,
                               const std::string& signatureB64, const std::string& notes) {
  const TrustBundle& current = bundle.bundle;
  const RequestRecord& r = l.request;
  auto no = [&](const Status& why) { return refuse(caller, r.id, "approve", why.error()); };
  if (caller == r.requester)
    return no(Status::fail("self_approval", "the requester cannot approve their own proposal"));
  const BundlePrincipal* me = current.principalById(caller);
  if (me == nullptr) return no(Status::fail("unknown_principal", caller + " is not in the bundle"));
  auto approvers = workflow::approvers(l.signatures);
  if (std::find(approvers.begin(), approvers.end(), caller) != approvers.end())
    return no(Status::fail("already_approved", caller + " has already approved this proposal"));
  if (!me->inGroup(current.updateGroup))
    return no(Status::fail("not_an_approver", "bundle changes are approved by the group \"" +
                                                  current.updateGroup + "\""));
  SignatureRecord added{r.id, "approver", caller, "", 0, protectedB64, signatureB64, notes};
  std::vector<SignatureRecord> all = l.signatures;
  all.push_back(added);
  auto candidate = TrustBundle::parse(workflow::envelopeJson(r.payloadB64, all));
  if (!candidate) return no(candidate.status());
  if (Status s = workflow::checkBundleSignature(current, candidate.value(), all.size() - 1, caller); !s)
    return no(s);
  added.kid = candidate->signatures.back().kid;
  added.at = static_cast<std::int64_t>(candidate->signatures.back().at);
  // Approved once the agents would take it: the current and the new thresholds
  // met.
  bool accepted = acceptBundleUpdate(current, candidate->fileBytes, acceptAt(clock_())).isOk();
  std::optional<std::string> next;
  if (accepted) next = state::kApproved;
  AuditEvent audit{
      caller, "request.approved", r.id,
      object({{"notes", json::quote(notes)},
              {"state", json::quote(accepted ? state::kApproved : state::kNeedsApproval)}})};
  Status s = store_.addApproval(added, state::kNeedsApproval, next,
                                approvalEffects(l, caller, notes, accepted, audit));
  if (!s && s.reason() == "conflict") return no(Status::fail("already_approved", s.detail()));
  if (!s && s.reason() == "state_changed") return no(Status::fail("wrong_state", s.detail()));
  return s;
}

Status Workflow::completeBundle(const AcceptedBundle& bundle, const std::string& caller,
                                const Loaded& l) {
  const RequestRecord& r = l.request;
  const std::int64_t now = clock_();
  std::string bytes = workflow::envelopeJson(r.payloadB64, l.signatures, {"requester", "approver"});
  if (workflow::approvers(l.signatures).empty())
    return Status::fail("threshold_not_met", "no principal other than the requester signed");
  auto accepted = acceptBundleUpdate(bundle.bundle, bytes, acceptAt(now));
  if (!accepted) return accepted.status();
  const std::uint64_t version = accepted->bundle.version;
  std::error_code ec;
  std::filesystem::create_directories(options_.bundleDir, ec);
  if (ec)
    return Status::fail("storage", "cannot create " + options_.bundleDir + ": " + ec.message());
  std::string file =
      (std::filesystem::path(options_.bundleDir) / ("v" + std::to_string(version) + ".json"))
          .string();
  if (std::string err = writeFileAtomic(file, bytes, 0644); !err.empty())
    return Status::fail("storage", err);
  SignatureRecord completer = l.signatures.front();  // the requester's own bundle signature
  completer.role = "completer";
  completer.at = now;
  completer.notes = "published bundle v" + std::to_string(version);
  std::string sha = toHex(sha256(bytes));
  if (Status s = store_.completeRequest(completer, {},
                                        AuditEvent{caller, "request.completed", r.id,
                                                   object({{"bundle", std::to_string(version)}})});
      !s)
    return s.reason() == "state_changed" ? Status::fail("wrong_state", s.detail()) : s;
  OptionalAudit published =
      AuditEvent{caller, "bundle.published", std::to_string(version),
                 object({{"sha256", json::quote(sha)}, {"request", json::quote(r.id)}})};
  if (options_.notifications) {
    const TrustBundle& nb = accepted->bundle;
    auto to = notify::groupMembers(nb, nb.updateGroup);
    if (!to.empty())
      published.notifications.push_back(notify::makeEvent(
          "bundle-v" + std::to_string(version), notify::kBundlePublished, "", to,
          object({{"bundle_version", std::to_string(version)},
                  {"request", json::quote(r.id)},
                  {"requester", json::quote(r.requester)},
                  {"justification", json::quote(r.justification)},
                  {"expires", std::to_string(nb.expires)}}),
          now));
  }
  if (Status s = store_.insertBundle(
          BundleRecord{static_cast<std::int64_t>(version), sha, file, now}, published);
      !s)
    return s;
  return publisher_
             ? publisher_(std::make_shared<const AcceptedBundle>(std::move(accepted).value()))
             : Status::ok();
}

}  // namespace keyturn::server
