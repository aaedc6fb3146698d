#include "agent_daemon.h"

#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <ctime>
#include <random>

#include "keyturn/bundle.h"
#include "keyturn/crypto_util.h"
#include "keyturn/json.h"
#include "keyturn/token.h"
#include "artifact_fetcher.h"
#include "linked_libraries.h"
#include "plugin_host.h"
#include "posix_platform.h"

namespace keyturn::agent {
namespace {

constexpr std::size_t kMaxResultsBody = 1000 * 1000;

std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

// "\"idle-v7\"" → 7; 0 when the tag names no version.
std::uint64_t versionOfTag(const std::string& tag) {
  auto at = tag.find("idle-v");
  if (at == std::string::npos) return 0;
  return std::strtoull(tag.c_str() + at + 6, nullptr, 10);
}

// The body of POST /api/v1/agent/results for [first, last).
std::string resultsJson(std::vector<OutboxResult>::const_iterator first, std::vector<OutboxResult>::const_iterator last) {
  std::string body = "{\"results\":[";
  for (auto it = first; it != last; ++it) {
    body += std::string(it != first ? "," : "") + "{\"request\":" + json::quote(it->requestId) +
            ",\"state\":" + json::quote(it->state);
    if (it->exitCode && *it->exitCode >= 0) body += ",\"exit_code\":" + std::to_string(*it->exitCode);
    body += ",\"output\":" + json::quote(it->output) + ",\"at\":" + std::to_string(it->at) + "}";
  }
  return body + "]}";
}

std::string errorOf(const Reply& r) {
  auto o = json::parseObject(r.body);
  std::string e = std::to_string(r.status);
  if (o && o.value()->has("error")) e += " " + o.value()->optValue<std::string>("error", "");
  if (o && o.value()->has("detail")) e += ": " + o.value()->optValue<std::string>("detail", "");
  return e;
}

}  // namespace

AgentDaemon::AgentDaemon(AgentConfig config, AgentLog& log) : config_(std::move(config)), log_(log) {
  if (::pipe(wake_) == 0) {
    ::fcntl(wake_[0], F_SETFL, O_NONBLOCK);
    ::fcntl(wake_[1], F_SETFL, O_NONBLOCK);
  }
}

AgentDaemon::~AgentDaemon() {
  processor_.reset();
  runner_.reset();
  host_.reset();  // plugins torn down before their libraries go
  for (int fd : wake_)
    if (fd >= 0) ::close(fd);
}

void AgentDaemon::requestStop() {
  stop_.store(true);
  if (wake_[1] >= 0) {
    char c = 1;
    (void)!::write(wake_[1], &c, 1);
  }
  if (client_) client_->interrupt();
}

Status AgentDaemon::start() {
  // The device key is this machine's identity towards the coordinator.
  struct stat st {};
  if (::stat(config_.keyFile().c_str(), &st) != 0)
    return Status::fail("io", "cannot read the device key " + config_.keyFile() + ": " + std::strerror(errno));
  if (st.st_mode & (S_IRWXG | S_IRWXO))
    return Status::fail("insecure_permissions", config_.keyFile() + " is readable by others than its owner (chmod 600)");
  auto trust = TrustStore::open(config_.stateDir);
  if (!trust) return trust.status();
  trust_ = std::make_unique<TrustStore>(std::move(trust).value());
  auto loaded = trust_->load(now());
  if (!loaded) return Status::fail(loaded.reason(), "the stored trust bundle does not verify: " + loaded.detail());
  bundle_.emplace(std::move(loaded).value());
  if (static_cast<std::int64_t>(bundle_->bundle.expires) <= now())
    log_.warn("the trust bundle has expired; every token is refused until a newer one arrives",
              {LogField::num("version", static_cast<std::int64_t>(bundle_->bundle.version))});

  auto state = AgentState::open(config_.databaseFile());
  if (!state) return state.status();
  state_ = std::move(state).value();
  auto journal = ReplayJournal::open(trust_->journalPath());
  if (!journal) return journal.status();
  journal_ = std::move(journal).value();

  auto pluginConfig = plugin::readPluginConfig(config_.path);
  if (!pluginConfig) return pluginConfig.status();
  // plugins.command_path: the PATH of plugin commands (apt-get, dpkg, systemctl ...);
  // only absolute folders, so a relative entry never resolves against a working folder.
  std::string commandPath;
  if (auto it = pluginConfig->find("command_path"); it != pluginConfig->end()) {
    commandPath = it->second;
    std::size_t start = 0;
    for (;;) {
      std::size_t end = commandPath.find(':', start);
      std::string dir = commandPath.substr(start, end == std::string::npos ? std::string::npos : end - start);
      if (dir.empty() || dir[0] != '/')
        return Status::fail("bad_config", "plugins.command_path must be absolute folders separated by ':'");
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  platform_ = std::make_unique<plugin::PosixPlatform>(commandPath);
  host_ = std::make_unique<plugin::PluginHost>();
  if (Status s = host_->load(config_.pluginDir, pluginConfig.value()); !s) return s;
  client_ = std::make_unique<CoordinatorClient>(config_.server, config_.caFile(), config_.certificateFile(),
                                                config_.keyFile());
  // Artifacts for app.install are fetched on this thread, between polls, over the same
  // mutual-TLS connection; a stop request cuts the download and its retry pauses.
  fetcher_ = std::make_unique<ArtifactFetcher>(
      config_.stateDir + "/artifacts",
      [this](const std::string& path, const CoordinatorClient::Sink& sink) { return client_->download(path, sink); },
      [this](std::int64_t ms) {
        pause(ms);
        return !stop_.load();
      },
      [] { return now(); }, log_, config_.artifactRetrySeconds);
  if (Status s = fetcher_->prepare(); !s)
    log_.error("the artifact folder is not usable; app.install from an artifact will fail",
               {LogField::str("detail", s.detail())});
  runner_ = std::make_unique<PluginActionRunner>(*host_, *platform_, fetcher_.get());

  refused_ = RefusedBundle::fromJson(state_->meta("refused_bundle").value_or(""));
  if (refused_)
    log_.warn("a bundle update refused earlier is still ignored while the coordinator serves it",
              {LogField::num("version", static_cast<std::int64_t>(refused_->version())),
               LogField::str("sha256", refused_->sha256()), LogField::str("reason", refused_->reason())});

  detected_ = detectFacts();
  facts_ = agentFacts(config_, detected_);
  processor_ = std::make_unique<TokenProcessor>(*state_, *journal_, *runner_, log_, [] { return now(); });
  log_.info("agent started", {LogField::str("device", config_.deviceId), LogField::str("server", config_.server),
                              LogField::num("bundle_version", static_cast<std::int64_t>(bundle_->bundle.version)),
                              LogField::num("plugins_actions", static_cast<std::int64_t>(host_->actions().size()))});
  if (Status s = processor_->recover(); !s)
    log_.error("cannot finish interrupted executions yet; will retry", {LogField::str("detail", s.detail())});
  releaseFreedMemory();
  return Status::ok();
}

void AgentDaemon::releaseFreedMemory() {
  // Startup (bundle verification, plugin loading), the TLS handshake and token
  // processing free most of what they allocate, but glibc keeps freed pages in the heap.
  // Give them back to the kernel so an idle agent holds only what it still uses
  // (docs/performance.md "Agent"). Only after work, never on an idle poll.
  // The policy worker (a forked child holding the bundle's Lua) goes too: the next token
  // forks a fresh one, so an idle agent is a single process.
  if (bundle_ && bundle_->engine) bundle_->engine->releaseWorker();
  ::malloc_trim(0);
  worked_ = false;
}

void AgentDaemon::run() {
  int failures = 0;
  while (!stop_.load()) {
    decideTokens();
    if (cycle()) {
      failures = 0;
      if (worked_) releaseFreedMemory();
      continue;
    }
    if (stop_.load()) break;
    ++failures;
    std::int64_t wait = backoffMillis(failures);
    log_.info("retrying later", {LogField::num("in_ms", wait), LogField::num("failures", failures)});
    pause(wait);
  }
  log_.info("agent stopped");
}

std::int64_t AgentDaemon::backoffMillis(int failures) {
  // 1 s, 2 s, 4 s ... up to the configured maximum, each drawn from [d/2, d] so that
  // agents that lost the coordinator together do not all come back in the same second.
  std::int64_t cap = static_cast<std::int64_t>(config_.backoffMaxSeconds) * 1000;
  std::int64_t d = std::min<std::int64_t>(cap, 1000LL << std::min(failures - 1, 20));
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return d / 2 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(d / 2 + 1));
}

void AgentDaemon::pause(std::int64_t ms) {
  if (stop_.load()) return;
  pollfd p{wake_[0], POLLIN, 0};
  ::poll(&p, 1, static_cast<int>(ms));
  char buf[16];
  while (::read(wake_[0], buf, sizeof buf) > 0) {
  }
}

void AgentDaemon::decideTokens() {
  if (Status s = processor_->recover(); !s)
    log_.error("cannot finish interrupted executions", {LogField::str("detail", s.detail())});
  if (Status s = processor_->processInbox(bundle_.value(), facts_); !s)
    log_.error("cannot decide received tokens now; they stay in the inbox", {LogField::str("detail", s.detail())});
  // Deciding started the policy worker (a token waiting for its artifact is decided again
  // on every round): release it now rather than after the next long poll.
  if (bundle_->engine && bundle_->engine->workerRunning()) releaseFreedMemory();
}

void AgentDaemon::noteContact() {
  std::int64_t t = now();
  if (t - lastContactWritten_ < 60) return;  // to the minute: an idle poll writes nothing
  if (state_->setMeta("last_contact", std::to_string(t))) lastContactWritten_ = t;
}

bool AgentDaemon::cycle() {
  if (needFacts_ && !sendFacts()) return false;
  if (needBundles_ && !syncBundles()) return false;
  if (!reportResults()) return false;

  const bool hadTag = !etag_.empty();
  // The first poll only learns the idle tag (a poll without If-None-Match is held
  // whatever happens to the bundles); from then on a new bundle ends a held poll.
  int wait = hadTag ? config_.pollWaitSeconds : 0;
  auto began = std::chrono::steady_clock::now();
  auto reply = client_->send("GET", "/api/v1/agent/tokens?wait=" + std::to_string(wait), "", etag_, wait + 15);
  // A coordinator holding too many polls answers at once; never turn that into a busy
  // loop: an idle answer that came back quickly is followed by a short jittered pause.
  auto idlePause = [&] {
    if (!hadTag || std::chrono::steady_clock::now() - began >= std::chrono::seconds(1)) return;
    pause(backoffMillis(wait == 0 ? 4 : 2));
  };
  if (!reply) {
    if (!stop_.load()) log_.warn("coordinator unreachable", {LogField::str("detail", reply.detail())});
    return false;
  }
  if (reply->status == 304) {
    noteContact();
    idlePause();
    return true;
  }
  if (reply->status != 200) {
    log_.error("coordinator refused the token poll", {LogField::str("error", errorOf(reply.value()))});
    return false;
  }
  noteContact();
  auto body = json::parseObject(reply->body);
  Poco::JSON::Array::Ptr tokens;
  if (body) tokens = body.value()->getArray("tokens");
  if (!tokens) {
    log_.error("coordinator sent a token list that does not parse; ignored", {});
    return false;
  }
  std::uint64_t local = bundle_->bundle.version;
  bool newer = versionOfTag(reply->etag) > local;
  std::size_t stored = 0;
  for (std::size_t i = 0; i < tokens->size(); ++i) {
    std::string bytes = json::stringify(tokens->get(static_cast<unsigned>(i)));
    if (auto t = parseToken(bytes); t && t->payload.bundle > local) newer = true;
    if (Status s = state_->addToInbox(bytes, now()); !s) {
      // Not stored: the coordinator sends it again after its lease, nothing is lost.
      log_.error("cannot store a received token", {LogField::str("detail", s.detail())});
      continue;
    }
    ++stored;
  }
  if (!reply->etag.empty()) etag_ = reply->etag;
  if (stored > 0) log_.info("tokens received", {LogField::num("count", static_cast<std::int64_t>(stored))});
  // Bundles first: a token may depend on a policy published with the newer bundle.
  if (newer || needBundles_) syncBundles();
  if (stored > 0) {
    decideTokens();
    reportResults();
    worked_ = true;
  } else {
    idlePause();
  }
  return true;
}

bool AgentDaemon::syncBundles() {
  std::uint64_t local = bundle_->bundle.version;
  auto reply = client_->send("GET", "/api/v1/agent/bundles?after=" + std::to_string(local));
  if (!reply) {
    log_.warn("coordinator unreachable", {LogField::str("detail", reply.detail())});
    return false;
  }
  if (reply->status != 200) {
    log_.error("coordinator refused the bundle chain", {LogField::str("error", errorOf(reply.value()))});
    return false;
  }
  noteContact();
  needBundles_ = false;
  auto body = json::parseObject(reply->body);
  Poco::JSON::Array::Ptr list;
  if (body) list = body.value()->getArray("bundles");
  if (!list) {
    log_.error("coordinator sent a bundle chain that does not parse; keeping version " + std::to_string(local));
    return true;
  }
  bool changed = false;
  for (std::size_t i = 0; i < list->size(); ++i) {
    // One at a time, each checked against the one in force: TrustStore refuses a gap,
    // a rollback or a bundle the current admins did not sign, and keeps the current one.
    std::string bytes = json::stringify(list->get(static_cast<unsigned>(i)));
    std::string sha = toHex(sha256(bytes));
    // The same refused bytes again: already logged and reported; stop here quietly.
    if (refused_ && refused_->skips(sha, now())) break;
    auto version = trust_->update(bytes, now());
    if (!version) {
      // Stored first, then logged: whoever reads the log line (an operator, a test) and
      // then runs `keyturn-agent status` finds the refusal there.
      rememberRefusal(bytes, sha, version.error());
      log_.error("bundle update refused; keeping the current bundle",
                 {LogField::num("version", static_cast<std::int64_t>(trust_->currentVersion())),
                  LogField::str("reason", version.reason()), LogField::str("detail", version.detail()),
                  LogField::str("sha256", sha)});
      break;
    }
    if (refused_ && version.value() >= refused_->version()) forgetRefusal();
    log_.info("bundle updated", {LogField::num("version", static_cast<std::int64_t>(version.value()))});
    changed = true;
  }
  if (changed) {
    auto loaded = trust_->load(now());
    if (!loaded) {
      log_.error("the updated bundle does not load; every token is refused until this is fixed",
                 {LogField::str("reason", loaded.reason()), LogField::str("detail", loaded.detail())});
    } else {
      bundle_.emplace(std::move(loaded).value());
      needFacts_ = true;  // the coordinator shows which bundle each device holds
    }
    worked_ = true;
  }
  return true;
}

void AgentDaemon::rememberRefusal(const std::string& bytes, const std::string& sha, const Error& why) {
  std::uint64_t version = 0;
  if (auto b = TrustBundle::parse(bytes)) version = b->version;
  refused_.emplace(version, sha, why.reason, why.detail, now());
  if (Status s = state_->setMeta("refused_bundle", refused_->toJson()); !s)
    log_.warn("cannot store the refused bundle's digest (it is checked again at the next start)",
              {LogField::str("detail", s.detail())});
}

void AgentDaemon::forgetRefusal() {
  if (!refused_) return;
  refused_.reset();
  (void)state_->setMeta("refused_bundle", "");
}

bool AgentDaemon::reportResults() {
  for (;;) {
    auto pending = state_->pendingResults(100);
    if (!pending) {
      log_.error("cannot read the outbox", {LogField::str("detail", pending.detail())});
      return true;  // nothing the network can fix
    }
    if (pending->empty()) return true;
    std::vector<OutboxResult> batch = std::move(pending).value();
    // The coordinator takes at most 1 MiB per call; one result always fits.
    while (batch.size() > 1 && resultsJson(batch.begin(), batch.end()).size() > kMaxResultsBody) batch.pop_back();
    auto reply = client_->send("POST", "/api/v1/agent/results", resultsJson(batch.begin(), batch.end()));
    if (!reply) {
      log_.warn("results wait in the outbox: coordinator unreachable", {LogField::str("detail", reply.detail())});
      return false;
    }
    if (reply->status == 200) {
      noteContact();
      std::vector<std::string> ids;
      for (const auto& r : batch) ids.push_back(r.requestId);
      if (Status s = state_->acknowledge(ids, now()); !s) {
        log_.error("cannot record acknowledged results (they will be sent again)", {LogField::str("detail", s.detail())});
        return true;
      }
      log_.info("results reported", {LogField::num("count", static_cast<std::int64_t>(ids.size()))});
      continue;
    }
    if (reply->status >= 400 && reply->status < 500 && reply->status != 401 && reply->status != 403) {
      // The coordinator refuses something in the batch for good. Find it one by one; the
      // ones it refuses alone are kept aside with the reason (not sent forever).
      if (batch.size() == 1) {
        log_.error("coordinator refused a result; kept aside",
                   {LogField::str("request", batch[0].requestId), LogField::str("error", errorOf(reply.value()))});
        (void)state_->markUndeliverable(batch[0].requestId, errorOf(reply.value()));
        continue;
      }
      for (auto it = batch.begin(); it != batch.end(); ++it) {
        const OutboxResult& r = *it;
        auto single = client_->send("POST", "/api/v1/agent/results", resultsJson(it, it + 1));
        if (!single) return false;
        if (single->status == 200) {
          (void)state_->acknowledge({r.requestId}, now());
        } else if (single->status >= 400 && single->status < 500 && single->status != 401 && single->status != 403) {
          log_.error("coordinator refused a result; kept aside",
                     {LogField::str("request", r.requestId), LogField::str("error", errorOf(single.value()))});
          (void)state_->markUndeliverable(r.requestId, errorOf(single.value()));
        } else {
          return false;
        }
      }
      continue;
    }
    log_.error("results wait in the outbox: coordinator refused them", {LogField::str("error", errorOf(reply.value()))});
    return false;
  }
}

bool AgentDaemon::sendFacts() {
  auto reply = client_->send("PUT", "/api/v1/agent/facts",
                             agentReportJson(facts_, detected_.hostname, agentProgramVersion(), bundle_->bundle.version));
  if (!reply) {
    log_.warn("coordinator unreachable", {LogField::str("detail", reply.detail())});
    return false;
  }
  if (reply->status == 401 || reply->status == 403 || reply->status >= 500) {
    log_.error("coordinator refused this device", {LogField::str("error", errorOf(reply.value()))});
    return false;
  }
  needFacts_ = false;
  if (reply->status != 204 && reply->status != 200)
    log_.warn("coordinator refused the facts report", {LogField::str("error", errorOf(reply.value()))});
  else
    log_.info("connected", {LogField::str("server", config_.server)});
  worked_ = true;  // the first exchange: the TLS handshake is behind us
  noteContact();
  return true;
}

}  // namespace keyturn::agent
