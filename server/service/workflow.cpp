// Workflow: device-action requests from submission to completion, and expiry.
#include "service/workflow.h"

#include <algorithm>
#include <exception>
#include <thread>

#include "keyturn/approval_rules.h"
#include "keyturn/base64url.h"
#include "keyturn/json.h"
#include "keyturn/merkle.h"
#include "keyturn/request_checks.h"
#include "keyturn/token.h"
#include "service/notifications.h"
#include "service/workflow_internal.h"

namespace keyturn::server {

using workflow::object;

namespace {

// A device's stored facts (spec section 8's facts format) as a policy sees
// them. Missing or unreadable facts read as "unknown" / empty, never as
// something a policy would treat as more trusted.
DeviceFacts factsOf(const DeviceRecord& d) {
  DeviceFacts f;
  f.id = d.id;
  auto o = json::parseObject(d.factsJson);
  if (!o) return f;
  auto str = [&](const char* key, std::string& into) {
    auto v = json::getString(*o.value(), key, "facts");
    if (v) into = v.value();
  };
  str("ownership", f.ownership);
  if (f.ownership != "corporate" && f.ownership != "personal") f.ownership = "unknown";
  str("platform", f.platform);
  str("os_version", f.osVersion);
  if (auto groups = json::getArray(*o.value(), "groups", "facts"))
    for (std::size_t i = 0; i < groups.value()->size(); ++i)
      if (auto g = json::asString(groups.value()->get(i), "group")) f.groups.push_back(g.value());
  if (auto tags = json::getObject(*o.value(), "tags", "facts"))
    for (const auto& [k, v] : *tags.value())
      if (auto s = json::asString(v, "tag")) f.tags[k] = s.value();
  return f;
}

std::vector<std::string> groupsOf(const TrustBundle& bundle, const std::string& principal) {
  const BundlePrincipal* p = bundle.principalById(principal);
  return p ? p->groups : std::vector<std::string>{};
}

Status mapStore(const Status& s, const std::string& conflictReason) {
  if (s) return s;
  if (s.reason() == "conflict") return Status::fail(conflictReason, s.detail());
  if (s.reason() == "state_changed") return Status::fail("wrong_state", s.detail());
  return s;
}

// One token per target, `sorted` in Merkle order: `base` plus the issuer's signature.
// The signatures are independent and each costs about 0.1 ms on a small VM, so a large
// fleet is signed on every core: completing one request over 10,000 devices stays under
// a second on 2 vCPUs (bench_coordinator fanout, docs/performance.md). Small requests
// stay on the calling thread. An exception from a worker is rethrown here.
std::vector<std::pair<std::string, std::string>> issueTokens(
    const JwsEnvelope& base, const Ed25519PrivateKey& issuer, const std::string& kid,
    const std::vector<std::string>& sorted, const MerkleTree& tree, std::uint64_t nbf,
    std::uint64_t exp) {
  constexpr std::size_t kPerWorker = 256;  // below this a thread costs more than it saves
  std::vector<std::pair<std::string, std::string>> tokens(sorted.size());
  // Per worker: one envelope whose last signature is swapped per device, the header
  // never parsed back (the bytes are exactly appendSignature's).
  auto issueRange = [&](std::size_t from, std::size_t to) {
    JwsEnvelope env = base;
    env.signatures.emplace_back();
    for (std::size_t i = from; i < to; ++i) {
      env.signatures.back() = signatureFor(
          env, issuer, issuerHeader(kid, nbf, sorted[i], i, tree.auditPath(i), nbf, exp));
      tokens[i] = {sorted[i], env.serialize()};
    }
  };
  const std::size_t workers = std::min<std::size_t>(
      std::max(1u, std::thread::hardware_concurrency()), sorted.size() / kPerWorker);
  if (workers <= 1) {
    issueRange(0, sorted.size());
    return tokens;
  }
  const std::size_t chunk = (sorted.size() + workers - 1) / workers;
  std::vector<std::exception_ptr> errors(workers);
  std::vector<std::thread> threads;
  for (std::size_t w = 1; w < workers; ++w)
    threads.emplace_back([&, w] {
      try {
        issueRange(w * chunk, std::min(sorted.size(), (w + 1) * chunk));
      } catch (...) {
        errors[w] = std::current_exception();
      }
    });
  try {
    issueRange(0, chunk);
  } catch (...) {
    errors[0] = std::current_exception();
  }
  for (auto& t : threads) t.join();
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
  return tokens;
}

}  // namespace

Workflow::Workflow(Store& store, Ed25519PrivateKey issuer, WorkflowOptions options, Clock clock,
                   Publisher publisher)
    : store_(store),
      issuer_(std::move(issuer)),
      options_(std::move(options)),
      clock_(std::move(clock)),
      publisher_(std::move(publisher)) {}

std::mutex& Workflow::changeMutexFor(const std::string& id) {
  return changeMutexes_[std::hash<std::string>{}(id) % kChangeStripes];
}

Result<Workflow::Loaded> Workflow::load(const std::string& id) {
  using R = Result<Loaded>;
  auto stored = store_.loadRequest(id);
  if (!stored)
    return stored.reason() == "not_found" ? R::fail("not_found", "no request " + id) : stored.error();
  Loaded l;
  static_cast<StoredRequest&>(l) = std::move(stored).value();
  return l;
}

Status Workflow::refuse(const std::string& caller, const std::string& id, const std::string& op,
                        const Error& why) {
  // The refusal is what the caller gets back; failing to log it must not hide
  // it, so an audit failure is dropped here (the store reports it in its own
  // log).
  (void)store_.appendAudit(AuditEvent{caller, "request.refused", id,
                                      object({{"operation", json::quote(op)},
                                              {"reason", json::quote(why.reason)},
                                              {"detail", json::quote(why.detail)}})},
                           clock_());
  return Status(why);
}

Status Workflow::expireIfDue(const RequestRecord& r, std::int64_t now) {
  if (now < r.expires) return Status::ok();
  // The sweep's own transaction: the request and its targets expire, with their
  // audit entries, exactly as the periodic sweep would have done a moment
  // later.
  if (r.state == state::kNeedsApproval || r.state == state::kApproved)
    (void)store_.expireDue(now, expiryEvents());
  return Status::fail("request_expired",
                      "request " + r.id + " expired at " + std::to_string(r.expires));
}

Result<std::string> Workflow::submit(const AcceptedBundle& bundle, const std::string& caller,
                                     const std::string& jws,
                                     const std::vector<std::string>& targets) {
  auto id = submitChecked(bundle, caller, jws, targets);
  if (!id && id.reason() != "storage") {
    // A refused submission is audited under the id it names, when it names one.
    auto parsed = parseToken(jws);
    (void)refuse(caller, parsed ? parsed->payload.id : "", "submit", id.error());
  }
  return id;
}

Result<std::string> Workflow::submitChecked(const AcceptedBundle& bundle, const std::string& caller,
                                            const std::string& jws,
                                            const std::vector<std::string>& targets) {
  using R = Result<std::string>;
  const std::int64_t now = clock_();
  auto checked = checkSubmission(bundle.bundle, jws, targets, now, &verified_);
  if (!checked) return checked.error();
  const Token& token = checked.value();
  const RequestPayload& p = token.payload;
  if (p.requester != caller)
    return R::fail("requester_mismatch", "the request names \"" + p.requester +
                                             "\" as requester; you are signed in as \"" + caller +
                                             "\"");
  if (p.action == kBundleUpdateAction)
    return R::fail("malformed", "maa.bundle.update is proposed with a bundle, not a request token");
  if (!workflow::hasText(p.justification))
    return R::fail("justification_required", "a business justification is required");
  auto sorted = canonicalTargets(targets);
  if (!sorted) return R::fail("targets_mismatch", sorted.detail());

  PolicyRequest req;
  req.id = p.id;
  req.action = p.action;
  req.paramsJson = p.paramsJson;
  req.requesterId = p.requester;
  req.requesterGroups = groupsOf(bundle.bundle, p.requester);
  req.justification = p.justification;
  req.targetCount = p.targetCount;
  req.created = static_cast<std::int64_t>(p.created);
  req.expires = static_cast<std::int64_t>(p.expires);
  req.now = now;
  auto decisions = evaluateTargets(bundle, req, sorted.value(), true);
  if (!decisions) return decisions.error();
  std::vector<std::vector<Requirement>> perDevice;
  for (auto& d : decisions.value()) {
    if (!d.status) return d.status.error();
    perDevice.push_back(std::move(d.requirements));
  }
  std::vector<Requirement> requirements = mergeRequirements(perDevice);
  bool needsNone = requirementsMet(bundle.bundle, {}, requirements).isOk();

  RequestRecord r;
  r.id = p.id;
  r.tenant = p.tenant;
  r.action = p.action;
  r.paramsJson = p.paramsJson;
  r.requester = p.requester;
  r.justification = p.justification;
  r.created = now;
  // The signed `expires` bounds signing for the agent; the coordinator may end
  // the workflow sooner (its configured lifetime), never later.
  r.expires =
      std::min<std::int64_t>(static_cast<std::int64_t>(p.expires),
                             static_cast<std::int64_t>(p.created) + options_.requestLifetime);
  r.bundleVersion = static_cast<std::int64_t>(p.bundle);
  r.targetCount = static_cast<std::int64_t>(p.targetCount);
  r.targetRoot = toHex(p.targetRoot);
  r.payloadB64 = token.envelope.payloadB64;
  r.state = needsNone ? state::kApproved : state::kNeedsApproval;
  r.requirementsJson = workflow::requirementsJson(requirements);
  r.updated = now;
  const auto& js = token.envelope.signatures[0];
  SignatureRecord sig{r.id,
                      "requester",
                      caller,
                      token.signatures[0].kid,
                      static_cast<std::int64_t>(token.signatures[0].at),
                      js.protectedB64,
                      js.signatureB64,
                      ""};
  AuditEvent audit{caller, "request.submitted", r.id,
                   object({{"action", json::quote(r.action)},
                           {"targets", std::to_string(r.targetCount)},
                           {"state", json::quote(r.state)},
                           {"requirements", r.requirementsJson}})};
  OptionalAudit effects = audit;
  if (options_.notifications) {
    // Approvers hear of it in the same transaction; a request needing nobody is ready.
    std::vector<std::string> to = needsNone ? std::vector<std::string>{r.requester}
                                            : notify::approversNow(bundle.bundle, r, {sig});
    if (!to.empty())
      effects.notifications.push_back(
          notify::makeEvent(r.id, needsNone ? notify::kReady : notify::kSubmitted, "", to,
                            notify::requestFacts(r, sorted.value()), now));
  }
  if (Status s =
          mapStore(store_.insertRequest(r, sorted.value(), sig, effects), "duplicate_request");
      !s)
    return s.error();
  return r.id;
}

OptionalAudit Workflow::approvalEffects(const Loaded& l, const std::string& caller,
                                       const std::string& notes, bool done,
                                       AuditEvent audit) const {
  OptionalAudit out = std::move(audit);
  if (!options_.notifications) return out;
  const RequestRecord& r = l.request;
  RequestRecord after = r;
  if (done) after.state = state::kApproved;
  std::vector<std::string> devices;
  for (const auto& t : l.targets) devices.push_back(t.deviceId);
  const std::int64_t now = clock_();
  // One event per approver ("REQ:request.approved:alice"), so each note reaches the
  // requester; then "ready to complete" once the last approval needed is in.
  out.notifications.push_back(notify::makeEvent(
      r.id, notify::kApproved, caller, {r.requester},
      notify::requestFacts(after, devices,
                           {{"by", json::quote(caller)}, {"notes", json::quote(notes)}}),
      now));
  if (done)
    out.notifications.push_back(notify::makeEvent(r.id, notify::kReady, "", {r.requester},
                                                  notify::requestFacts(after, devices), now));
  return out;
}

Result<std::vector<Workflow::TargetDecision>> Workflow::evaluateTargets(
    const AcceptedBundle& bundle, const PolicyRequest& req, const std::vector<std::string>& sorted,
    bool stopAtFirstRefusal) {
  std::vector<TargetDecision> out;
  for (const auto& id : sorted) {
    TargetDecision d{id, Status::ok(), {}};
    auto device = store_.getDevice(id);
    if (!device && device.reason() != "not_found") return device.error();
    if (!device || device->removedAt) {
      d.status = Status::fail("unknown_device", "device \"" + id + "\" is not enrolled");
    } else {
      PolicyDecision decision = bundle.engine->evaluate(req, factsOf(device.value()));
      if (decision.status)
        d.requirements = std::move(decision.requirements);
      else
        d.status = Status::fail(decision.status.reason(),
                                "device " + id + ": " + decision.status.detail());
    }
    bool refused = !d.status;
    out.push_back(std::move(d));
    if (refused && stopAtFirstRefusal) break;
  }
  return out;
}

Result<std::string> Workflow::preview(const AcceptedBundle& bundle, const std::string& caller,
                                      const std::string& action, const std::string& paramsJson,
                                      const std::vector<std::string>& targets) {
  using R = Result<std::string>;
  constexpr std::size_t kMaxRefusalsShown = 20;
  if (action.empty() || action.size() > 64 || action == kBundleUpdateAction ||
      action.find('.') == std::string::npos ||
      action.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-.") != std::string::npos ||
      action.front() == '.' || action.back() == '.' || action.find("..") != std::string::npos)
    return R::fail("malformed", "action: not a device action name: " + action);
  auto params = json::parseObject(paramsJson);
  if (!params) return R::fail("malformed", "params: " + params.detail());
  if (targets.empty()) return R::fail("malformed", "targets: at least one device is needed");
  auto sorted = canonicalTargets(targets);
  if (!sorted) return R::fail("malformed", "targets: " + sorted.detail());

  const std::int64_t now = clock_();
  PolicyRequest req;
  req.id = "preview";
  req.action = action;
  req.paramsJson = paramsJson;
  req.requesterId = caller;
  req.requesterGroups = groupsOf(bundle.bundle, caller);
  req.justification = "preview";
  req.targetCount = sorted->size();
  req.created = now;
  req.expires = now + options_.requestLifetime;
  req.now = now;
  auto decisions = evaluateTargets(bundle, req, sorted.value(), false);
  if (!decisions) return decisions.error();

  std::vector<std::vector<Requirement>> perDevice;
  std::string refusals = "[";
  std::size_t shown = 0;
  bool unknown = false, error = false, denied = false;
  for (auto& d : decisions.value()) {
    if (d.status) {
      perDevice.push_back(std::move(d.requirements));
      continue;
    }
    unknown = unknown || d.status.reason() == "unknown_device";
    error = error || d.status.reason() == "policy_error";
    denied = denied || d.status.reason() == "policy_denied";
    if (shown++ < kMaxRefusalsShown)
      refusals += std::string(refusals.size() > 1 ? "," : "") +
                  object({{"device", json::quote(d.device)},
                          {"reason", json::quote(d.status.reason())},
                          {"detail", json::quote(d.status.detail())}});
  }
  refusals += "]";
  std::vector<Requirement> merged = mergeRequirements(perDevice);
  std::string requirements = "[";
  for (const auto& r : merged) {
    std::string eligible = "[";
    for (const auto& p : bundle.bundle.principals)
      if (p.id != caller && p.inGroup(r.group))
        eligible += std::string(eligible.size() > 1 ? "," : "") + json::quote(p.id);
    eligible += "]";
    requirements += std::string(requirements.size() > 1 ? "," : "") +
                    object({{"group", json::quote(r.group)},
                            {"approvals", std::to_string(r.approvals)},
                            {"policy", json::quote(r.policy)},
                            {"eligible", eligible}});
  }
  requirements += "]";
  // The same precedence as submit's first refusal would give, per kind: an
  // unknown device, then a policy error (fail closed), then a denial.
  std::string verdict = unknown  ? "unknown_device"
                        : error  ? "error"
                        : denied ? "denied"
                        : requirementsMet(bundle.bundle, {}, merged).isOk() ? "unprotected"
                                                                            : "requirements";
  return object({{"verdict", json::quote(verdict)},
                 {"requirements", requirements},
                 {"refusals", refusals},
                 {"devices", std::to_string(sorted->size())}});
}

Status Workflow::approve(const AcceptedBundle& bundle, const std::string& caller,
                         const std::string& id, const std::string& protectedB64,
                         const std::string& signatureB64, const std::string& notes) {
  std::lock_guard<std::mutex> lock(changeMutexFor(id));
  auto loaded = load(id);
  if (!loaded) return loaded.status();
  const Loaded& l = loaded.value();
  const RequestRecord& r = l.request;
  const std::int64_t now = clock_();
  auto no = [&](const Status& why) { return refuse(caller, id, "approve", why.error()); };
  if (Status s = workflow::checkNotes(notes); !s) return no(s);
  if (r.state == state::kExpired)
    return no(Status::fail("request_expired", "request " + id + " has expired"));
  if (r.state != state::kNeedsApproval)
    return no(
        Status::fail("wrong_state", "request " + id + " is " + r.state + ", not needs_approval"));
  if (Status s = expireIfDue(r, now); !s) return no(s);
  if (static_cast<std::uint64_t>(r.bundleVersion) != bundle.bundle.version)
    return no(Status::fail("bundle_stale", "request " + id + " was made under bundle v" +
                                               std::to_string(r.bundleVersion) + "; v" +
                                               std::to_string(bundle.bundle.version) +
                                               " is in force"));
  if (l.isBundle()) return approveBundle(bundle, caller, l, protectedB64, signatureB64, notes);

  auto requirements = workflow::parseRequirements(r.requirementsJson);
  if (!requirements) return requirements.status();
  std::vector<std::string> approvers = workflow::approvers(l.signatures);
  if (Status s = mayApprove(bundle.bundle, r.requester, caller, approvers, requirements.value());
      !s)
    return no(s);
  auto token = parseToken(workflow::envelopeJson(r.payloadB64, l.signatures, {"requester"}));
  if (!token) return token.status();
  auto sig = checkAddedSignature(bundle.bundle, token.value(), SignerRole::kApprover, caller,
                                 protectedB64, signatureB64, 0, now, &verified_);
  if (!sig) return no(sig.status());
  auto kid = json::getString(*sig->header, "kid", "header");
  auto at = json::getInteger(*sig->header, "kt.at", "header");
  approvers.push_back(caller);
  bool done = requirementsMet(bundle.bundle, approvers, requirements.value()).isOk();
  SignatureRecord rec{id,
                      "approver",
                      caller,
                      kid.value(),
                      static_cast<std::int64_t>(at.value()),
                      sig->protectedB64,
                      sig->signatureB64,
                      notes};
  std::optional<std::string> next;
  if (done) next = state::kApproved;
  AuditEvent audit{
      caller, "request.approved", id,
      object({{"notes", json::quote(notes)},
              {"state", json::quote(done ? state::kApproved : state::kNeedsApproval)}})};
  Status s = mapStore(store_.addApproval(rec, state::kNeedsApproval, next,
                                        approvalEffects(l, caller, notes, done, audit)),
                      "already_approved");
  if (!s && s.reason() != "storage") return no(s);
  return s;
}

Status Workflow::reject(const AcceptedBundle& bundle, const std::string& caller,
                        const std::string& id, const std::string& notes) {
  std::lock_guard<std::mutex> lock(changeMutexFor(id));
  auto loaded = load(id);
  if (!loaded) return loaded.status();
  const Loaded& l = loaded.value();
  const RequestRecord& r = l.request;
  auto no = [&](const Status& why) { return refuse(caller, id, "reject", why.error()); };
  if (Status s = workflow::checkNotes(notes); !s) return no(s);
  if (r.state != state::kNeedsApproval)
    return no(Status::fail(r.state == state::kExpired ? "request_expired" : "wrong_state",
                           "request " + id + " is " + r.state + ", not needs_approval"));
  if (Status s = expireIfDue(r, clock_()); !s) return no(s);
  std::vector<Requirement> requirements;
  if (l.isBundle()) {
    requirements.push_back(Requirement{bundle.bundle.updateGroup, 1, "bundle update"});
  } else {
    auto parsed = workflow::parseRequirements(r.requirementsJson);
    if (!parsed) return parsed.status();
    requirements = std::move(parsed).value();
  }
  // Who may approve may reject: not the requester, not someone outside the
  // groups still needed, not someone who already approved.
  if (Status s = mayApprove(bundle.bundle, r.requester, caller, workflow::approvers(l.signatures),
                            requirements);
      !s)
    return no(s);
  RejectionRecord rec{id, caller, notes, clock_()};
  OptionalAudit audit =
      AuditEvent{caller, "request.rejected", id, object({{"notes", json::quote(notes)}})};
  if (options_.notifications) {
    RequestRecord after = r;
    after.state = state::kRejected;
    std::vector<std::string> devices;
    for (const auto& t : l.targets) devices.push_back(t.deviceId);
    audit.notifications.push_back(notify::makeEvent(
        id, notify::kRejected, "", {r.requester},
        notify::requestFacts(after, devices,
                             {{"by", json::quote(caller)}, {"notes", json::quote(notes)}}),
        rec.at));
  }
  Status s = mapStore(store_.addRejection(rec, state::kNeedsApproval, audit), "wrong_state");
  if (!s && s.reason() != "storage") return no(s);
  return s;
}

Status Workflow::complete(const AcceptedBundle& bundle, const std::string& caller,
                          const std::string& id, const std::string& protectedB64,
                          const std::string& signatureB64) {
  std::lock_guard<std::mutex> lock(changeMutexFor(id));
  auto loaded = load(id);
  if (!loaded) return loaded.status();
  const Loaded& l = loaded.value();
  const RequestRecord& r = l.request;
  auto no = [&](const Status& why) { return refuse(caller, id, "complete", why.error()); };
  if (caller != r.requester)
    return no(
        Status::fail("not_requester", "only the requester \"" + r.requester + "\" can complete"));
  if (r.state == state::kNeedsApproval)
    return no(Status::fail("not_approved", "request " + id + " still needs approval"));
  if (r.state == state::kExpired)
    return no(Status::fail("request_expired", "request " + id + " has expired"));
  if (r.state != state::kApproved)
    return no(Status::fail("wrong_state", "request " + id + " is " + r.state + ", not approved"));
  if (Status s = expireIfDue(r, clock_()); !s) return no(s);
  if (static_cast<std::uint64_t>(r.bundleVersion) != bundle.bundle.version)
    return no(Status::fail("bundle_stale", "request " + id + " was made under bundle v" +
                                               std::to_string(r.bundleVersion) + "; v" +
                                               std::to_string(bundle.bundle.version) +
                                               " is in force"));
  // Nothing is issued on the database's word alone: every stored signature again.
  if (Status s = recheckStored(bundle, l); !s)
    return no(Status::fail(s.reason(), "re-verified at completion: " + s.detail()));
  Status s = Status::ok();
  if (l.isBundle()) {
    std::lock_guard<std::mutex> publishing(publishMutex_);
    s = completeBundle(bundle, caller, l);
  } else {
    s = completeDevices(bundle, caller, l, protectedB64, signatureB64);
  }
  if (!s && s.reason() != "storage") return no(s);
  return s;
}

Status Workflow::completeDevices(const AcceptedBundle& bundle, const std::string& caller,
                                 const Loaded& l, const std::string& protectedB64,
                                 const std::string& signatureB64) {
  const RequestRecord& r = l.request;
  const std::int64_t now = clock_();
  // Re-check what the agent will: the approvals still meet the requirements.
  auto requirements = workflow::parseRequirements(r.requirementsJson);
  if (!requirements) return requirements.status();
  if (Status s =
          requirementsMet(bundle.bundle, workflow::approvers(l.signatures), requirements.value());
      !s)
    return s;
  auto token = parseToken(workflow::envelopeJson(r.payloadB64, l.signatures));
  if (!token) return token.status();
  auto sig = checkAddedSignature(
      bundle.bundle, token.value(), SignerRole::kCompleter, caller, protectedB64, signatureB64,
      static_cast<std::uint64_t>(workflow::latestApproval(l.signatures)), now);
  if (!sig) return sig.status();
  const std::string& issuerKid = issuer_.publicKey().kid();
  if (bundle.bundle.issuerKey(issuerKid) == nullptr)
    return Status::fail("issuer_not_trusted", "this coordinator's issuer key " + issuerKid +
                                                  " is not among the issuers of bundle v" +
                                                  std::to_string(bundle.bundle.version));
  // The signed order of the targets is the Merkle order: sort by the same rule.
  std::vector<std::string> ids;
  for (const auto& t : l.targets) ids.push_back(t.deviceId);
  auto sorted = canonicalTargets(ids);
  if (!sorted) return Status::fail("storage", "stored targets: " + sorted.detail());
  MerkleTree tree(sorted.value());
  if (toHex(tree.root()) != r.targetRoot)
    return Status::fail("storage", "stored targets do not hash to the request's root");

  JwsEnvelope base = token->envelope;
  base.signatures.push_back(sig.value());
  const auto nbf = static_cast<std::uint64_t>(now);
  const auto exp = nbf + static_cast<std::uint64_t>(options_.issueWindow);
  auto tokens = issueTokens(base, issuer_, issuerKid, sorted.value(), tree, nbf, exp);
  auto kid = json::getString(*sig->header, "kid", "header");
  auto at = json::getInteger(*sig->header, "kt.at", "header");
  SignatureRecord rec{r.id,
                      "completer",
                      caller,
                      kid.value(),
                      static_cast<std::int64_t>(at.value()),
                      sig->protectedB64,
                      sig->signatureB64,
                      ""};
  AuditEvent audit{caller, "request.completed", r.id,
                   object({{"issued", std::to_string(tokens.size())},
                           {"nbf", std::to_string(nbf)},
                           {"exp", std::to_string(exp)}})};
  return mapStore(store_.completeRequest(rec, tokens, audit), "wrong_state");
}

Status Workflow::cancel(const std::string& caller, const std::string& id) {
  std::lock_guard<std::mutex> lock(changeMutexFor(id));
  auto r = store_.getRequest(id);
  if (!r)
    return r.reason() == "not_found" ? Status::fail("not_found", "no request " + id) : r.status();
  auto no = [&](const Status& why) { return refuse(caller, id, "cancel", why.error()); };
  if (caller != r->requester)
    return no(
        Status::fail("not_requester", "only the requester \"" + r->requester + "\" can cancel"));
  if (r->state != state::kNeedsApproval && r->state != state::kApproved)
    return no(Status::fail("wrong_state", "request " + id + " is " + r->state +
                                              "; only a pending request can be cancelled"));
  Status s = mapStore(store_.setState(id, r->state, state::kCancelled, clock_(),
                                      AuditEvent{caller, "request.cancelled", id, "{}"}),
                      "wrong_state");
  if (!s && s.reason() != "storage") return no(s);
  return s;
}

Store::ExpiryEvents Workflow::expiryEvents() const {
  if (!options_.notifications) return nullptr;
  // The requester hears of it in the expiry's own transaction (the notification sweep
  // only catches up on expiries made without this, e.g. by an older build).
  return [](const RequestRecord& r) {
    RequestRecord after = r;
    after.state = state::kExpired;
    return std::vector<NotificationEvent>{notify::makeEvent(
        r.id, notify::kExpired, "", {r.requester}, notify::requestFacts(after, {}), r.expires)};
  };
}

Result<std::size_t> Workflow::expireDue() {
  auto expired = store_.expireDue(clock_(), expiryEvents());
  if (!expired) return expired.error();
  return expired->size();
}

}  // namespace keyturn::server
