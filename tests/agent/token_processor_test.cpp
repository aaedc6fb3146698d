// Token processing and exactly-once (PROTOCOL.md sections 5 and 7) against a fake runner
// that counts executions: the gate's verdicts, journaling before execution, re-sent
// tokens, crash recovery of idempotent and non-idempotent actions.
#include <sys/resource.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <sstream>

#include "fixtures.h"
#include "keyturn/token_gate.h"
#include "temp_folder.h"
#include "token_processor.h"

using namespace keyturn;
using namespace keyturn::agent;
using keyturn::test::kNow;
using keyturn::test::TempFolder;
using keyturn::test::TokenSpec;

namespace {

class FakeRunner : public ActionRunner {
 public:
  std::set<std::string> actions() const override { return {"device.wipe", "script.run"}; }
  Status validate(const std::string& action, const Poco::JSON::Object& params) const override {
    if (!actions().count(action)) return Status::fail("unknown_action", "no plugin handles " + action);
    if (params.has("bad")) return Status::fail("malformed", "field 'bad' is not allowed");
    return Status::ok();
  }
  bool idempotent(const std::string& action) const override { return action != "script.run"; }
  plugin::Outcome execute(const std::string& action, const Poco::JSON::Object&, const std::string& id,
                          std::int64_t) override {
    ++runs[id];
    if (onExecute) onExecute(id);
    plugin::Outcome o;
    o.state = plugin::Outcome::State::succeeded;
    o.exit_code = 0;
    o.output = "ran " + action;
    return o;
  }
  // What prepare() answers: ready, later (the coordinator cannot serve the artifact)
  // or a refusal with `refusal` as its reason.
  Result<Readiness> prepare(const std::string&, const Poco::JSON::Object&, const std::string& id,
                            std::int64_t windowEnd) override {
    ++prepares[id];
    lastWindowEnd = windowEnd;
    if (!refusal.empty()) return Result<Readiness>::fail(refusal, "the artifact's SHA-256 differs");
    if (unavailable) return Readiness{true, "coordinator localhost:1: Connection refused"};
    return Readiness{};
  }
  void abandon(const std::string& id) override { ++abandoned[id]; }
  std::map<std::string, int> runs, prepares, abandoned;
  std::function<void(const std::string&)> onExecute;
  bool unavailable = false;
  std::string refusal;
  std::int64_t lastWindowEnd = 0;
};

struct Fixture {
  Fixture() {
    state = std::move(AgentState::open(dir / "agent.db")).value();
    journal = std::move(ReplayJournal::open(dir / "journal.db")).value();
    bundle.emplace(tenant.v1());
    processor = std::make_unique<TokenProcessor>(*state, *journal, runner, log, [this] { return now; });
  }
  // Puts `token` in the inbox and decides the whole inbox.
  void deliver(const std::string& token) {
    REQUIRE(state->addToInbox(token, now));
    REQUIRE(processor->processInbox(*bundle, facts));
  }
  std::vector<OutboxResult> results() { return state->pendingResults(100).value(); }
  std::string token(TokenSpec spec = {}) { return makeToken(tenant, spec); }

  TempFolder dir;
  keyturn::test::Tenant tenant;
  std::optional<AcceptedBundle> bundle;
  std::unique_ptr<AgentState> state;
  std::unique_ptr<ReplayJournal> journal;
  FakeRunner runner;
  std::ostringstream logText;
  AgentLog log{logText, false};
  std::int64_t now = kNow;
  DeviceFacts facts = keyturn::test::device("dev-2");
  std::unique_ptr<TokenProcessor> processor;
};

// Runs `work` with no file descriptor left to open (RLIMIT_NOFILE at the lowest free
// one, so every descriptor below the limit is taken): a policy worker cannot get its
// socket pair. The limit is restored before returning.
Status withoutFreeDescriptor(const std::function<Status()>& work) {
  int lowestFree = ::dup(0);
  REQUIRE(lowestFree >= 0);
  ::close(lowestFree);
  rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
  rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(lowestFree);
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &tight) == 0);
  Status result = work();
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &saved) == 0);
  return result;
}

Execution crashed(const std::string& id, const std::string& action, bool idempotent, std::int64_t windowEnd) {
  Execution e;
  e.requestId = id;
  e.action = action;
  e.paramsJson = action == "device.wipe" ? "{\"mode\":\"full\"}" : "{}";
  e.windowEnd = windowEnd;
  e.idempotent = idempotent;
  e.startedAt = kNow - 10;
  return e;
}

}  // namespace

