// Benchmark of `keyturn policy simulate` (issue 8): one device.wipe request against 64
// policies that all match it, over 10,000 device facts files generated in a temporary
// folder. Times reading and parsing the facts, and simulating (loading the engines and
// evaluating every device), with one engine and with one engine per CPU (the default).
// Prints one line per figure; the goal is the whole run under 1 s. Then what the agent's
// idle release of its policy worker costs the next token (docs/decisions.md): one
// evaluation with the worker running, and one after releaseWorker() (fork + compile the
// policies again), with 1 and with 64 policies. Not a test.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "keyturn/policy_kit.h"
#include "keyturn/policy_simulation.h"

using namespace keyturn;
using namespace keyturn::policykit;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

constexpr int kPolicies = 64;
constexpr int kDevices = 10'000;

// 64 policies in the shape of the shipped ones: a site-specific rule, the BYOD rule, a
// bulk rule and a deny for one tag; every one matches device.wipe.
std::vector<PolicySource> policies() {
  std::vector<PolicySource> out;
  for (int i = 0; i < kPolicies; ++i) {
    std::string n = std::to_string(i);
    out.push_back(
        {"p" + n + ".lua",
         "local kSite = 'site-" + std::to_string(i % 8) +
             "'\n"
             "return {\n  name = 'policy-" +
             n +
             "',\n"
             "  actions = { " +
             (i % 2 ? "'device.*'" : "'device.wipe', 'device.retire'") +
             " },\n"
             "  evaluate = function(req, device)\n"
             "    if device.tags.quarantine == 'yes' and " +
             (i == 7 ? "true" : "false") +
             " then\n"
             "      return { deny = 'quarantined' }\n    end\n"
             "    if req.targets.count > 50000 then return { approvals = 2, group = 'maa-admins' } end\n"
             "    if device.tags.site == kSite then\n"
             "      return { approvals = " +
             std::to_string(1 + i % 3) + ", group = 'site-" + std::to_string(i % 16) +
             "' }\n"
             "    end\n"
             "    if device.ownership == 'personal' then return { approvals = 2, group = 'hr-wipe-approvers' } end\n"
             "    if device.groups['kiosk'] then return nil end\n"
             "    return { approvals = 1, group = 'device-approvers' }\n"
             "  end,\n}\n"});
  }
  return out;
}

void writeFacts(const fs::path& dir) {
  const char* owners[] = {"corporate", "personal", "unknown"};
  for (int i = 0; i < kDevices; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "dev-%05d.json", i);
    std::ofstream(dir / name) << "{\"id\":\"dev-" << i << "\",\"ownership\":\"" << owners[i % 3] << "\",\"platform\":\""
                              << (i % 2 ? "linux" : "windows") << "\",\"os_version\":\"12." << (i % 7)
                              << "\",\"groups\":[" << (i % 10 == 0 ? "\"kiosk\"" : "") << "],\"tags\":{\"site\":\"site-"
                              << (i % 12) << "\"}}";
  }
}

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

int main() {
  fs::path dir = fs::temp_directory_path() / ("kt-bench-policy-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  writeFacts(dir);
  auto sources = policies();
  PolicyRequest req;
  req.id = "bench";
  req.action = "device.wipe";
  req.paramsJson = "{\"mode\":\"full\"}";
  req.requesterId = "alice";
  req.targetCount = kDevices;

  // Grouped: devices with equal facts (but for the id) are evaluated once, which the
  // simulator does by default when no policy can see device.id. Per device: the
  // worst case, every device evaluated (a policy that reads device.id, or 10,000 devices
  // whose facts all differ).
  for (bool grouped : {true, false}) {
    for (unsigned engines : {0u, 1u}) {
      for (int round = 0; round < (grouped ? 3 : 1); ++round) {
        auto t0 = Clock::now();
        auto devices = loadDeviceFacts(dir.string());
        auto t1 = Clock::now();
        if (!devices) return std::fprintf(stderr, "facts: %s\n", devices.detail().c_str()), 1;
        SimulationOptions options;
        options.engines = engines;
        options.groupEqualFacts = grouped;
        auto report = simulate(sources, req, devices.value(), options);
        auto t2 = Clock::now();
        if (!report) return std::fprintf(stderr, "simulate: %s\n", report.detail().c_str()), 1;
        std::printf(
            "simulate 1 request x %d policies x %d facts files, %s, %u engine(s): %zu evaluations; read %.0f ms "
            "+ simulate %.0f ms = %.0f ms (verdict %s)\n",
            kPolicies, kDevices, grouped ? "grouped" : "per device",
            engines ? engines : std::max(1u, std::thread::hardware_concurrency()), report->evaluations, ms(t1 - t0),
            ms(t2 - t1), ms(t2 - t0), report->verdict.c_str());
      }
    }
  }
  fs::remove_all(dir);

  DeviceFacts facts;
  facts.id = "dev-1";
  facts.ownership = "corporate";
  facts.tags["site"] = "site-3";
  for (std::size_t count : {std::size_t{1}, sources.size()}) {
    std::vector<PolicySource> some(sources.begin(), sources.begin() + static_cast<long>(count));
    auto engine = PolicyEngine::load(some);
    if (!engine) return std::fprintf(stderr, "load: %s\n", engine.detail().c_str()), 1;
    for (bool released : {false, true}) {
      std::vector<double> times;
      for (int round = 0; round < 21; ++round) {
        if (released) engine.value()->releaseWorker();
        auto t0 = Clock::now();
        auto d = engine.value()->evaluate(req, facts);
        times.push_back(ms(Clock::now() - t0));
        if (!d.status.isOk()) return std::fprintf(stderr, "evaluate: %s\n", d.status.detail().c_str()), 1;
      }
      std::sort(times.begin(), times.end());
      std::printf("evaluate 1 request x %zu polic%s, %s: median %.2f ms, min %.2f, max %.2f (21 runs)\n", count,
                  count == 1 ? "y" : "ies", released ? "worker released before each (fork + load)" : "worker running",
                  times[times.size() / 2], times.front(), times.back());
    }
  }
  return 0;
}
