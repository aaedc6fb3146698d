// Notification events: recipients, facts, and the sweep of time-driven events.
#include "service/notifications.h"

#include <algorithm>
#include <map>

#include "keyturn/approval_rules.h"
#include "keyturn/json.h"
#include "service/workflow.h"
#include "service/workflow_internal.h"

namespace keyturn::server {
namespace notify {

using workflow::object;

namespace {

std::string array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + json::quote(items[i]);
  return out + "]";
}

}  // namespace

std::vector<std::string> groupMembers(const TrustBundle& bundle, const std::string& group,
                                      const std::string& except) {
  std::vector<std::string> out;
  for (const auto& p : bundle.principals)
    if (p.id != except && p.inGroup(group)) out.push_back(p.id);
  return out;
}

std::vector<std::string> approversNow(const TrustBundle& bundle, const RequestRecord& r,
                                      const std::vector<SignatureRecord>& signatures) {
  std::vector<std::string> signedBy = workflow::approvers(signatures);
  std::vector<std::string> out;
  if (r.action == kBundleUpdateAction) {
    for (const auto& p : groupMembers(bundle, bundle.updateGroup, r.requester))
      if (std::find(signedBy.begin(), signedBy.end(), p) == signedBy.end()) out.push_back(p);
    return out;
  }
  auto requirements = workflow::parseRequirements(r.requirementsJson);
  if (!requirements) return out;
  for (const auto& p : bundle.principals)
    if (mayApprove(bundle, r.requester, p.id, signedBy, requirements.value()).isOk())
      out.push_back(p.id);
  return out;
}

std::string requestFacts(const RequestRecord& r, const std::vector<std::string>& deviceIds,
                         const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::string> named(
      deviceIds.begin(), deviceIds.begin() + static_cast<std::ptrdiff_t>(
                                                 std::min(deviceIds.size(), kMaxDevicesNamed)));
  std::vector<std::pair<std::string, std::string>> members = {
      {"request", json::quote(r.id)},
      {"action", json::quote(r.action)},
      {"requester", json::quote(r.requester)},
      {"justification", json::quote(r.justification)},
      {"state", json::quote(r.state)},
      {"expires", std::to_string(r.expires)},
      {"targets", std::to_string(r.targetCount)},
      {"devices", array(named)}};
  members.insert(members.end(), extra.begin(), extra.end());
  return object(members);
}

NotificationEvent makeEvent(const std::string& subject, const std::string& kind,
                            const std::string& discriminator,
                            const std::vector<std::string>& recipients,
                            const std::string& bodyJson, std::int64_t at) {
  NotificationEvent e;
  e.id = subject + ":" + kind + (discriminator.empty() ? "" : ":" + discriminator);
  e.kind = kind;
  e.subject = subject;
  e.recipientsJson = array(recipients);
  e.bodyJson = bodyJson;
  e.createdAt = at;
  return e;
}

}  // namespace notify

namespace {

constexpr std::int64_t kSweepLimit = 500;      // rows per query per sweep
constexpr std::int64_t kPendingLimit = 10000;  // pending requests examined for reminders

std::vector<std::string> deviceIdsOf(Store& store, const std::string& id) {
  std::vector<std::string> out;
  auto targets = store.targets(id);
  if (targets)
    for (const auto& t : targets.value()) out.push_back(t.deviceId);
  return out;
}

// "in 7 days", "in 23 hours": how long before something happens, for a message.
std::string remainingText(std::int64_t seconds) {
  if (seconds >= 2 * 86400) return std::to_string(seconds / 86400) + " days";
  if (seconds >= 2 * 3600) return std::to_string(seconds / 3600) + " hours";
  return std::to_string(std::max<std::int64_t>(1, seconds / 60)) + " minutes";
}

}  // namespace

Result<std::int64_t> NotificationSweep::run(const AcceptedBundle& bundle, std::int64_t now) {
  std::int64_t added = 0;
  for (auto step : {&NotificationSweep::expired, &NotificationSweep::results}) {
    auto n = (this->*step)(now);
    if (!n) return n;
    added += n.value();
  }
  for (auto step : {&NotificationSweep::reminders, &NotificationSweep::bundleExpiry}) {
    auto n = (this->*step)(bundle, now);
    if (!n) return n;
    added += n.value();
  }
  return added;
}