TEST_CASE("an accepted token is journaled as started, durably, before its action runs", "[agent][exactly-once]") {
  Fixture f;
  bool journaledFirst = false;
  f.runner.onExecute = [&](const std::string& id) {
    auto e = f.state->execution(id);
    journaledFirst = e && e.value() && e.value()->state == "started" && f.journal->isConsumed(id);
  };
  f.deliver(f.token());
  CHECK(f.runner.runs["r-0001"] == 1);
  CHECK(journaledFirst);
  auto results = f.results();
  REQUIRE(results.size() == 1);
  CHECK(results[0].state == "succeeded");
  CHECK(results[0].output == "ran device.wipe");
  CHECK(f.state->inbox()->empty());
}

TEST_CASE("a token delivered again is known: it never runs twice and reports no failure", "[agent][exactly-once]") {
  Fixture f;
  std::string token = f.token();
  f.deliver(token);
  REQUIRE(f.state->acknowledge({"r-0001"}, f.now));
  f.deliver(token);  // the coordinator re-sends a token whose reply it thinks was lost
  f.deliver(token);
  CHECK(f.runner.runs["r-0001"] == 1);
  CHECK(f.results().empty());  // nothing new to report, in particular no "replayed" failure
  CHECK(f.state->inbox()->empty());
  CHECK_THAT(f.logText.str(), Catch::Contains("token already known"));
}

TEST_CASE("a request id consumed by verify --consume is dropped without running or reporting",
          "[agent][exactly-once]") {
  Fixture f;
  REQUIRE(f.journal->consume("r-0001", "device.wipe", kNow - 100));
  f.deliver(f.token());
  CHECK(f.runner.runs.empty());
  CHECK(f.results().empty());
  CHECK(f.state->inbox()->empty());
}

TEST_CASE("a token for another device is refused and reported failed with the gate's reason", "[agent][gate]") {
  Fixture f;
  f.facts = keyturn::test::device("dev-9");
  f.deliver(f.token());
  CHECK(f.runner.runs.empty());
  auto results = f.results();
  REQUIRE(results.size() == 1);
  CHECK(results[0].state == "failed");
  CHECK_THAT(results[0].output, Catch::Contains("wrong_device"));
  CHECK_FALSE(f.journal->isConsumed("r-0001"));  // a refusal consumes nothing
}

TEST_CASE("a self-approved token is refused with self_approval", "[agent][gate]") {
  Fixture f;
  TokenSpec spec;
  spec.approvers = {"alice"};
  f.deliver(f.token(spec));
  CHECK(f.runner.runs.empty());
  REQUIRE(f.results().size() == 1);
  CHECK_THAT(f.results()[0].output, Catch::Contains("self_approval"));
}

TEST_CASE("params the plugin refuses are reported failed before anything is journaled", "[agent][gate]") {
  Fixture f;
  TokenSpec spec;
  spec.action = "script.run";
  spec.paramsJson = "{\"bad\":1}";
  f.deliver(f.token(spec));
  CHECK(f.runner.runs.empty());
  REQUIRE(f.results().size() == 1);
  CHECK_THAT(f.results()[0].output, Catch::Contains("malformed"));
  CHECK(f.state->execution("r-0001").value() == std::nullopt);
}

TEST_CASE("a token that is not JSON is dropped with a log line and the agent carries on", "[agent][bad-input]") {
  Fixture f;
  f.deliver("{\"payload\":");
  f.deliver(f.token());
  CHECK(f.runner.runs["r-0001"] == 1);
  CHECK_THAT(f.logText.str(), Catch::Contains("token refused"));
  CHECK(f.state->inbox()->empty());
}

TEST_CASE("a token requested under a newer bundle waits in the inbox while its window is open",
          "[agent][bundle]") {
  Fixture f;
  TokenSpec spec;
  spec.bundle = 2;
  f.deliver(f.token(spec));
  CHECK(f.runner.runs.empty());
  CHECK(f.results().empty());
  CHECK(f.state->inbox()->size() == 1);
  // Once its window has closed it is refused and reported.
  f.now = kNow + 86400 + kClockSkew;
  REQUIRE(f.processor->processInbox(*f.bundle, f.facts));
  CHECK(f.state->inbox()->empty());
  REQUIRE(f.results().size() == 1);
  CHECK_THAT(f.results()[0].output, Catch::Contains("bundle_stale"));
}

