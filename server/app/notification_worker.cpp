#include "app/notification_worker.h"

#include <Poco/JSON/Array.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "keyturn/crypto_util.h"
#include "keyturn/json.h"

namespace keyturn::server {
namespace {

constexpr std::int64_t kBatch = 100;  // events fanned out / deliveries sent per pass
constexpr std::size_t kOutcomeBatch = 20;  // send outcomes written per transaction
constexpr std::int64_t kPruneInterval = 3600;  // retention runs hourly (and at start)
constexpr std::int64_t kPruneBatch = 1000;     // rows per prune transaction

NotificationOptions sweepOptions(const NotificationConfig& c) {
  NotificationOptions o;
  o.enabled = c.enabled;
  o.reminders = c.reminders;
  o.bundleWarnings = c.bundleWarnings;
  o.tokenLifetime = c.tokenLifetime;
  return o;
}

std::vector<std::string> recipientsOf(const NotificationEvent& e) {
  std::vector<std::string> out;
  auto v = json::parse(e.recipientsJson);
  if (!v || !v.value().isArray()) return out;
  auto a = v.value().extract<Poco::JSON::Array::Ptr>();
  for (std::size_t i = 0; i < a->size(); ++i) out.push_back(a->get(static_cast<unsigned>(i)).toString());
  return out;
}

std::string auditDetail(const NotificationDelivery& d, bool final) {
  return "{\"channel\":" + json::quote(d.channel) + ",\"recipient\":" + json::quote(d.recipient) +
         ",\"attempt\":" + std::to_string(d.attempts) + ",\"error\":" + json::quote(d.lastError) +
         ",\"final\":" + (final ? "true" : "false") + "}";
}

}  // namespace

NotificationWorker::NotificationWorker(Store& store, BundleState& bundle, LogSink& log,
                                       NotificationConfig config,
                                       std::unique_ptr<NotificationSender> sender, Clock clock)
    : store_(store),
      bundle_(bundle),
      log_(log),
      config_(std::move(config)),
      sender_(std::move(sender)),
      clock_(std::move(clock)),
      sweep_(store, sweepOptions(config_)) {}

NotificationWorker::~NotificationWorker() { stop(); }

void NotificationWorker::start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] {
    for (;;) {
      if (Status s = runOnce(); !s)
        log_.warn("notification pass failed",
                  {LogField::str("reason", s.reason()), LogField::str("detail", s.detail())});
      std::unique_lock<std::mutex> lock(mutex_);
      // A full batch means more is waiting: go on at once instead of a second later.
      if (!busy_) wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_ || woken_; });
      woken_ = false;
      if (stopping_) return;
    }
  });
}

void NotificationWorker::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void NotificationWorker::wake() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    woken_ = true;
  }
  wake_.notify_all();
}

std::string NotificationWorker::idempotencyKey(const std::string& eventId,
                                               const std::string& recipient,
                                               const std::string& channel) {
  // Length-prefixed, so no two different triples give the same input.
  std::string input;
  for (const auto* part : {&eventId, &recipient, &channel})
    input += std::to_string(part->size()) + ":" + *part + ";";
  return toHex(sha256(input));
}

std::int64_t NotificationWorker::releaseTime(const RecipientOptions* o, std::int64_t t) {
  if (o == nullptr) return t;
  if (o->digest) t = (t / 3600 + 1) * 3600;
  if (!o->quietHours) return t;
  const auto [from, to] = *o->quietHours;
  const std::int64_t day = t - t % 86400;
  const int hour = static_cast<int>((t % 86400) / 3600);
  const bool quiet = from < to ? (hour >= from && hour < to) : (hour >= from || hour < to);
  if (!quiet) return t;
  std::int64_t end = day + static_cast<std::int64_t>(to) * 3600;
  if (end <= t) end += 86400;
  return end;
}

Status NotificationWorker::runOnce() {
  busy_ = false;
  const std::int64_t now = clock_();
  if (now - lastSweep_ >= config_.sweepSeconds) {
    lastSweep_ = now;
    auto bundle = bundle_.current(now);
    if (bundle) {
      auto n = sweep_.run(*bundle.value(), now);
      if (!n) return n.status();
    }
  }
  if (Status s = fanOutPending(now); !s) return s;
  if (Status s = sendDue(now); !s) return s;
  return pruneIfDue(now);
}

Status NotificationWorker::pruneIfDue(std::int64_t now) {
  if (lastPrune_ != 0 && now - lastPrune_ < kPruneInterval) return Status::ok();
  lastPrune_ = now;
  std::int64_t deliveries = 0, events = 0;
  // Short transactions, so a large backlog never holds the store for long.
  for (;;) {
    auto n = store_.pruneOutbox(now - config_.retentionSeconds,
                                now - config_.failedRetentionSeconds, kPruneBatch);
    if (!n) return n.status();
    deliveries += n->first;
    events += n->second;
    if (n->first < kPruneBatch && n->second < kPruneBatch) break;
  }
  if (deliveries + events > 0)
    log_.info("notification outbox pruned", {LogField::num("deliveries", deliveries),
                                              LogField::num("events_emptied", events)});
  return Status::ok();
}

