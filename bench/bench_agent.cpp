// bench_agent (issue 4): the endpoint agent's two figures, against the real
// `keyturn-server` (BenchServer: the fixture tenant, sessions arranged in its database)
// and a real `keyturn-agent` enrolled with `keyturn-agent enroll` and run as a process.
//   rss      idle resident memory of the enrolled, connected agent after it has polled
//            for --seconds (default 60: two and a half held polls of 25 s), read from
//            /proc/PID/status and /proc/PID/smaps; once as shipped, once with
//            MALLOC_ARENA_MAX=1, once with only the device plugin in its plugin folder
//   floor    the same sampling of a bare C program (libc only) and of bench_agent_floor
//            (agent_floor.cpp: the shared Poco/OpenSSL libraries holding one kept-alive
//            mutual-TLS poll with the enrolled agent's certificate), then of the agent
//   latency  the complete call (POST /requests/ID/complete) to the plugin's command
//            starting on the online agent (a fake loginctl that writes its start time),
//            --rounds runs (default 20), each after the agent is back in a held poll
//   artifact an app.install of a --mib MiB artifact (default 64), --artifact-rounds runs
//            (default 5): the agent's download + verification time (MiB/s) from its log,
//            and the complete call to the plugin's (fake) dpkg starting
// Figures go to docs/performance.md ("Agent (issue 4)"); nothing here asserts a time.
// The agent is this build's keyturn-agent and plugins, or another build's named by
// KEYTURN_TEST_AGENT_BINARY and KEYTURN_TEST_PLUGIN_DIR (e.g. the static agent of
// build-static, docs/performance.md).
#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ctime>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "bench_coordinator.h"
#include "bench_server.h"
#include "keyturn/crypto_util.h"
#include "keyturn/json.h"
#include "keyturn/jws.h"
#include "agent_process.h"  // agentBinary(), agentPluginDir()
#include "program.h"
#include "workflow_fixture.h"  // signOver (header only)

namespace keyturn::bench {
namespace {

namespace fs = std::filesystem;
using keyturn::test::ServerProcess;

struct AgentOptions {
  double idleSeconds = 60;
  int rounds = 20;
  int artifactMiB = 64;
  int artifactRounds = 5;
};

std::int64_t wallMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// An agent enrolled with the real `keyturn-agent enroll`, its lock command a fake
// loginctl that appends its start time (µs since the epoch) to base/locks.
class EnrolledAgent {
 public:
  EnrolledAgent(BenchServer& server, const std::string& device, const std::string& pluginDir)
      : device_(device), base_(server.tmp / ("agent-" + device)) {
    fs::create_directories(base_ + "/bin");
    std::ofstream(base_ + "/facts.json")
        << "{\"id\":" << json::quote(device) << ",\"ownership\":\"corporate\",\"groups\":[\"lab\"]}";
    auto admin = server.client();
    Reply code = admin->send("POST", "/api/v1/devices/enrollment-codes", "{}",
                             {{"Authorization", server.bearer("alice")}});
    require(code.status == 201, "enrollment code", code.body);
    auto enrolled = keyturn::test::runProgram(
        keyturn::test::agentBinary(),
        {"enroll", "--server", "https://localhost:" + std::to_string(server.port), "--ca",
         server.config.caCertificate, "--code",
         json::parseObject(code.body).value()->getValue<std::string>("code"), "--facts",
         base_ + "/facts.json", "--config", config(), "--state", base_ + "/state", "--plugins",
         pluginDir},
        {});
    require(enrolled.exit == 0, "keyturn-agent enroll", enrolled.all());
    const std::string loginctl = base_ + "/bin/loginctl";
    std::ofstream(loginctl) << "#!/bin/sh\necho $(($(date +%s%N) / 1000)) >> " << locks() << "\n";
    fs::permissions(loginctl, fs::perms::owner_all);
    std::ofstream(config(), std::ios::app) << "plugins.lock.command = " << loginctl << "\n";
  }

