#include "token_processor.h"

#include "keyturn/base64url.h"
#include "keyturn/json.h"
#include "keyturn/token.h"
#include "keyturn/token_gate.h"

namespace keyturn::agent {
namespace {

// Refusals that a later bundle or a later moment may turn into an acceptance.
bool mayPassLater(const std::string& reason) { return reason == "not_yet_valid" || reason == "bundle_stale"; }

// The request id of a token the gate refused before its schema passed, when the payload
// still names a plausible one, so the refusal can be reported against the request.
std::string requestIdOf(const std::string& tokenBytes) {
  auto envelope = json::parseObject(tokenBytes);
  if (!envelope || !envelope.value()->has("payload")) return "";
  auto payloadB64 = json::getString(*envelope.value(), "payload", "token");
  if (!payloadB64) return "";
  auto payload = base64url::decode(payloadB64.value());
  if (!payload) return "";
  auto object = json::parseObject(std::string(payload->begin(), payload->end()));
  if (!object) return "";
  auto id = json::getString(*object.value(), "id", "payload");
  return id && validRequestId(id.value()) ? id.value() : "";
}

// True when a policy of `bundle` matches the token's action, so deciding it evaluates
// policies in the worker. A token that does not parse needs none: the gate refuses it
// before the policy step.
bool needsPolicyWorker(const std::string& tokenBytes, const AcceptedBundle& bundle) {
  auto parsed = parseToken(tokenBytes);
  return parsed && bundle.engine->protects(parsed->payload.action);
}

// The issuer window's end (kt.exp) of a parsed token with exactly one issuer signature.
std::int64_t windowEnd(const Token& token) {
  std::int64_t end = 0;
  int issuers = 0;
  for (const auto& s : token.signatures)
    if (s.role == SignerRole::kIssuer) {
      end = static_cast<std::int64_t>(s.exp);
      ++issuers;
    }
  return issuers == 1 ? end : 0;
}

}  // namespace

std::string boundedUtf8(const std::string& text, std::size_t cap) {
  std::string out;
  out.reserve(std::min(text.size(), cap));
  std::size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    std::string piece;
    if (len != 0 && i + len <= text.size() && json::validUtf8(std::string_view(text).substr(i, len))) {
      piece = text.substr(i, len);
      i += len;
    } else {
      piece = "\xEF\xBF\xBD";  // U+FFFD
      i += 1;
    }
    if (out.size() + piece.size() > cap) break;
    out += piece;
  }
  return out;
}

OutboxResult resultOf(const std::string& requestId, const plugin::Outcome& o, std::int64_t at) {
  OutboxResult r;
  r.requestId = requestId;
  r.state = o.succeeded() ? "succeeded" : "failed";
  if (o.exit_code >= 0) r.exitCode = o.exit_code;
  std::string text;
  if (!o.reason.empty()) text += o.reason + ": ";
  if (!o.detail.empty()) text += o.detail;
  if (!text.empty()) text += "\n";
  text += o.output;
  if (o.truncated) text += "\n[output truncated at 64 KiB]";
  r.output = boundedUtf8(text, kMaxResultOutput);
  r.at = at;
  return r;
}

OutboxResult refusalOf(const std::string& requestId, const std::string& reason, const std::string& detail,
                       std::int64_t at) {
  OutboxResult r;
  r.requestId = requestId;
  r.state = "failed";
  r.output = boundedUtf8("refused by the agent: " + reason + ": " + detail, kMaxResultOutput);
  r.at = at;
  return r;
}

TokenProcessor::TokenProcessor(AgentState& state, ReplayJournal& journal, ActionRunner& runner, AgentLog& log,
                               Clock clock)
    : state_(state), journal_(journal), runner_(runner), log_(log), clock_(std::move(clock)) {}

Status TokenProcessor::storeResult(const OutboxResult& r, const std::string& inboxKey) {
  Status s = state_.recordResult(r, inboxKey);
  if (!s) log_.error("cannot queue a result; will retry", {LogField::str("request", r.requestId),
                                                           LogField::str("reason", s.reason()),
                                                           LogField::str("detail", s.detail())});
  return s;
}

Status TokenProcessor::flushUnrecorded() {
  while (!unrecorded_.empty()) {
    Status s = state_.recordFinished(unrecorded_.front());
    if (!s) return s;
    unrecorded_.erase(unrecorded_.begin());
  }
  return Status::ok();
}

