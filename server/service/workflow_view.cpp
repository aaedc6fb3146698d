// Workflow: what admins see — one request in full, and the listings with tab
// counts.
#include <algorithm>

#include "keyturn/approval_rules.h"
#include "keyturn/bundle_report.h"
#include "keyturn/json.h"
#include "service/workflow.h"
#include "service/workflow_internal.h"

namespace keyturn::server {

using workflow::object;

namespace {

constexpr std::int64_t kListLimit = 10000;

std::string num(std::int64_t v) { return std::to_string(v); }
std::string q(const std::string& s) { return json::quote(s); }

std::string progressJson(const TrustBundle& bundle, const RequestRecord& r,
                         const std::vector<SignatureRecord>& signatures) {
  auto requirements = workflow::parseRequirements(r.requirementsJson);
  if (!requirements) return "[]";
  std::string out = "[";
  for (const auto& p :
       requirementProgress(bundle, workflow::approvers(signatures), requirements.value())) {
    if (out.size() > 1) out += ",";
    out += object({{"group", q(p.requirement.group)},
                   {"approvals", std::to_string(p.requirement.approvals)},
                   {"have", std::to_string(p.have)},
                   {"met", p.met() ? "true" : "false"},
                   {"policy", q(p.requirement.policy)}});
  }
  return out + "]";
}

std::string summaryJson(const TrustBundle& bundle, const RequestRecord& r,
                        const std::vector<SignatureRecord>& signatures) {
  return object({{"id", q(r.id)},
                 {"state", q(r.state)},
                 {"action", q(r.action)},
                 {"requester", q(r.requester)},
                 {"justification", q(r.justification)},
                 {"created", num(r.created)},
                 {"expires", num(r.expires)},
                 {"bundle", num(r.bundleVersion)},
                 {"target_count", num(r.targetCount)},
                 {"requirements", progressJson(bundle, r, signatures)}});
}

// Whether `caller` could approve `r` now (the "received" tab).
// The report approvers read before signing a proposal: the same one `keyturn bundle
// propose` prints (keyturn/bundle_report.h), with the examples configured on the
// coordinator (keyturn.policy.examples). Null when it cannot be built; the structured
// `diff` is still there.
std::string proposalReport(const TrustBundle& current, const std::string& proposedText,
                           const std::string& examplesDir) {
  auto report = policykit::bundleChangeReport(current.envelope.serialize(), "the bundle in force",
                                              proposedText, "the proposal", examplesDir);
  return report ? policykit::reportJson(report.value()) : "null";
}

bool canApproveNow(const TrustBundle& bundle, const RequestRecord& r,
                   const std::vector<SignatureRecord>& signatures, const std::string& caller) {
  if (r.state != state::kNeedsApproval) return false;
  auto approvers = workflow::approvers(signatures);
  if (r.action == kBundleUpdateAction) {
    const BundlePrincipal* p = bundle.principalById(caller);
    return caller != r.requester && p && p->inGroup(bundle.updateGroup) &&
           std::find(approvers.begin(), approvers.end(), caller) == approvers.end();
  }
  auto requirements = workflow::parseRequirements(r.requirementsJson);
  return requirements &&
         mayApprove(bundle, r.requester, caller, approvers, requirements.value()).isOk();
}

// Why `caller` may not approve `r` now (null when they may), for the console
// to show beside a disabled Approve: the same rules approve() applies, in its
// order (state, bundle in force, then mayApprove / the update group).
std::string approveRefusalJson(const TrustBundle& bundle, const RequestRecord& r,
                               const std::vector<SignatureRecord>& signatures,
                               const std::string& caller) {
  auto refusal = [](const std::string& reason, const std::string& detail) {
    return object({{"reason", q(reason)}, {"detail", q(detail)}});
  };
  if (r.state == state::kExpired) return refusal("request_expired", "the request has expired");
  if (r.state != state::kNeedsApproval)
    return refusal("wrong_state", "the request is " + r.state + ", not needs_approval");
  if (static_cast<std::uint64_t>(r.bundleVersion) != bundle.version)
    return refusal("bundle_stale", "the request was made under bundle v" +
                                       num(r.bundleVersion) + "; v" +
                                       std::to_string(bundle.version) + " is in force");
  auto approvers = workflow::approvers(signatures);
  if (r.action == kBundleUpdateAction) {
    if (caller == r.requester)
      return refusal("self_approval", "the requester cannot approve their own proposal");
    if (std::find(approvers.begin(), approvers.end(), caller) != approvers.end())
      return refusal("already_approved", "you already approved this proposal");
    const BundlePrincipal* p = bundle.principalById(caller);
    if (!p || !p->inGroup(bundle.updateGroup))
      return refusal("not_an_approver", "bundle changes are approved by members of " +
                                            bundle.updateGroup);
    return "null";
  }
  auto requirements = workflow::parseRequirements(r.requirementsJson);
  if (!requirements) return refusal("storage", requirements.detail());
  Status s = mayApprove(bundle, r.requester, caller, approvers, requirements.value());
  return s ? "null" : refusal(s.reason(), s.detail());
}

}  // namespace

bool Workflow::mayView(const AcceptedBundle& bundle, const std::string& caller,
                       const Loaded& l) const {
  if (caller == l.request.requester || bundle.bundle.hasRole(caller, "requests.read_all"))
    return true;
  for (const auto& s : l.signatures)
    if (s.principal == caller) return true;
  for (const auto& x : l.rejections)
    if (x.principal == caller) return true;
  return canApproveNow(bundle.bundle, l.request, l.signatures, caller);
}

Result<std::string> Workflow::show(const AcceptedBundle& bundle, const std::string& caller,
                                   const std::string& id) {
  using R = Result<std::string>;
  auto loaded = load(id);
  if (!loaded) return loaded.error();
  const Loaded& l = loaded.value();
  const RequestRecord& r = l.request;
  // Someone who may not see it learns nothing, not even that it exists.
  if (!mayView(bundle, caller, l)) return R::fail("not_found", "no request " + id);

  std::string targets = "[";
  for (const auto& t : l.targets) {
    if (targets.size() > 1) targets += ",";
    targets += object({{"device", q(t.deviceId)},
                       {"index", num(t.idx)},
                       {"state", q(t.state)},
                       {"result", t.resultJson ? *t.resultJson : "null"},
                       {"updated", num(t.updated)}});
  }
  targets += "]";
  std::string approvals = "[", timeline = "[";
  auto event = [&](std::int64_t at, const std::string& what, const std::string& actor,
                   const std::string& notes) {
    if (timeline.size() > 1) timeline += ",";
    timeline +=
        object({{"at", num(at)}, {"event", q(what)}, {"actor", q(actor)}, {"notes", q(notes)}});
  };
  for (const auto& s : l.signatures) {
    if (s.role == "approver") {
      if (approvals.size() > 1) approvals += ",";
      approvals += object({{"principal", q(s.principal)},
                           {"notes", q(s.notes)},
                           {"at", num(s.at)},
                           {"kid", q(s.kid)}});
    }
    event(s.at,
          s.role == "requester"  ? "submitted"
          : s.role == "approver" ? "approved"
                                 : "completed",
          s.principal, s.notes);
  }
  approvals += "]";
  std::string rejections = "[";
  for (const auto& x : l.rejections) {
    if (rejections.size() > 1) rejections += ",";
    rejections += object({{"principal", q(x.principal)}, {"notes", q(x.notes)}, {"at", num(x.at)}});
    event(x.at, "rejected", x.principal, x.notes);
  }
  rejections += "]";
  if (r.state == state::kCancelled) event(r.updated, "cancelled", r.requester, "");
  if (r.state == state::kExpired) event(r.updated, "expired", "coordinator", "");
  timeline += "]";

  std::vector<std::pair<std::string, std::string>> members{
      {"id", q(r.id)},
      {"state", q(r.state)},
      {"action", q(r.action)},
      {"params", r.paramsJson.empty() ? "{}" : r.paramsJson},
      {"requester", q(r.requester)},
      {"justification", q(r.justification)},
      {"created", num(r.created)},
      {"expires", num(r.expires)},
      {"bundle", num(r.bundleVersion)},
      {"target_count", num(r.targetCount)},
      {"target_root", q(r.targetRoot)},
      {"targets", targets},
      {"requirements", progressJson(bundle.bundle, r, l.signatures)},
      {"approvals", approvals},
      {"rejections", rejections},
      {"timeline", timeline},
      {"can_approve", canApproveNow(bundle.bundle, r, l.signatures, caller) ? "true" : "false"},
      {"approve_refusal", approveRefusalJson(bundle.bundle, r, l.signatures, caller)},
      {"payload", q(r.payloadB64)},
      {"jws",
       workflow::envelopeJson(r.payloadB64, l.signatures,
                              l.isBundle() ? std::vector<std::string>{"requester", "approver"}
                                           : std::vector<std::string>{})}};
  // The diff is against the bundle in force, so it is shown only while that is
  // the bundle the proposal follows (null once published or overtaken).
  if (l.isBundle() && static_cast<std::uint64_t>(r.bundleVersion) != bundle.bundle.version) {
    members.emplace_back("diff", "null");
  } else if (l.isBundle()) {
    auto proposed =
        TrustBundle::parse(workflow::envelopeJson(r.payloadB64, l.signatures, {"requester"}));
    members.emplace_back(
        "diff", proposed ? workflow::bundleDiffJson(bundle.bundle, proposed.value()) : "null");
    members.emplace_back("report", proposalReport(bundle.bundle,
                                                  workflow::envelopeJson(r.payloadB64, l.signatures, {"requester"}),
                                                  options_.policyExamplesDir));
  }
  return object(members);
}

Result<std::string> Workflow::list(const AcceptedBundle& bundle, const std::string& caller,
                                   RequestView view, const std::string& stateFilter,
                                   const std::string& actionFilter) {
  return list(bundle, caller, view, ListFilter{stateFilter, actionFilter, "", ""});
}

Result<std::string> Workflow::list(const AcceptedBundle& bundle, const std::string& caller,
                                   RequestView view, const ListFilter& filter) {
  using R = Result<std::string>;
  const std::string& stateFilter = filter.state;
  const std::string& actionFilter = filter.action;
  const bool readAll = bundle.bundle.hasRole(caller, "requests.read_all");
  if (view == RequestView::kAll && !readAll)
    return R::fail("forbidden", caller + " has no role granting requests.read_all");
  auto fetch = [&](std::optional<std::string> requester, std::optional<std::string> st) {
    RequestFilter f;
    f.requester = std::move(requester);
    f.state = std::move(st);
    if (!actionFilter.empty()) f.action = actionFilter;
    f.limit = kListLimit;
    return store_.listRequests(f);
  };
  auto opt = [](const std::string& s) {
    return s.empty() ? std::nullopt : std::optional<std::string>(s);
  };
  auto mine = fetch(caller, opt(stateFilter));
  if (!mine) return mine.error();
  auto pending = fetch(std::nullopt, std::string(state::kNeedsApproval));
  if (!pending) return pending.error();
  std::vector<std::pair<RequestRecord, std::vector<SignatureRecord>>> received;
  for (const auto& r : pending.value()) {
    auto sigs = store_.signatures(r.id);
    if (!sigs) return sigs.error();
    if (canApproveNow(bundle.bundle, r, sigs.value(), caller))
      received.emplace_back(r, std::move(sigs).value());
  }
  std::optional<std::vector<RequestRecord>> all;
  if (readAll) {
    auto a = fetch(std::nullopt, opt(stateFilter));
    if (!a) return a.error();
    all = std::move(a).value();
  }
  // Requester and device filters narrow every tab alike (the console's
  // filters); a device filter reads each remaining request's targets.
  Status failed = Status::ok();
  auto drop = [&](const RequestRecord& r) {
    if (!filter.requester.empty() && r.requester != filter.requester) return true;
    if (filter.device.empty()) return false;
    auto targets = store_.targets(r.id);
    if (!targets) {
      failed = targets.status();
      return true;
    }
    for (const auto& t : targets.value())
      if (t.deviceId == filter.device) return false;
    return true;
  };
  if (!filter.requester.empty() || !filter.device.empty()) {
    auto narrow = [&](std::vector<RequestRecord>& v) {
      v.erase(std::remove_if(v.begin(), v.end(), drop), v.end());
    };
    narrow(mine.value());
    if (all) narrow(*all);
    received.erase(std::remove_if(received.begin(), received.end(),
                                  [&](const auto& p) { return drop(p.first); }),
                   received.end());
    if (!failed) return failed.error();
  }
  std::string items = "[";
  auto add = [&](const RequestRecord& r, const std::vector<SignatureRecord>* known) -> Status {
    std::vector<SignatureRecord> sigs;
    if (known) {
      sigs = *known;
    } else {
      auto s = store_.signatures(r.id);
      if (!s) return s.status();
      sigs = std::move(s).value();
    }
    if (items.size() > 1) items += ",";
    items += summaryJson(bundle.bundle, r, sigs);
    return Status::ok();
  };
  if (view == RequestView::kMine) {
    for (const auto& r : mine.value())
      if (Status s = add(r, nullptr); !s) return s.error();
  } else if (view == RequestView::kReceived) {
    // Received requests are always needs_approval; another state filter empties
    // the tab.
    if (stateFilter.empty() || stateFilter == state::kNeedsApproval)
      for (const auto& [r, sigs] : received)
        if (Status s = add(r, &sigs); !s) return s.error();
  } else {
    for (const auto& r : *all)
      if (Status s = add(r, nullptr); !s) return s.error();
  }
  items += "]";
  std::string counts = object({{"mine", std::to_string(mine->size())},
                               {"received", std::to_string(received.size())},
                               {"all", all ? std::to_string(all->size()) : "null"}});
  return object({{"requests", items}, {"counts", counts}});
}

}  // namespace keyturn::server