Status NotificationWorker::fanOutPending(std::int64_t now) {
  auto events = store_.eventsToFanOut(kBatch);
  if (!events) return events.status();
  if (static_cast<std::int64_t>(events->size()) == kBatch) busy_ = true;
  auto bundle = bundle_.current(now);
  Store::FanOutBatch batch;
  for (const auto& e : events.value()) {
    std::vector<NotificationDelivery> deliveries;
    std::set<std::string> keys;
    for (const auto& who : recipientsOf(e)) {
      std::vector<std::string> groups;
      if (bundle)
        if (const BundlePrincipal* p = bundle.value()->bundle.principalById(who)) groups = p->groups;
      for (const auto& name : config_.channelsFor(who, groups)) {
        const ChannelConfig& ch = config_.channels.at(name);
        const std::string recipient = ch.shared() ? "*" : who;
        NotificationDelivery d;
        d.idempotencyKey = idempotencyKey(e.id, recipient, name);
        if (!keys.insert(d.idempotencyKey).second) continue;
        d.eventId = e.id;
        d.recipient = recipient;
        d.channel = name;
        d.nextAttempt = ch.shared() ? now : releaseTime(config_.recipient(who), now);
        d.updated = now;
        deliveries.push_back(std::move(d));
      }
    }
    batch.emplace_back(e.id, std::move(deliveries));
  }
  return store_.fanOut(batch);  // one transaction for the whole batch
}

Status NotificationWorker::sendDue(std::int64_t now) {
  auto due = store_.dueDeliveries(now, kBatch);
  if (!due) return due.status();
  if (static_cast<std::int64_t>(due->size()) == kBatch) busy_ = true;
  // A recipient with a digest gets one message per (recipient, channel) for everything
  // due; everyone else one message per delivery.
  std::vector<std::vector<const DueDelivery*>> units;
  std::map<std::pair<std::string, std::string>, std::size_t> digestUnit;
  for (const auto& d : due.value()) {
    const RecipientOptions* o = config_.recipient(d.delivery.recipient);
    if (d.delivery.recipient != "*" && o && o->digest) {
      auto key = std::make_pair(d.delivery.recipient, d.delivery.channel);
      auto it = digestUnit.find(key);
      if (it != digestUnit.end()) {
        units[it->second].push_back(&d);
        continue;
      }
      digestUnit[key] = units.size();
    }
    units.push_back({&d});
  }
  // Outcomes are written in small batches, one transaction each, so delivery costs the
  // store few disk syncs and the workflow's writes are not held up; a crash loses at most
  // the outcomes of one batch (those messages go again with the same idempotency key).
  std::vector<std::pair<NotificationDelivery, OptionalAudit>> outcomes;
  auto flush = [&]() -> Status {
    Status s = store_.recordDeliveryAttempts(outcomes);
    outcomes.clear();
    return s;
  };
  for (const auto& unit : units) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) break;  // the rest stays pending for the next start
    }
    const NotificationDelivery& first = unit.front()->delivery;
    auto channel = config_.channels.find(first.channel);
    SendOutcome outcome;
    if (channel == config_.channels.end()) {
      outcome = SendOutcome{false, true, "channel \"" + first.channel + "\" is no longer configured"};
    } else {
      std::vector<RenderedMessage> messages;
      for (const auto* d : unit) messages.push_back(renderMessage(d->event, config_.consoleUrl));
      const RecipientOptions* o = config_.recipient(first.recipient);
      outcome = sender_->send(channel->second, unit.front()->event, digestMessage(messages),
                              o ? o->email : "", first.idempotencyKey);
    }
    const std::int64_t at = clock_();
    count(first.channel, outcome.sent ? "sent" : "failed");
    for (const auto* d : unit) {
      NotificationDelivery next = d->delivery;
      next.attempts += 1;
      next.updated = at;
      OptionalAudit audit;
      if (outcome.sent) {
        next.state = delivery_state::kSent;
        next.sentAt = at;
        next.lastError.clear();
      } else {
        next.lastError = outcome.error;
        const bool final = outcome.permanent || next.attempts >= config_.maxAttempts;
        if (final) {
          next.state = delivery_state::kFailed;
        } else {
          const std::int64_t shift = std::min<std::int64_t>(next.attempts - 1, 20);
          next.nextAttempt =
              at + std::min(config_.retryMaxSeconds, config_.retryBaseSeconds << shift);
        }
        if (final || next.attempts == 1)
          audit = AuditEvent{"coordinator", "notification.failed", d->event.id,
                             auditDetail(next, final)};
        log_.warn(final ? "notification failed, giving up" : "notification failed, will retry",
                  {LogField::str("event", d->event.id), LogField::str("channel", next.channel),
                   LogField::str("recipient", next.recipient),
                   LogField::num("attempt", next.attempts), LogField::str("error", next.lastError)});
      }
      outcomes.emplace_back(std::move(next), std::move(audit));
    }
    if (outcomes.size() >= kOutcomeBatch)
      if (Status s = flush(); !s) return s;
  }
  return flush();
}

void NotificationWorker::count(const std::string& channel, const std::string& outcome) {
  std::lock_guard<std::mutex> lock(countMutex_);
  ++counts_[{channel, outcome}];
}

std::map<std::pair<std::string, std::string>, std::uint64_t> NotificationWorker::attemptCounts()
    const {
  std::lock_guard<std::mutex> lock(countMutex_);
  return counts_;
}

}  // namespace keyturn::server
