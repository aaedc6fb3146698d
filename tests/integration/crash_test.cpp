// The exactly-once story under crashes (issue 4, PROTOCOL.md §7): the real coordinator on
// loopback and a real `keyturn-agent`, killed with SIGKILL at random moments while it
// works through 200 executions, and started again each time. Half are device.lock
// (idempotent: resumed after a crash) through a fake loginctl that appends to a sandbox
// file, half are script.run bodies that append their own marker to a sandbox file (not
// idempotent: reported `interrupted`, never run again). Bounded: 200 executions, one
// agent, a wait of at most kSettleSeconds; ctest label `agent-crash`.
//
// The kill delays come from a seeded generator: the seed is printed, and
// KEYTURN_CRASH_SEED=N replays the same sequence of delays (the moments they land on
// still depend on the machine's speed).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "coordinator_db.h"
#include "fleet.h"
#include "keyturn/crypto_util.h"
#include "keyturn/json.h"

using namespace keyturn;
using namespace keyturn::test;
namespace fs = std::filesystem;

namespace {

constexpr int kExecutions = 200;
constexpr int kSettleSeconds = 300;  // every target has a result within this, or the test fails
constexpr int kMinKillMs = 150, kMaxKillMs = 1000;  // after "agent started"
// After this many kills the agent runs undisturbed: a loaded machine (CI runs tests two
// at a time) slows the agent, not the killer, and unbounded kills could starve it — every
// token delivered and lost to a kill waits kRedeliverySeconds for its redelivery.
constexpr int kMaxKills = 40;
constexpr int kRedeliverySeconds = 5;
constexpr std::uint32_t kDefaultSeed = 20261129;

std::uint32_t crashSeed() {
  const char* env = std::getenv("KEYTURN_CRASH_SEED");
  return env && *env ? static_cast<std::uint32_t>(std::strtoul(env, nullptr, 10)) : kDefaultSeed;
}

// Counts the lines of `text` equal to `line`.
int linesEqual(const std::string& text, const std::string& line) {
  int n = 0;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    if (text.compare(at, end - at, line) == 0) ++n;
    at = end + 1;
  }
  return n;
}

int occurrences(const std::string& text, const std::string& needle) {
  int n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Starts the agent, lets it work for a random delay after it started, kills it with
// SIGKILL, and again (at most kMaxKills times, then lets it run), until stopped. Runs on its own thread: no Catch macros here.
class Killer {
 public:
  Killer(std::vector<std::string> args, std::uint32_t seed) : args_(std::move(args)), rng_(seed) {}
  ~Killer() { finish(); }

  void start() { thread_ = std::thread([this] { loop(); }); }
  // Stops killing; the agent running at that moment is stopped with SIGTERM.
  void finish() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int kills() const { return kills_; }
  int failedStarts() const { return failedStarts_; }
  std::string logs() {
    std::lock_guard<std::mutex> lock(mutex_);
    return logs_;
  }

 private:
  void loop() {
    std::uniform_int_distribution<int> delay(kMinKillMs, kMaxKillMs);
    int stretch = 1;  // doubles (up to 8) while runs execute nothing: the machine is slow
    while (!done_) {
      AgentProcess agent(args_);
      // "agent started" comes before the recovery of what the last kill interrupted;
      // the delay's minimum lets a resumed lock (50 ms) finish, so no lock is killed
      // three times in a row and given up (spec §7) because of the test's timing.
      if (!agent.waitForLine("\"agent started\"", std::chrono::seconds(30))) ++failedStarts_;
      const bool spare = kills_ >= kMaxKills;
      auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(delay(rng_) * stretch);
      while (!done_ && (spare || std::chrono::steady_clock::now() < until))
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      if (done_) {
        agent.stop(SIGTERM);
      } else {
        agent.stop(SIGKILL);
        ++kills_;
      }
      std::string log = agent.log();
      stretch = log.find("\"msg\":\"executed\"") != std::string::npos ? 1 : std::min(stretch * 2, 8);
      std::lock_guard<std::mutex> lock(mutex_);
      logs_ += log;
    }
  }

  std::vector<std::string> args_;
  std::mt19937 rng_;
  std::atomic<bool> done_{false};
  std::atomic<int> kills_{0}, failedStarts_{0};
  std::mutex mutex_;
  std::string logs_;
  std::thread thread_;
};

}  // namespace