  std::unique_ptr<ServerProcess> run(const std::map<std::string, std::string>& env = {}) const {
    auto p = std::make_unique<ServerProcess>(
        keyturn::test::agentBinary(), std::vector<std::string>{"run", "--config", config(), "--log-format", "json"},
        env);
    require(!p->waitForLine("\"connected\"", std::chrono::seconds(60)).empty(), "keyturn-agent run",
            p->stderrText());
    return p;
  }

  std::string config() const { return base_ + "/agent.conf"; }
  std::string stateDir() const { return base_ + "/state"; }
  const std::string& base() const { return base_; }
  std::string locks() const { return base_ + "/locks"; }
  const std::string& device() const { return device_; }

 private:
  std::string device_, base_;
};

// "VmRSS:     8123 kB" -> 8123 for each "Key:" of a /proc file.
std::map<std::string, long> procKb(const std::string& path) {
  std::map<std::string, long> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    out[line.substr(0, colon)] = std::atol(line.c_str() + colon + 1);
  }
  return out;
}

// Rss per mapped file (anonymous memory as "[anon]"), largest first, from /proc/PID/smaps.
std::vector<std::pair<long, std::string>> rssByMapping(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps");
  std::map<std::string, long> kb;
  std::string line, current = "[anon]";
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (std::isxdigit(static_cast<unsigned char>(line[0])) && line.find('-') < 16 && line.find(':') > 16) {
      // "start-end perms offset dev inode   path"
      std::istringstream fields(line);
      std::string range, perms, offset, dev, inode, path;
      fields >> range >> perms >> offset >> dev >> inode;
      std::getline(fields, path);
      path.erase(0, path.find_first_not_of(' '));
      current = path.empty() ? "[anon]" : fs::path(path).filename().string();
      if (!path.empty() && path[0] == '[') current = path;
      continue;
    }
    if (line.rfind("Rss:", 0) == 0) kb[current] += std::atol(line.c_str() + 4);
  }
  std::vector<std::pair<long, std::string>> out;
  for (const auto& [name, k] : kb) out.emplace_back(k, name);
  std::sort(out.rbegin(), out.rend());
  return out;
}

// Samples the idle process `p` (already connected) for --seconds: VmRSS every second
// from /proc/PID/status, then VmRSS, VmHWM, RssAnon, RssFile, Pss and private memory
// (/proc/PID/smaps_rollup) and the largest mappings (/proc/PID/smaps, per file).
void sampleIdle(ServerProcess& p, const std::string& label, const AgentOptions& options) {
  const std::string status = "/proc/" + std::to_string(p.pid()) + "/status";
  const auto start = Clock::now();
  long minRss = 1L << 40, maxRss = 0;
  while (secondsSince(start) < options.idleSeconds) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    long rss = procKb(status)["VmRSS"];
    minRss = std::min(minRss, rss);
    maxRss = std::max(maxRss, rss);
  }
  auto s = procKb(status);
  require(s.count("VmRSS") == 1, label + " exited while idle", p.stderrText());
  auto rollup = procKb("/proc/" + std::to_string(p.pid()) + "/smaps_rollup");
  std::printf("%-34s VmRSS %5.2f MiB (%.2f-%.2f while idle; HWM %.2f)  RssAnon %.2f  RssFile %.2f  "
              "Pss %.2f  Private %.2f MiB  threads %ld\n",
              label.c_str(), s["VmRSS"] / 1024.0, minRss / 1024.0, maxRss / 1024.0, s["VmHWM"] / 1024.0,
              s["RssAnon"] / 1024.0, s["RssFile"] / 1024.0, rollup["Pss"] / 1024.0,
              (rollup["Private_Clean"] + rollup["Private_Dirty"]) / 1024.0, s["Threads"]);
  auto top = rssByMapping(p.pid());
  std::printf("    largest:");
  for (std::size_t i = 0; i < top.size() && i < 10; ++i)
    std::printf(" %s %.2f%s", top[i].second.c_str(), top[i].first / 1024.0, i + 1 < 10 ? "," : "");
  std::printf(" (MiB)\n");
  // Child processes belong to the figure too: the agent keeps a forked policy worker
  // (docs/decisions.md). Its VmRSS counts the pages it shares with the parent after the
  // fork; Pss splits those, so the sum of Pss is what the two cost together.
  std::ifstream children("/proc/" + std::to_string(p.pid()) + "/task/" + std::to_string(p.pid()) + "/children");
  double pss = rollup["Pss"], priv = rollup["Private_Clean"] + rollup["Private_Dirty"];
  for (long child; children >> child;) {
    auto cs = procKb("/proc/" + std::to_string(child) + "/status");
    auto cr = procKb("/proc/" + std::to_string(child) + "/smaps_rollup");
    std::printf("    + child %ld: VmRSS %.2f MiB  RssAnon %.2f  RssFile %.2f  Pss %.2f  Private %.2f MiB\n", child,
                cs["VmRSS"] / 1024.0, cs["RssAnon"] / 1024.0, cs["RssFile"] / 1024.0, cr["Pss"] / 1024.0,
                (cr["Private_Clean"] + cr["Private_Dirty"]) / 1024.0);
    pss += cr["Pss"];
    priv += cr["Private_Clean"] + cr["Private_Dirty"];
    std::printf("    together: Pss %.2f MiB, private %.2f MiB\n", pss / 1024.0, priv / 1024.0);
  }
}