TEST_CASE("after a crash a script is reported interrupted and never runs again", "[agent][exactly-once]") {
  Fixture f;
  REQUIRE(f.state->recordStarted(crashed("r-s", "script.run", false, kNow + 3600), ""));
  REQUIRE(f.processor->recover());
  CHECK(f.runner.runs.empty());
  auto results = f.results();
  REQUIRE(results.size() == 1);
  CHECK(results[0].state == "interrupted");
  CHECK(f.state->unfinished()->empty());
  CHECK(f.journal->isConsumed("r-s"));
  REQUIRE(f.processor->recover());
  CHECK(f.runner.runs.empty());
}

TEST_CASE("after a crash an idempotent action resumes inside its window", "[agent][exactly-once]") {
  Fixture f;
  REQUIRE(f.state->recordStarted(crashed("r-w", "device.wipe", true, kNow + 3600), ""));
  REQUIRE(f.processor->recover());
  CHECK(f.runner.runs["r-w"] == 1);
  auto e = f.state->execution("r-w").value();
  CHECK(e->tries == 2);
  CHECK(e->state == "done");
  REQUIRE(f.results().size() == 1);
  CHECK(f.results()[0].state == "succeeded");
}

TEST_CASE("an idempotent action is started at most 3 times in all", "[agent][exactly-once]") {
  Fixture f;
  REQUIRE(f.state->recordStarted(crashed("r-w", "device.wipe", true, kNow + 3600), ""));
  REQUIRE(f.state->recordRetry("r-w"));
  REQUIRE(f.state->recordRetry("r-w"));  // three starts, each ended by a crash
  REQUIRE(f.processor->recover());
  CHECK(f.runner.runs.empty());
  REQUIRE(f.results().size() == 1);
  CHECK(f.results()[0].state == "interrupted");
  CHECK_THAT(f.results()[0].output, Catch::Contains("3 times"));
}

TEST_CASE("an interrupted idempotent action is not resumed after its token's window closed",
          "[agent][exactly-once]") {
  Fixture f;
  REQUIRE(f.state->recordStarted(crashed("r-w", "device.wipe", true, kNow - 1), ""));
  REQUIRE(f.processor->recover());
  CHECK(f.runner.runs.empty());
  REQUIRE(f.results().size() == 1);
  CHECK(f.results()[0].state == "interrupted");
  CHECK_THAT(f.results()[0].output, Catch::Contains("window closed"));
}

TEST_CASE("result output is valid UTF-8 and at most 64 KiB", "[agent][outbox]") {
  CHECK(boundedUtf8("ok \xff\xfe end", 100) == "ok \xEF\xBF\xBD\xEF\xBF\xBD end");
  CHECK(boundedUtf8("caf\xC3\xA9", 4) == "caf");  // never half a character
  std::string big(100000, 'x');
  CHECK(boundedUtf8(big, kMaxResultOutput).size() == kMaxResultOutput);
  plugin::Outcome o = plugin::Outcome::fail("timeout", "killed after 5 s");
  o.output = "partial";
  auto r = resultOf("r-1", o, 5);
  CHECK(r.state == "failed");
  CHECK(r.output == "timeout: killed after 5 s\npartial");
  CHECK_FALSE(r.exitCode);
}

TEST_CASE("a token whose artifact cannot be downloaded waits in the inbox, unjournaled, and runs once it can",
          "[agent][artifacts]") {
  Fixture f;
  f.runner.unavailable = true;
  f.deliver(f.token());
  f.now += 600;
  REQUIRE(f.processor->processInbox(*f.bundle, f.facts));
  CHECK(f.runner.prepares["r-0001"] == 2);
  CHECK(f.runner.lastWindowEnd == static_cast<std::int64_t>(kNow + 86400));  // the issuer's kt.exp
  CHECK(f.runner.runs.empty());
  CHECK(f.results().empty());
  CHECK(f.state->inbox()->size() == 1);
  CHECK(f.state->execution("r-0001").value() == std::nullopt);
  CHECK_FALSE(f.journal->isConsumed("r-0001"));
  // Logged once, not at every retry.
  const std::string log = f.logText.str();
  CHECK(log.find("token kept for later") != std::string::npos);
  CHECK(log.find("token kept for later") == log.rfind("token kept for later"));

  f.runner.unavailable = false;  // the coordinator is back
  REQUIRE(f.processor->processInbox(*f.bundle, f.facts));
  CHECK(f.runner.runs["r-0001"] == 1);
  REQUIRE(f.results().size() == 1);
  CHECK(f.results()[0].state == "succeeded");
  CHECK(f.state->inbox()->empty());
  REQUIRE(f.processor->processInbox(*f.bundle, f.facts));
  CHECK(f.runner.runs["r-0001"] == 1);
}