Status TokenProcessor::runAndRecord(const Execution& e) {
  auto params = json::parseObject(e.paramsJson);
  plugin::Outcome outcome;
  if (!params) {
    outcome = plugin::Outcome::fail("malformed", "stored params do not parse: " + params.detail());
  } else {
    log_.info("executing", {LogField::str("request", e.requestId), LogField::str("action", e.action),
                            LogField::num("try", e.tries)});
    outcome = runner_.execute(e.action, *params.value(), e.requestId, e.windowEnd);
  }
  OutboxResult r = resultOf(e.requestId, outcome, clock_());
  log_.info("executed", {LogField::str("request", e.requestId), LogField::str("action", e.action),
                         LogField::str("state", r.state), LogField::str("reason", outcome.reason)});
  Status s = state_.recordFinished(r);
  if (!s) {
    // The action ran; only its record is missing. Keep it in memory and retry, so a full
    // disk costs a delay, not a result (a crash before then reads as interrupted).
    log_.error("cannot record a finished execution; will retry",
               {LogField::str("request", e.requestId), LogField::str("detail", s.detail())});
    unrecorded_.push_back(r);
  }
  return s;
}

Status TokenProcessor::recover() {
  if (Status s = flushUnrecorded(); !s) return s;
  auto open = state_.unfinished();
  if (!open) return open.status();
  for (Execution e : open.value()) {
    bool pending = false;
    for (const auto& u : unrecorded_) pending = pending || u.requestId == e.requestId;
    if (pending) continue;
    // The journal of `verify` learns the id too, if the crash came before it did.
    (void)journal_.consume(e.requestId, e.action, e.startedAt);
    std::int64_t now = clock_();
    std::string why;
    if (!e.idempotent)
      why = "the agent stopped while this non-idempotent action was running; it is not run again without a new token";
    else if (e.tries >= kMaxTries)
      why = "the action was started " + std::to_string(e.tries) + " times without finishing; giving up";
    else if (now >= e.windowEnd)
      why = "the token's window closed before the interrupted action could be resumed";
    if (!why.empty()) {
      OutboxResult r{e.requestId, "interrupted", std::nullopt, why, now};
      log_.warn("interrupted", {LogField::str("request", e.requestId), LogField::str("action", e.action),
                                LogField::str("detail", why)});
      if (Status s = state_.recordFinished(r); !s) return s;
      continue;
    }
    if (Status s = state_.recordRetry(e.requestId); !s) return s;
    ++e.tries;
    log_.warn("resuming an interrupted idempotent action",
              {LogField::str("request", e.requestId), LogField::num("try", e.tries)});
    if (Status s = runAndRecord(e); !s) return s;
  }
  return Status::ok();
}

Status TokenProcessor::processInbox(const AcceptedBundle& bundle, const DeviceFacts& facts) {
  if (Status s = flushUnrecorded(); !s) return s;
  auto tokens = state_.inbox();
  if (!tokens) return tokens.status();
  // The policy worker is released when the agent idles. A token whose action a policy
  // matches needs it started again; if it cannot start now (fork or descriptor limits),
  // that token stays in the inbox for the next round rather than becoming a policy_error
  // refusal of an approved action. Tokens no policy matches need no worker and go on.
  Status unavailable = Status::ok();
  for (const auto& t : tokens.value()) {
    if (needsPolicyWorker(t.token, bundle)) {
      if (Status s = bundle.engine->startWorker(); !s) {
        unavailable = Status::fail("policy_unavailable", "the policy worker cannot start: " + s.detail());
        continue;
      }
    }
    auto v = process(t, bundle, facts);
    if (!v) return v.status();
  }
  return unavailable;
}