void idleRss(const EnrolledAgent& agent, const std::string& label, const AgentOptions& options,
             const std::map<std::string, std::string>& env) {
  auto p = agent.run(env);
  sampleIdle(*p, label, options);
  // The agent stayed connected: its log has no error.
  std::string log = p->stderrText();
  require(log.find("\"level\":\"error\"") == std::string::npos, "agent logged an error while idle", log);
  p->stop(SIGTERM);
}

int runRss(const AgentOptions& options) {
  std::printf("== rss: idle resident memory of an enrolled, connected agent after %.0f s of polling "
              "(goal <= 10 MiB)\n",
              options.idleSeconds);
  BenchServer server;
  EnrolledAgent shipped(server, "bench-rss", keyturn::test::agentPluginDir());
  idleRss(shipped, "as shipped (3 plugins)", options, {});
  idleRss(shipped, "MALLOC_ARENA_MAX=1", options, {{"MALLOC_ARENA_MAX", "1"}});
  // The same agent with a plugin folder holding only the device plugin (lock, restart,
  // retire, wipe): what loading the script and app plugins costs.
  const std::string only = server.tmp / "plugins-device-only";
  fs::create_directories(only);
  for (const auto& e : fs::directory_iterator(keyturn::test::agentPluginDir()))
    if (e.path().filename().string().find("device") != std::string::npos)
      fs::copy_file(e.path(), only + "/" + e.path().filename().string());
  EnrolledAgent deviceOnly(server, "bench-rss-device", only);
  idleRss(deviceOnly, "device plugin only", options, {});
  return 0;
}

// Milliseconds since the epoch of a JSON log line's "ts" ("2026-11-29T12:59:09.445Z").
std::int64_t logMillis(const std::string& line) {
  auto at = line.find("\"ts\":\"");
  require(at != std::string::npos, "a log line without ts", line);
  std::tm tm{};
  int ms = 0;
  require(std::sscanf(line.c_str() + at + 6, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                      &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) == 7,
          "a log line's ts does not parse", line);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000 + ms;
}

// The lines of `log` containing `needle`, in order.
std::vector<std::string> linesWith(const std::string& log, const std::string& needle) {
  std::vector<std::string> out;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);)
    if (line.find(needle) != std::string::npos) out.push_back(line);
  return out;
}