Result<std::int64_t> NotificationSweep::reminders(const AcceptedBundle& bundle, std::int64_t now) {
  // Every due reminder of this sweep in one write (those already sent are skipped by id).
  std::vector<NotificationEvent> events;
  for (const char* st : {state::kNeedsApproval, state::kApproved}) {
    RequestFilter f;
    f.state = st;
    f.limit = kPendingLimit;
    auto pending = store_.listRequests(f);
    if (!pending) return pending.error();
    for (const auto& r : pending.value()) {
      for (std::int64_t before : options_.reminders) {
        const std::int64_t at = r.expires - before;
        // Due, not yet expired, and the request existed before the reminder point (a
        // request made with 2 days to live gets no "7 days left" reminder).
        if (now < at || now >= r.expires || r.created >= at) continue;
        std::vector<std::string> to;
        std::string role;
        if (r.state == state::kNeedsApproval) {
          auto sigs = store_.signatures(r.id);
          if (!sigs) return sigs.error();
          to = notify::approversNow(bundle.bundle, r, sigs.value());
          role = "approver";
        } else {
          to = {r.requester};
          role = "requester";
        }
        if (to.empty()) continue;
        events.push_back(notify::makeEvent(
            r.id, notify::kReminder, std::to_string(before), to,
            notify::requestFacts(r, deviceIdsOf(store_, r.id),
                                 {{"remaining", json::quote(remainingText(r.expires - now))},
                                  {"for", json::quote(role)}}),
            now));
      }
    }
  }
  return store_.insertNotifications(events);
}

Result<std::int64_t> NotificationSweep::expired(std::int64_t now) {
  auto list = store_.requestsWithoutEvent(state::kExpired, notify::kExpired,
                                          now - options_.catchUp, false, kSweepLimit);
  if (!list) return list.error();
  std::vector<NotificationEvent> events;
  for (const auto& r : list.value())
    events.push_back(notify::makeEvent(r.id, notify::kExpired, "", {r.requester},
                                       notify::requestFacts(r, deviceIdsOf(store_, r.id)), now));
  return store_.insertNotifications(events);
}

Result<std::int64_t> NotificationSweep::results(std::int64_t now) {
  // Due when every device reported, or when the tokens expired: a device that never
  // reports does not hold the message back past the moment it could still run.
  const std::int64_t tokensDead = now - options_.tokenLifetime;
  auto list = store_.completedWithoutResults(notify::kResults, tokensDead - options_.catchUp,
                                             tokensDead, kSweepLimit);
  if (!list) return list.error();
  std::vector<NotificationEvent> events;
  for (const auto& r : list.value()) {
    auto targets = store_.targets(r.id);
    if (!targets) return targets.error();
    std::map<std::string, std::int64_t> counts;
    std::vector<std::string> ids, failed;
    std::int64_t unreported = 0;
    for (const auto& t : targets.value()) {
      ids.push_back(t.deviceId);
      const bool silent = t.state == state::kQueued || t.state == state::kDelivered;
      unreported += silent ? 1 : 0;
      ++counts[silent ? "no report" : t.state];
      if (t.state == state::kSucceeded) continue;
      // Exit codes only: a device's output may hold anything and is not repeated.
      std::string entry = t.deviceId + " (" + (silent ? "no report, token " + t.state : t.state);
      if (t.resultJson)
        if (auto o = json::parseObject(*t.resultJson); o && o.value()->has("exit_code"))
          entry += ", exit " + o.value()->get("exit_code").toString();
      entry += ")";
      if (failed.size() < notify::kMaxDevicesNamed) failed.push_back(entry);
    }
    std::vector<std::pair<std::string, std::string>> byState;
    for (const auto& [k, v] : counts) byState.push_back({k, std::to_string(v)});
    std::string failedJson = "[";
    for (std::size_t i = 0; i < failed.size(); ++i)
      failedJson += (i ? "," : "") + json::quote(failed[i]);
    failedJson += "]";
    const std::int64_t failures = r.targetCount - (counts.count(state::kSucceeded)
                                                        ? counts[state::kSucceeded]
                                                        : 0);
    events.push_back(notify::makeEvent(
        r.id, notify::kResults, "", {r.requester},
        notify::requestFacts(r, ids,
                             {{"results", workflow::object(byState)},
                              {"failures", std::to_string(failures)},
                              {"unreported", std::to_string(unreported)},
                              {"failed_devices", failedJson}}),
        now));
  }
  return store_.insertNotifications(events);
}

Result<std::int64_t> NotificationSweep::bundleExpiry(const AcceptedBundle& bundle,
                                                     std::int64_t now) {
  const TrustBundle& b = bundle.bundle;
  const auto expires = static_cast<std::int64_t>(b.expires);
  const auto issued = static_cast<std::int64_t>(b.issued);
  std::vector<NotificationEvent> events;
  for (std::int64_t before : options_.bundleWarnings) {
    const std::int64_t at = expires - before;
    if (now < at || now >= expires || issued >= at) continue;
    const std::string subject = "bundle-v" + std::to_string(b.version);
    events.push_back(notify::makeEvent(
        subject, notify::kBundleExpiring, std::to_string(before),
        notify::groupMembers(b, b.updateGroup),
        workflow::object({{"bundle_version", std::to_string(b.version)},
                          {"expires", std::to_string(expires)},
                          {"remaining", json::quote(remainingText(expires - now))}}),
        now));
  }
  return store_.insertNotifications(events);
}

}  // namespace keyturn::server