TEST_CASE(
    "an agent killed with -9 at random points during 200 executions: no script runs twice, every lock "
    "finishes, every result reaches the coordinator once",
    "[integration][agent][crash][soak]") {
  const std::uint32_t seed = crashSeed();
  std::printf("crash test seed %u (replay with KEYTURN_CRASH_SEED=%u)\n", seed, seed);
  std::fflush(stdout);
  INFO("seed " << seed);

  // A token delivered and lost to a kill comes again after 5 s instead of the default 60:
  // the test then waits seconds, not minutes, for the tokens its kills lost, and the
  // agent sees more repeated deliveries, which its journal must ignore.
  TenantOptions options;
  options.serverProperties = {"keyturn.agents.redelivery_s = " + std::to_string(kRedeliverySeconds)};
  Tenant t(options);
  AgentHome a(t, "laptop-crash");
  enrollOk(t, a);
  const std::string locks = a.base + "/locks.log", scripts = a.base + "/scripts.log";
  // The lock command is a fake loginctl in the sandbox (the plugin runs commands with a
  // fixed PATH, so it is named by its absolute path): it appends a line and takes a moment.
  fs::create_directories(a.base + "/bin");
  const std::string loginctl = a.base + "/bin/loginctl";
  std::ofstream(loginctl) << "#!/bin/sh\necho \"$*\" >> " << locks << "\nsleep 0.05\n";
  fs::permissions(loginctl, fs::perms::owner_all);
  {
    std::ofstream conf(a.config(), std::ios::app);
    conf << "plugins.lock.command = " << loginctl << " lock-sessions\n";
    if (::geteuid() == 0) conf << "plugins.script.user = root\n";
  }

  // Which execution is a script is drawn from the seed too; script k appends "start k"
  // and, after a pause during which a kill may land, "end k".
  std::mt19937 mix(seed ^ 0x5eedu);
  std::map<std::string, int> scriptOf;  // request id -> k (scripts only)
  std::set<std::string> lockIds;
  Killer killer({"run", "--config", a.config(), "--log-format", "json"}, seed);
  killer.start();
  for (int k = 0; k < kExecutions; ++k) {
    std::string id;
    if (mix() % 2 == 0) {
      id = t.submit("alice", {"device.lock", "--device", a.id, "--justification", "Crash test lock " + std::to_string(k)});
      lockIds.insert(id);
    } else {
      std::string body = "echo 'start " + std::to_string(k) + "' >> " + scripts + "\nsleep 0.2\necho 'end " +
                         std::to_string(k) + "' >> " + scripts + "\n";
      std::string params = a.base + "/params-" + std::to_string(k) + ".json";
      std::ofstream(params) << "{\"interpreter\":\"sh\",\"body\":" << json::quote(body) << ",\"sha256\":\""
                            << toHex(sha256(body)) << "\",\"timeout_s\":60}";
      id = t.submit("alice", {"script.run", "--device", a.id, "--params-file", params, "--justification",
                              "Crash test script " + std::to_string(k)});
      scriptOf[id] = k;
    }
    auto completed = t.cli("alice", {"request", "complete", id});
    INFO(completed.all());
    REQUIRE(completed.exit == 0);
  }

  // Wait (bounded) until the coordinator holds a result for every execution. A token the
  // coordinator marked delivered but the agent never stored comes again after
  // kRedeliverySeconds.
  CoordinatorDb db(t.data + "/keyturn.db");
  const std::string pendingSql =
      "SELECT COUNT(*) FROM request_targets WHERE device_id = ?1 AND state IN ('queued', 'delivered')";
  auto settleBy = std::chrono::steady_clock::now() + std::chrono::seconds(kSettleSeconds);
  while (db.run(pendingSql, {a.id}) != "0" && std::chrono::steady_clock::now() < settleBy)
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  killer.finish();
  const std::string crashLogs = killer.logs();
  INFO("kills: " << killer.kills() << ", starts without \"agent started\": " << killer.failedStarts());
  CHECK(db.run(pendingSql, {a.id}) == "0");

  // A last, undisturbed run delivers what the last kill left in the outbox.
  {
    auto last = startAgent(a);
    std::this_thread::sleep_for(std::chrono::seconds(2));
    CHECK(last->stop(SIGTERM) == 0);
  }
  auto status = agentCommand({"status", "--config", a.config(), "-o", "json"});
  INFO(status.all());
  REQUIRE(status.exit == 0);
  auto s = jsonOf(status);
  CHECK(s->getValue<int>("outbox") == 0);
  CHECK(s->getValue<int>("undeliverable") == 0);  // the coordinator never saw two different results
  CHECK(s->getValue<int>("inbox") == 0);
  CHECK(s->getValue<int>("running") == 0);

  // The test did crash the agent, and mid-action at least once.
  const int interrupted = occurrences(crashLogs, "\"msg\":\"interrupted\"");
  const int resumed = occurrences(crashLogs, "\"resuming an interrupted idempotent action\"");
  std::printf("crash test: %d kills, %d scripts interrupted, %d locks resumed\n", killer.kills(), interrupted,
              resumed);
  CHECK(killer.kills() >= 15);
  CHECK(killer.failedStarts() == 0);
  CHECK(interrupted + resumed > 0);

  // Per request: the coordinator's state, and exactly one recorded result event.
  std::map<std::string, std::string> state;
  for (const auto& row : db.rows("SELECT request_id, state FROM request_targets WHERE device_id = ?1", {a.id}))
    state[row[0]] = row[1];
  std::map<std::string, int> recorded;
  for (const auto& row :
       db.rows("SELECT subject, COUNT(*) FROM audit WHERE event = 'device.result' GROUP BY subject"))
    recorded[row[0]] = std::atoi(row[1].c_str());
  CHECK(state.size() == static_cast<std::size_t>(kExecutions));
  CHECK(recorded.size() == static_cast<std::size_t>(kExecutions));

  const std::string scriptLog = readFile(scripts, 1 << 22).value_or("");
  int succeededScripts = 0, interruptedScripts = 0;
  for (const auto& [id, k] : scriptOf) {
    INFO("script " << k << " (request " << id << ")");
    const int starts = linesEqual(scriptLog, "start " + std::to_string(k));
    CHECK(starts <= 1);  // never run twice
    CHECK(recorded[id] == 1);
    if (state[id] == "succeeded") {
      ++succeededScripts;
      CHECK(starts == 1);
      CHECK(linesEqual(scriptLog, "end " + std::to_string(k)) == 1);
    } else {
      CHECK(state[id] == "interrupted");  // caught mid-run (or between journal and start)
      ++interruptedScripts;
    }
  }
  for (const auto& id : lockIds) {
    INFO("lock request " << id);
    CHECK(state[id] == "succeeded");
    CHECK(recorded[id] == 1);
  }
  // Each lock ran at least once (a resumed one more than once: it is idempotent).
  CHECK(linesEqual(readFile(locks, 1 << 22).value_or(""), "lock-sessions") >= static_cast<int>(lockIds.size()));
  std::printf("crash test: %zu locks succeeded; scripts: %d succeeded, %d interrupted\n", lockIds.size(),
              succeededScripts, interruptedScripts);
}