// app.install of an uploaded artifact (--mib MiB of random bytes) on an online agent,
// --artifact-rounds times: the agent's download and verification (its log lines
// "downloading artifact" -> "artifact downloaded and verified": GET over the kept-alive
// mutual-TLS connection, SHA-256 and size checks while streaming, fsync), and the
// complete call -> the plugin's dpkg starting (a fake dpkg on plugins.command_path that
// writes its start time; it includes the plugin's own re-check of size and SHA-256).
// Submits `action` with `paramsJson` for the agent's device as alice (no approval is
// needed under the fixture policies) and returns the body of its complete call, signed
// beforehand as on her machine.
std::string submitForAgent(BenchServer& server, KeepAliveClient& c, const EnrolledAgent& agent,
                           const std::string& id, const std::string& action,
                           const std::string& paramsJson) {
  auto now = static_cast<std::uint64_t>(std::time(nullptr));
  keyturn::test::TokenSpec spec;
  spec.id = id;
  spec.action = action;
  spec.paramsJson = paramsJson;
  spec.targets = {agent.device()};
  spec.approvers.clear();
  spec.completed = false;
  spec.issued = false;
  spec.created = now - 10;
  spec.expires = spec.created + 86400;
  std::string jws = keyturn::test::makeToken(server.tenant, spec);
  const auto& key = server.tenant.key("alice");
  auto done = server::test::signOver(key, completerHeader(key.publicKey().kid(), now),
                                     parseJws(jws, 4).value().payloadB64);
  Reply s = c.send("POST", "/api/v1/requests",
                   "{\"token\":" + jws + ",\"targets\":[" + json::quote(agent.device()) + "]}",
                   {{"Authorization", server.bearer("alice")}});
  require(s.status == 201, "submit", s.body);
  return "{\"protected\":" + json::quote(done.protectedB64) +
         ",\"signature\":" + json::quote(done.signatureB64) + "}";
}

