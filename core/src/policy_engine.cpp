#include "keyturn/policy_engine.h"

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <mutex>

#include "keyturn/json.h"
#include "keyturn/policy_wire.h"
#include "keyturn/policy_worker.h"

namespace keyturn {

namespace {

// The parent waits this much longer than the wall-time limit before killing the
// worker: the worker's own hook normally reports a time-limit hit first.
constexpr std::chrono::milliseconds kKillMargin{25};

void encodeValue(policywire::Writer& w, const Poco::Dynamic::Var& v) {
  using namespace policywire;
  if (v.isEmpty()) {
    w.u8(kNull);
  } else if (v.type() == typeid(json::Object::Ptr)) {
    auto o = v.extract<json::Object::Ptr>();
    w.u8(kObject);
    w.u32(static_cast<std::uint32_t>(o->size()));
    for (const auto& [key, value] : *o) {
      w.str(key);
      encodeValue(w, value);
    }
  } else if (v.type() == typeid(json::Array::Ptr)) {
    auto a = v.extract<json::Array::Ptr>();
    w.u8(kArray);
    w.u32(static_cast<std::uint32_t>(a->size()));
    for (const auto& item : *a) encodeValue(w, item);
  } else if (v.isBoolean()) {
    w.u8(v.extract<bool>() ? kTrue : kFalse);
  } else if (v.isString()) {
    w.u8(kString);
    w.str(v.extract<std::string>());
  } else if (v.type() == typeid(Poco::Int64)) {
    w.u8(kInteger);
    w.i64(v.extract<Poco::Int64>());
  } else if (v.isInteger() && v.isSigned()) {
    w.u8(kInteger);
    w.i64(v.convert<Poco::Int64>());
  } else if (v.isInteger() && v.convert<Poco::UInt64>() <= INT64_MAX) {
    w.u8(kInteger);
    w.i64(static_cast<std::int64_t>(v.convert<Poco::UInt64>()));
  } else {
    w.u8(kNumber);
    w.f64(v.convert<double>());
  }
}

// The token's params as the value tree the worker turns into Lua tables.
Result<std::string> encodeParams(const std::string& paramsJson) {
  auto parsed = json::parse(paramsJson.empty() ? std::string_view("{}") : paramsJson);
  if (!parsed) return Result<std::string>::fail("policy_error", "params: " + parsed.detail());
  if (parsed.value().type() != typeid(json::Object::Ptr))
    return Result<std::string>::fail("policy_error", "params must be a JSON object");
  policywire::Writer w;
  encodeValue(w, parsed.value());
  return w.take();
}

std::string describe(const PolicyOutcome& o) { return "policy " + o.policy + " (" + o.file + ")"; }

}  // namespace

bool policyActionMatches(const std::string& pattern, const std::string& action) {
  if (pattern.size() >= 2 && pattern.compare(pattern.size() - 2, 2, ".*") == 0) {
    std::string_view prefix(pattern.data(), pattern.size() - 1);  // keeps the dot
    return action.size() > prefix.size() && action.compare(0, prefix.size(), prefix) == 0;
  }
  return pattern == action;
}

class PolicyEngine::Impl {
 public:
  Impl(std::vector<PolicySource> sources, PolicyLimits limits)
      : sources_(std::move(sources)), limits_(limits), worker_(sources_, limits_) {}

  Status start() {
    auto infos = worker_.start();
    if (!infos) return infos.status();
    infos_ = std::move(infos.value());
    return Status::ok();
  }

  PolicyDecision evaluate(const PolicyRequest& req, const DeviceFacts& device);
  const std::vector<PolicyInfo>& infos() const { return infos_; }
  // The indexes of the policies whose actions match `action`, in bundle order.
  std::vector<std::uint32_t> matching(const std::string& action) const {
    std::vector<std::uint32_t> out;
    for (std::size_t i = 0; i < infos_.size(); ++i)
      for (const auto& pattern : infos_[i].actions)
        if (policyActionMatches(pattern, action)) {
          out.push_back(static_cast<std::uint32_t>(i));
          break;
        }
    return out;
  }
  void release() {
    std::lock_guard<std::mutex> lock(mu_);
    worker_.stop();
  }
  Status ensureRunning() {
    std::lock_guard<std::mutex> lock(mu_);
    if (worker_.alive()) return Status::ok();
    auto started = worker_.start();  // same sources, so the same infos_
    return started ? Status::ok() : started.status();
  }
  bool running() {
    std::lock_guard<std::mutex> lock(mu_);
    return worker_.alive();
  }