TEST_CASE("a token still waiting for its artifact when its window closes is reported artifact_unavailable",
          "[agent][artifacts]") {
  Fixture f;
  f.runner.unavailable = true;
  f.deliver(f.token());
  CHECK(f.results().empty());
  f.now = kNow + 86400 + kClockSkew;  // past kt.exp and the skew: the gate says expired
  REQUIRE(f.processor->processInbox(*f.bundle, f.facts));
  CHECK(f.runner.runs.empty());
  CHECK(f.state->inbox()->empty());
  REQUIRE(f.results().size() == 1);
  CHECK(f.results()[0].state == "failed");
  CHECK_THAT(f.results()[0].output, Catch::Contains("artifact_unavailable") && Catch::Contains("window closed") &&
                                        Catch::Contains("Connection refused"));
  CHECK_FALSE(f.journal->isConsumed("r-0001"));
}

TEST_CASE("an artifact refused for good refuses the token before anything is journaled", "[agent][artifacts]") {
  Fixture f;
  f.runner.refusal = "artifact_mismatch";
  f.deliver(f.token());
  CHECK(f.runner.runs.empty());
  REQUIRE(f.results().size() == 1);
  CHECK(f.results()[0].state == "failed");
  CHECK_THAT(f.results()[0].output, Catch::Contains("artifact_mismatch"));
  CHECK(f.state->execution("r-0001").value() == std::nullopt);
  CHECK(f.state->inbox()->empty());
}

TEST_CASE("a re-sent token that is journaled already downloads nothing", "[agent][artifacts]") {
  Fixture f;
  std::string token = f.token();
  // Journaled by an earlier run whose inbox row survived (the crash came in between).
  Execution e = crashed("r-0001", "device.wipe", true, kNow + 86400);
  REQUIRE(f.state->addToInbox(token, f.now));
  REQUIRE(f.state->recordStarted(e, ""));
  REQUIRE(f.processor->processInbox(*f.bundle, f.facts));
  CHECK(f.runner.prepares.empty());
  CHECK(f.runner.runs.empty());
  CHECK(f.state->inbox()->empty());
}

TEST_CASE("approved tokens stay in the inbox, not refused, while the policy worker cannot start",
          "[agent][exactly-once]") {
  Fixture f;
  // The agent releases its worker when idle; the next round must start one again.
  f.bundle->engine->releaseWorker();
  REQUIRE(f.state->addToInbox(f.token(), f.now));
  Status blocked = withoutFreeDescriptor([&] { return f.processor->processInbox(*f.bundle, f.facts); });

  CHECK(blocked.reason() == "policy_unavailable");
  CHECK_THAT(blocked.detail(), Catch::Contains("policy worker cannot start"));
  CHECK(f.runner.runs.empty());
  CHECK(f.results().empty());             // nothing reported: not refused
  CHECK(f.state->inbox()->size() == 1);   // kept for the next round
  CHECK_FALSE(f.journal->isConsumed("r-0001"));

  // Next round, the worker starts and the token runs once.
  REQUIRE(f.processor->processInbox(*f.bundle, f.facts));
  CHECK(f.runner.runs["r-0001"] == 1);
  REQUIRE(f.results().size() == 1);
  CHECK(f.results()[0].state == "succeeded");
}

TEST_CASE("a token no policy matches runs while the policy worker cannot start, and a protected one waits",
          "[agent][exactly-once]") {
  Fixture f;
  f.bundle->engine->releaseWorker();
  TokenSpec unprotected;  // script.run: no fixture policy matches it
  unprotected.id = "r-script";
  unprotected.action = "script.run";
  unprotected.paramsJson = "{}";
  unprotected.approvers = {};
  REQUIRE(f.state->addToInbox(f.token(), f.now));  // device.wipe: a policy matches
  REQUIRE(f.state->addToInbox(f.token(unprotected), f.now));
  Status blocked = withoutFreeDescriptor([&] { return f.processor->processInbox(*f.bundle, f.facts); });

  CHECK(blocked.reason() == "policy_unavailable");
  CHECK(f.runner.runs["r-script"] == 1);  // needed no worker
  CHECK(f.runner.runs.count("r-0001") == 0);
  auto inbox = f.state->inbox();
  REQUIRE(inbox->size() == 1);  // the wipe, for the next round
  REQUIRE(f.processor->processInbox(*f.bundle, f.facts));
  CHECK(f.runner.runs["r-0001"] == 1);
  CHECK(f.results().size() == 2);
}