int runArtifact(const AgentOptions& options) {
  const std::uint64_t size = static_cast<std::uint64_t>(options.artifactMiB) << 20;
  std::printf("== artifact: app.install of a %d MiB artifact on an online agent, %d runs\n", options.artifactMiB,
              options.artifactRounds);
  BenchServer server;
  EnrolledAgent agent(server, "bench-artifact", keyturn::test::agentPluginDir());
  const std::string dpkg = agent.base() + "/bin/dpkg", starts = agent.base() + "/dpkg-starts";
  std::ofstream(dpkg) << "#!/bin/sh\necho $(($(/bin/date +%s%N) / 1000)) >> " << starts << "\n";
  fs::permissions(dpkg, fs::perms::owner_all);
  std::ofstream(agent.config(), std::ios::app) << "plugins.command_path = " << agent.base() << "/bin\n";
  std::string bytes(size, '\0');
  std::mt19937_64 rng(42);
  for (std::size_t i = 0; i + 8 <= bytes.size(); i += 8) {
    std::uint64_t v = rng();
    std::memcpy(&bytes[i], &v, 8);
  }
  const std::map<std::string, std::string> alice{{"Authorization", server.bearer("alice")}};
  auto c = server.client();
  auto upHeaders = alice;
  upHeaders["Content-Type"] = "application/octet-stream";
  Reply up = c->send("POST", "/api/v1/artifacts?name=bench.deb", bytes, upHeaders);
  require(up.status == 201, "artifact upload", up.body);
  const std::string sha = toHex(sha256(bytes));
  bytes.clear();
  bytes.shrink_to_fit();
  auto p = agent.run();
  std::vector<double> fetchMs, totalMs;
  for (int round = 1; round <= options.artifactRounds; ++round) {
    const std::string id = "r-art-" + std::to_string(round);
    const std::string complete = submitForAgent(
        server, *c, agent, id, "app.install",
        "{\"name\":\"bench\",\"source\":\"artifact\",\"sha256\":" + json::quote(sha) +
            ",\"size\":" + std::to_string(size) + "}");
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    const auto before = static_cast<std::size_t>(fs::exists(starts) ? fs::file_size(starts) : 0);
    const std::int64_t t0 = wallMicros();
    Reply d = c->send("POST", "/api/v1/requests/" + id + "/complete", complete, alice);
    require(d.status == 200, "complete", d.body);
    std::string line;
    const auto deadline = Clock::now() + std::chrono::seconds(120);
    while (line.empty() && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      std::ifstream in(starts);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (text.size() > before && text.back() == '\n') line = text.substr(before, text.size() - before - 1);
    }
    require(!line.empty(), "dpkg did not start within 120 s", p->stderrText());
    totalMs.push_back((std::atoll(line.c_str()) - t0) / 1000.0);
    const std::string log = p->stderrText();
    auto began = linesWith(log, "\"msg\":\"downloading artifact\"");
    auto verified = linesWith(log, "\"msg\":\"artifact downloaded and verified\"");
    require(began.size() == static_cast<std::size_t>(round) && verified.size() == static_cast<std::size_t>(round),
            "one download per round", log);
    fetchMs.push_back(static_cast<double>(logMillis(verified.back()) - logMillis(began.back())));
    std::printf("run %d  download+verify %7.1f ms (%6.1f MiB/s)  complete -> dpkg starts %7.1f ms\n", round,
                fetchMs.back(), options.artifactMiB / (std::max(fetchMs.back(), 1.0) / 1000.0), totalMs.back());
  }
  std::sort(fetchMs.begin(), fetchMs.end());
  std::sort(totalMs.begin(), totalMs.end());
  std::printf("median download+verify %.1f ms = %.1f MiB/s (min %.1f, max %.1f ms); complete -> dpkg median %.1f ms\n",
              median(fetchMs), options.artifactMiB / (std::max(median(fetchMs), 1.0) / 1000.0), fetchMs.front(),
              fetchMs.back(), median(totalMs));
  const std::string log = p->stderrText();
  require(log.find("\"level\":\"error\"") == std::string::npos, "the agent logged an error", log);
  p->stop(SIGTERM);
  return 0;
}

// The floor under the agent's figure, sampled the same way in the same invocation: a
// bare C program (libc and ld.so only), then bench_agent_floor (the same shared Poco and
// OpenSSL libraries holding one kept-alive mutual-TLS poll with this agent's certificate
// and key, no keyturn code), then the agent itself.
int runFloor(const AgentOptions& options) {
  std::printf("== floor: what the process, the libraries and one mutual-TLS poll cost before any agent "
              "code, after %.0f s idle\n",
              options.idleSeconds);
  BenchServer server;
  EnrolledAgent agent(server, "bench-floor", keyturn::test::agentPluginDir());
  {
    ServerProcess bare(KEYTURN_FLOOR_BARE_BINARY, {});
    require(!bare.waitForLine("connected", std::chrono::seconds(10)).empty(), "bench_floor_bare", bare.stderrText());
    sampleIdle(bare, "bare C program (libc, pause())", options);
    bare.stop(SIGTERM);
  }
  auto sampleFloor = [&](const char* binary, const char* label) {
    ServerProcess floor(binary,
                        {"https://localhost:" + std::to_string(server.port), agent.stateDir() + "/ca.pem",
                         agent.stateDir() + "/device.pem", agent.stateDir() + "/device.key"});
    require(!floor.waitForLine("connected", std::chrono::seconds(60)).empty(), binary, floor.stderrText());
    sampleIdle(floor, label, options);
    require(floor.stderrText() == "connected\n", "the floor program lost its poll", floor.stderrText());
    floor.stop(SIGTERM);
  };
  sampleFloor(KEYTURN_AGENT_FLOOR_BINARY, "Poco+OpenSSL mutual-TLS poll");
#ifdef KEYTURN_AGENT_FLOOR_STATIC_BINARY
  // KEYTURN_STATIC_AGENT: the same program with Poco and OpenSSL linked statically.
  sampleFloor(KEYTURN_AGENT_FLOOR_STATIC_BINARY, "static Poco+OpenSSL mutual-TLS poll");
#endif
  idleRss(agent, "keyturn-agent (3 plugins)", options, {});
  return 0;
}