 private:
  std::vector<PolicySource> sources_;  // kept: a replacement worker is forked from them
  PolicyLimits limits_;
  PolicyWorker worker_;
  std::vector<PolicyInfo> infos_;
  std::mutex mu_;
};

PolicyDecision PolicyEngine::Impl::evaluate(const PolicyRequest& req, const DeviceFacts& device) {
  PolicyDecision d;
  std::vector<std::uint32_t> matching = this->matching(req.action);
  if (matching.empty()) return d;  // no policy: no approvals needed

  auto params = encodeParams(req.paramsJson);
  if (!params) {
    d.status = params.status();
    return d;
  }
  std::string frame = policywire::encodeEvalRequest(req, device, params.value(), matching);

  std::vector<PolicyOutcome> outcomes;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!worker_.alive()) {              // killed at a limit or died: fork a fresh one
      auto restarted = worker_.start();  // same sources, so the same infos_
      if (!restarted) {
        d.status = restarted.status();
        return d;
      }
    }
    std::string names;
    for (auto i : matching) names += (names.empty() ? "" : ", ") + infos_[i].file;
    auto reply = worker_.call(frame, limits_.wallTime + kKillMargin,
                              "policy time limit (" + std::to_string(limits_.wallTime.count()) +
                                  " ms) exceeded (worker killed while evaluating " + names + ")");
    if (!reply) {
      d.status = reply.status();
      return d;
    }
    if (!policywire::decodeOutcomes(reply.value(), outcomes) ||
        outcomes.size() != matching.size()) {
      worker_.stop();
      d.status = Status::fail("policy_error", "the policy worker sent a malformed answer");
      return d;
    }
  }

  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    outcomes[i].policy = infos_[matching[i]].name;
    outcomes[i].file = infos_[matching[i]].file;
  }
  d.outcomes = std::move(outcomes);
  const PolicyOutcome* firstDeny = nullptr;
  for (const auto& o : d.outcomes) {
    if (o.kind == PolicyOutcome::Kind::kError) {  // fail closed, whatever else was said
      d.status = Status::fail("policy_error", describe(o) + ": " + o.message);
      d.requirements.clear();
      return d;
    }
    if (o.kind == PolicyOutcome::Kind::kDeny && firstDeny == nullptr) firstDeny = &o;
    if (o.kind == PolicyOutcome::Kind::kRequirement && o.approvals > 0)
      d.requirements.push_back(Requirement{o.group, o.approvals, o.policy});
  }
  if (firstDeny != nullptr) {
    d.status =
        Status::fail("policy_denied", describe(*firstDeny) + " denied: " + firstDeny->message);
    d.requirements.clear();
  }
  return d;
}

Result<std::unique_ptr<PolicyEngine>> PolicyEngine::load(std::vector<PolicySource> sources,
                                                         PolicyLimits limits) {
  // Checked before any Lua sees the bytes: bytecode is refused outright (spec 3).
  for (const auto& src : sources) {
    if (src.source.compare(0, 4, "\x1bLua") == 0)
      return Result<std::unique_ptr<PolicyEngine>>::fail(
          "malformed", "policy " + src.name + " is Lua bytecode; only source text is accepted");
  }
  auto impl = std::make_unique<Impl>(std::move(sources), limits);
  if (Status s = impl->start(); !s) return s.error();
  return std::unique_ptr<PolicyEngine>(new PolicyEngine(std::move(impl)));
}

PolicyEngine::PolicyEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PolicyEngine::~PolicyEngine() = default;

PolicyDecision PolicyEngine::evaluate(const PolicyRequest& req, const DeviceFacts& device) const {
  return impl_->evaluate(req, device);
}

const std::vector<PolicyInfo>& PolicyEngine::policies() const { return impl_->infos(); }

bool PolicyEngine::protects(const std::string& action) const { return !impl_->matching(action).empty(); }

void PolicyEngine::releaseWorker() const { impl_->release(); }

Status PolicyEngine::startWorker() const { return impl_->ensureRunning(); }

bool PolicyEngine::workerRunning() const { return impl_->running(); }

}  // namespace keyturn
