// Workflow: what admins see — one request in full, and the listings with tab
// counts.
#include <algorithm>
#include <functional>
#include <optional>

#include "keyturn/approval_rules.h"
#include "keyturn/bundle_report.h"
#include "keyturn/json.h"
#include "keyturn/token.h"
#include "service/workflow.h"
#include "service/workflow_internal.h"

namespace keyturn::server {

using workflow::object;

namespace {

std::string num(std::int64_t v) { return std::to_string(v); }
std::string q(const std::string& s) { return json::quote(s); }

// A listing cursor: "<created>.<id>" of the last request of a page (ids hold no
// other separator that matters: the first '.' ends the number).
std::string cursorOf(const RequestRecord& r) { return num(r.created) + "." + r.id; }

using Cursor = std::optional<std::pair<std::int64_t, std::string>>;

Result<Cursor> parseCursor(const std::string& c) {
  using R = Result<Cursor>;
  if (c.empty()) return Cursor();
  const auto dot = c.find('.');
  const std::string digits = c.substr(0, dot);
  if (dot == std::string::npos || digits.empty() || digits.size() > 18 ||
      digits.find_first_not_of("0123456789") != std::string::npos ||
      !validRequestId(c.substr(dot + 1)))
    return R::fail("malformed", "cursor is not one a listing returned as next: " + c);
  return Cursor(std::make_pair(static_cast<std::int64_t>(std::stoll(digits)), c.substr(dot + 1)));
}

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
  return list(bundle, caller, view, ListFilter{stateFilter, actionFilter, "", "", kDefaultListPage, ""});
}

Result<std::string> Workflow::list(const AcceptedBundle& bundle, const std::string& caller,
                                   RequestView view, const ListFilter& filter) {
  using R = Result<std::string>;
  const bool readAll = bundle.bundle.hasRole(caller, "requests.read_all");
  if (view == RequestView::kAll && !readAll)
    return R::fail("forbidden", caller + " has no role granting requests.read_all");
  if (filter.limit < 1 || filter.limit > kMaxListPage)
    return R::fail("malformed", "limit must be between 1 and " + num(kMaxListPage));
  auto after = parseCursor(filter.cursor);
  if (!after) return after.error();
  auto opt = [](const std::string& s) {
    return s.empty() ? std::nullopt : std::optional<std::string>(s);
  };
  // Every filter but the tab's own, in SQL.
  RequestFilter base;
  base.requester = opt(filter.requester);
  base.state = opt(filter.state);
  base.action = opt(filter.action);
  base.device = opt(filter.device);
  RequestFilter mine = base;
  // My requests filtered by another requester are none.
  const bool mineEmpty = !filter.requester.empty() && filter.requester != caller;
  mine.requester = caller;

  // Received: needs_approval requests the caller may approve now. Which ones is
  // decided here (core's mayApprove), so the store is read in pages until the
  // page is full; `visit` sees each, newest first, from `from`.
  RequestFilter pending = base;
  pending.state = std::string(state::kNeedsApproval);
  const bool receivedEmpty = !filter.state.empty() && filter.state != state::kNeedsApproval;
  // The signatures of a page of requests, in one read.
  auto signaturesOf = [&](const std::vector<RequestRecord>& rows) {
    std::vector<std::string> ids;
    ids.reserve(rows.size());
    for (const auto& r : rows) ids.push_back(r.id);
    return store_.signaturesOf(ids);
  };
  auto scanReceived = [&](Cursor from,
                          const std::function<bool(const RequestRecord&,
                                                   std::vector<SignatureRecord>&)>& visit) -> Status {
    if (receivedEmpty) return Status::ok();
    RequestFilter f = pending;
    f.after = std::move(from);
    f.limit = kMaxListPage;
    for (;;) {
      auto page = store_.listRequests(f);
      if (!page) return page.status();
      auto sigs = signaturesOf(page.value());
      if (!sigs) return sigs.status();
      for (const auto& r : page.value()) {
        auto& mine = sigs.value()[r.id];
        if (canApproveNow(bundle.bundle, r, mine, caller) && !visit(r, mine)) return Status::ok();
      }
      if (static_cast<std::int64_t>(page->size()) < f.limit) return Status::ok();
      f.after = std::make_pair(page->back().created, page->back().id);
    }
  };

  // Counts over everything that matches.
  std::int64_t mineCount = 0, receivedCount = 0;
  if (!mineEmpty) {
    auto n = store_.countRequests(mine);
    if (!n) return n.error();
    mineCount = n.value();
  }
  if (Status s = scanReceived(std::nullopt,
                              [&](const RequestRecord&, std::vector<SignatureRecord>&) {
                                ++receivedCount;
                                return true;
                              });
      !s)
    return s.error();
  std::string allCount = "null";
  if (readAll) {
    auto n = store_.countRequests(base);
    if (!n) return n.error();
    allCount = num(n.value());
  }

  // The page: one more than asked tells whether another follows.
  std::vector<std::pair<RequestRecord, std::vector<SignatureRecord>>> page;
  const auto want = static_cast<std::size_t>(filter.limit) + 1;
  if (view == RequestView::kReceived) {
    if (Status s = scanReceived(after.value(),
                                [&](const RequestRecord& r, std::vector<SignatureRecord>& sigs) {
                                  page.emplace_back(r, std::move(sigs));
                                  return page.size() < want;
                                });
        !s)
      return s.error();
  } else if (view == RequestView::kAll || !mineEmpty) {
    RequestFilter f = view == RequestView::kAll ? base : mine;
    f.after = after.value();
    f.limit = static_cast<std::int64_t>(want);
    auto rows = store_.listRequests(f);
    if (!rows) return rows.error();
    auto sigs = signaturesOf(rows.value());
    if (!sigs) return sigs.error();
    for (auto& r : rows.value()) {
      auto& mine = sigs.value()[r.id];
      page.emplace_back(std::move(r), std::move(mine));
    }
  }
  std::string next = "null";
  if (page.size() == want) {
    page.pop_back();
    next = q(cursorOf(page.back().first));
  }
  std::string items = "[";
  for (const auto& [r, sigs] : page) {
    if (items.size() > 1) items += ",";
    items += summaryJson(bundle.bundle, r, sigs);
  }
  items += "]";
  std::string counts = object(
      {{"mine", num(mineCount)}, {"received", num(receivedCount)}, {"all", allCount}});
  return object({{"requests", items}, {"counts", counts}, {"next", next}});
}

}  // namespace keyturn::server