int runLatency(const AgentOptions& options) {
  std::printf("== latency: complete call -> plugin command starts on an online agent, %d runs "
              "(goal < 1 s median)\n",
              options.rounds);
  BenchServer server;
  EnrolledAgent agent(server, "bench-latency", keyturn::test::agentPluginDir());
  auto p = agent.run();
  auto c = server.client();
  c->send("GET", "/healthz");  // the handshake, outside the timer
  const std::map<std::string, std::string> alice{{"Authorization", server.bearer("alice")}};
  std::vector<double> total, call;
  for (int round = 1; round <= options.rounds; ++round) {
    // A device.lock needs no approval under the fixture policies: submit, then complete.
    const std::string id = "r-lat-" + std::to_string(round);
    const std::string complete = submitForAgent(server, *c, agent, id, "device.lock", "{}");
    // Let the agent go back to a held poll after the previous round's result.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    const auto before = static_cast<std::size_t>(fs::exists(agent.locks()) ? fs::file_size(agent.locks()) : 0);
    const std::int64_t t0 = wallMicros();
    Reply d = c->send("POST", "/api/v1/requests/" + id + "/complete", complete, alice);
    const std::int64_t t1 = wallMicros();
    require(d.status == 200, "complete", d.body);
    std::string line;
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    while (line.empty() && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      std::ifstream in(agent.locks());
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (text.size() > before && text.back() == '\n')
        line = text.substr(before, text.size() - before - 1);
    }
    require(!line.empty(), "the lock command did not start within 30 s", p->stderrText());
    total.push_back((std::atoll(line.c_str()) - t0) / 1000.0);
    call.push_back((t1 - t0) / 1000.0);
    std::printf("run %2d  %7.1f ms to the plugin's command  (complete call %6.1f ms)\n", round, total.back(),
                call.back());
  }
  std::sort(total.begin(), total.end());
  std::printf("median %7.1f ms, min %.1f, max %.1f (goal < 1000 ms); complete call median %.1f ms\n",
              median(total), total.front(), total.back(), median(call));
  p->stop(SIGTERM);
  return 0;
}

}  // namespace
}  // namespace keyturn::bench

int main(int argc, char** argv) {
  using namespace keyturn::bench;
  std::string mode = argc > 1 ? argv[1] : "all";
  AgentOptions options;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--seconds") options.idleSeconds = std::atof(argv[i + 1]);
    else if (k == "--rounds") options.rounds = std::atoi(argv[i + 1]);
    else if (k == "--mib") options.artifactMiB = std::atoi(argv[i + 1]);
    else if (k == "--artifact-rounds") options.artifactRounds = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: bench_agent [floor|rss|latency|artifact|all] [--seconds S] [--rounds N] [--mib M] [--artifact-rounds N]\n");
      return 2;
    }
  }
  try {
    if (mode == "floor" || mode == "all") runFloor(options);
    if (mode == "rss" || mode == "all") runRss(options);
    if (mode == "latency" || mode == "all") runLatency(options);
    if (mode == "artifact" || mode == "all") runArtifact(options);
    if (mode != "floor" && mode != "rss" && mode != "latency" && mode != "artifact" && mode != "all") {
      std::fprintf(stderr, "usage: bench_agent [floor|rss|latency|artifact|all] [--seconds S] [--rounds N] [--mib M] [--artifact-rounds N]\n");
      return 2;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_agent: %s\n", e.what());
    return 1;
  }
  return 0;
}