Result<TokenProcessor::Verdict> TokenProcessor::process(const InboxToken& t, const AcceptedBundle& bundle,
                                                        const DeviceFacts& facts) {
  std::int64_t now = clock_();
  auto parsed = parseToken(t.token);
  std::string id = parsed ? parsed->payload.id : requestIdOf(t.token);

  // Known before anything else: a re-sent token must cost nothing and say nothing.
  if (!id.empty()) {
    auto known = state_.execution(id);
    if (!known) return known.error();
    if (known.value()) {
      if (Status s = state_.removeFromInbox(t.key); !s) return s.error();
      log_.info("token already known; not run again", {LogField::str("request", id)});
      return Verdict::kKnown;
    }
  }

  TokenGate gate(bundle.bundle, *bundle.engine, &journal_, runner_.actions());
  auto accepted = gate.check(t.token, facts, now);
  if (!accepted) {
    const std::string& reason = accepted.reason();
    if (reason == "replayed") {
      log_.info("token consumed before on this device; not run again",
                {LogField::str("request", id), LogField::str("detail", accepted.detail())});
      if (Status s = state_.removeFromInbox(t.key); !s) return s.error();
      return Verdict::kKnown;
    }
    if (mayPassLater(reason) && parsed && now < windowEnd(parsed.value()) + kClockSkew) {
      if (deferredLogged_.insert(t.key + reason).second)
        log_.warn("token kept for later", {LogField::str("request", id), LogField::str("reason", reason),
                                           LogField::str("detail", accepted.detail())});
      return Verdict::kDeferred;
    }
    // A token that waited for its artifact until its window closed: say what it waited for.
    if (auto waited = waiting_.find(t.key); waited != waiting_.end() && reason == "expired") {
      const std::string detail =
          "the token's window closed while the artifact could not be downloaded: " + waited->second;
      waiting_.erase(waited);
      log_.warn("token refused", {LogField::str("request", id), LogField::str("reason", "artifact_unavailable"),
                                  LogField::str("detail", detail)});
      if (Status s = storeResult(refusalOf(id, "artifact_unavailable", detail, now), t.key); !s) return s.error();
      return Verdict::kRefused;
    }
    log_.warn("token refused", {LogField::str("request", id), LogField::str("reason", reason),
                                LogField::str("detail", accepted.detail())});
    if (id.empty()) {
      if (Status s = state_.removeFromInbox(t.key); !s) return s.error();
      return Verdict::kDropped;  // nothing names a request to report against
    }
    if (Status s = storeResult(refusalOf(id, reason, accepted.detail(), now), t.key); !s) return s.error();
    return Verdict::kRefused;
  }

  const Token& token = accepted->token;
  const std::string& action = token.payload.action;
  if (Status valid = runner_.validate(action, *token.payload.params); !valid) {
    log_.warn("token refused", {LogField::str("request", id), LogField::str("reason", valid.reason()),
                                LogField::str("detail", valid.detail())});
    if (Status s = storeResult(refusalOf(id, valid.reason(), valid.detail(), now), t.key); !s) return s.error();
    return Verdict::kRefused;
  }

  // What the action needs (an artifact) is fetched before anything is journaled: while
  // the coordinator cannot serve it the token waits in the inbox, as long as its window
  // is open; a definite failure refuses it.
  auto ready = runner_.prepare(action, *token.payload.params, id, windowEnd(token));
  if (!ready) {
    waiting_.erase(t.key);
    log_.warn("token refused", {LogField::str("request", id), LogField::str("reason", ready.reason()),
                                LogField::str("detail", ready.detail())});
    if (Status s = storeResult(refusalOf(id, ready.reason(), ready.detail(), now), t.key); !s) return s.error();
    return Verdict::kRefused;
  }
  if (ready->later) {
    const bool first = waiting_.count(t.key) == 0;
    waiting_[t.key] = ready->detail;
    if (first)
      log_.warn("token kept for later: its artifact cannot be downloaded yet",
                {LogField::str("request", id), LogField::str("detail", ready->detail)});
    return Verdict::kDeferred;
  }
  waiting_.erase(t.key);

  Execution e;
  e.requestId = id;
  e.action = action;
  e.paramsJson = token.payload.paramsJson;
  e.windowEnd = windowEnd(token);
  e.idempotent = runner_.idempotent(action);
  e.tries = 1;
  e.state = "started";
  e.startedAt = now;
  // Durable before the action begins (spec §7). If this fails nothing has run.
  if (Status s = state_.recordStarted(e, t.key); !s) {
    runner_.abandon(id);
    if (s.reason() == "known") {
      (void)state_.removeFromInbox(t.key);
      return Verdict::kKnown;
    }
    log_.error("cannot journal a token as started; not running it now",
               {LogField::str("request", id), LogField::str("detail", s.detail())});
    return s.error();
  }
  if (Status c = journal_.consume(id, action, now); !c && c.reason() != "replayed")
    log_.warn("replay journal not updated (the execution journal holds the id)",
              {LogField::str("request", id), LogField::str("detail", c.detail())});
  log_.info("token accepted", {LogField::str("request", id), LogField::str("action", action),
                               LogField::num("approvers", static_cast<std::int64_t>(accepted->approvers.size()))});
  (void)runAndRecord(e);  // a record failure is kept in memory and retried
  return Verdict::kExecuted;
}

}  // namespace keyturn::agent
