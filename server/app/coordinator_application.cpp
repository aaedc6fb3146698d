#include "app/coordinator_application.h"

#include <Poco/Exception.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/NumberParser.h>
#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionException.h>
#include <Poco/Util/OptionSet.h>
#include <Poco/Util/PropertyFileConfiguration.h>
#include <signal.h>

#include <ctime>
#include <filesystem>

#include "app/agent_routes.h"
#include "app/artifact_routes.h"
#include "app/audit_routes.h"
#include "app/device_routes.h"
#include "app/login_routes.h"
#include "app/notification_routes.h"
#include "app/openapi_document.h"
#include "app/request_routes.h"
#include "app/system_routes.h"
#include "store/sqlite_store.h"

namespace keyturn::server {

using Poco::Util::Option;

namespace {
constexpr int kExitUsage = 64;   // EX_USAGE
constexpr int kExitConfig = 78;  // EX_CONFIG

// Signals are blocked before any thread exists, so every thread inherits the mask and
// the only place SIGTERM/SIGINT is taken is waitForTerminationRequest()'s sigwait.
// Otherwise a request thread could receive SIGTERM and die with the default action.
void blockTerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGQUIT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}
}  // namespace

CoordinatorApplication::CoordinatorApplication() { setUnixOptions(true); }

CoordinatorApplication::~CoordinatorApplication() = default;

int CoordinatorApplication::execute(int argc, char** argv) {
  try {
    init(argc, argv);
  } catch (const Poco::Util::OptionException& e) {
    std::cerr << "keyturn-server run: " << e.displayText() << "\n";
    return kExitUsage;
  }
  return Application::run();
}

void CoordinatorApplication::defineOptions(Poco::Util::OptionSet& options) {
  options.addOption(Option("data", "", "data folder made by keyturn-server init").argument("DIR"));
  options.addOption(Option("port", "",
                           "listen on this port instead of the configured one; "
                           "0 picks a free port")
                        .argument("N"));
  options.addOption(Option("log-format", "", "json (one object per line) or text").argument("F"));
  options.addOption(Option("help", "h", "print this help"));
}

void CoordinatorApplication::handleOption(const std::string& name, const std::string& value) {
  ServerApplication::handleOption(name, value);
  if (name == "data") {
    dataDir_ = value;
  } else if (name == "port") {
    int port = 0;
    if (!Poco::NumberParser::tryParse(value, port) || port < 0 || port > 65535)
      usageError_ = "--port must be 0..65535, got " + value;
    else
      port_ = port;
  } else if (name == "log-format") {
    if (!LogSink::parseFormat(value, logFormat_))
      usageError_ = "--log-format must be json or text, got " + value;
  } else if (name == "help") {
    help_ = true;
    stopOptionsProcessing();
  }
}

void CoordinatorApplication::initialize(Poco::Util::Application& self) {
  log_ = std::make_unique<LogSink>(logFormat_, std::cerr);
  ServerApplication::initialize(self);
  if (help_ || !usageError_.empty()) return;
  if (dataDir_.empty()) {
    usageError_ = "--data DIR is required";
    return;
  }
  blockTerminationSignals();
  try {
    if (Status s = build(); !s) startupError_ = s.error();
  } catch (const Poco::Exception& e) {
    startupError_ = Error{"startup", e.displayText()};
  } catch (const std::exception& e) {
    startupError_ = Error{"startup", e.what()};
  }
}

Status CoordinatorApplication::build() {
  auto config = ServerConfig::load(dataDir_);
  if (!config) return config.status();
  std::string bundlePath = config->bundle;
  std::string tenant = config->tenant;
  auto store = SqliteStore::open(config->database);
  if (!store) return store.status();
  auto ca = tls::CertificateAuthority::load(config->caKey, config->caCertificate);
  if (!ca) return ca.status();
  context_.reset(new ServerContext{std::move(config).value(), *log_,
                                   BundleState(bundlePath, tenant), Router{},
                                   std::move(store).value(),
                                   std::make_unique<tls::CertificateAuthority>(std::move(ca).value()),
                                   DeliveryNotifier{}, HttpMetrics{}, IdlePolls{}});
  addSystemRoutes(*context_);
  addLoginRoutes(*context_);
  addDeviceRoutes(*context_);
  addAgentRoutes(*context_);
  addAuditRoutes(*context_);
  addNotificationRoutes(*context_);
  artifacts_ = std::make_unique<ArtifactLibrary>(*context_->store, context_->config.artifactDir,
                                                 context_->config.artifactMaxBytes);
  if (Status s = artifacts_->prepare(); !s) return s;
  addArtifactRoutes(*context_, *artifacts_);
  if (context_->config.artifactRetentionSeconds > 0)
    pruner_ = std::make_unique<ArtifactPruner>(
        *artifacts_, context_->config.artifactRetentionSeconds, std::chrono::hours(1),
        [this](const std::vector<std::string>& pruned) {
          log_->info("unused artifacts pruned", {LogField::num("count", static_cast<std::int64_t>(pruned.size()))});
        },
        [this](const Error& e) {
          log_->warn("artifact pruning failed", {LogField::str("reason", e.reason), LogField::str("detail", e.detail)});
        });
  addOpenApiRoute(*context_);
  if (Status s = addWorkflow(); !s) return s;
  Poco::Net::initializeSSL();
  auto listener = HttpsListener::create(*context_, port_);
  if (!listener) return listener.status();
  listener_ = std::move(listener).value();
  return Status::ok();
}

Status CoordinatorApplication::addWorkflow() {
  // Request workflow: the issuer key signs tokens at completion; published bundles
  // (maa.bundle.update) live in DATA/bundles and are restored before serving.
  auto issuer = Ed25519PrivateKey::load(context_->config.issuerKey);
  if (!issuer) return issuer.status();
  if (Status s = restorePublishedBundles(*context_, std::time(nullptr)); !s) return s;
  // Notifications (docs/notifications.md): the same properties file, keys keyturn.notify.*.
  Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> properties(
      new Poco::Util::PropertyFileConfiguration(configPath(dataDir_)));
  auto notifyConfig = NotificationConfig::load(*properties, context_->config.hostname);
  if (!notifyConfig) return notifyConfig.status();
  WorkflowOptions options;
  options.notifications = notifyConfig->enabled;
  options.tenant = context_->config.tenant;
  options.requestLifetime = static_cast<std::int64_t>(context_->config.requestLifetimeDays) * 86400;
  options.bundleDir = (std::filesystem::absolute(dataDir_) / "bundles").string();
  options.policyExamplesDir = context_->config.policyExamples;
  ServerContext* context = context_.get();
  workflow_ = std::make_unique<Workflow>(
      *context_->store, std::move(issuer).value(), options,
      [] { return static_cast<std::int64_t>(std::time(nullptr)); },
      [context](std::shared_ptr<const AcceptedBundle> next) {
        return context->bundle.publish(std::move(next));
      });
  addRequestRoutes(*context_, *workflow_);
  if (notifyConfig->enabled)
    notifier_ = std::make_unique<NotificationWorker>(
        *context_->store, context_->bundle, *log_, std::move(notifyConfig).value(),
        std::make_unique<NetworkSender>(), [] { return static_cast<std::int64_t>(std::time(nullptr)); });
  auto metricsConfig = MetricsConfig::load(*properties);
  if (!metricsConfig) return metricsConfig.status();
  if (!metricsConfig->bind.empty()) {
    auto metrics = MetricsServer::create(*context_, notifier_.get(), metricsConfig.value());
    if (!metrics) return metrics.status();
    metrics_ = std::move(metrics).value();
  }
  auto exportConfig = AuditExportConfig::load(*properties, std::filesystem::absolute(dataDir_).string(),
                                               context_->config.hostname);
  if (!exportConfig) return exportConfig.status();
  if (exportConfig->enabled())
    auditExport_ = std::make_unique<AuditExporter>(*context_->store, *log_,
                                                   std::move(exportConfig).value());
  sweeper_ = std::make_unique<ExpirySweeper>(*workflow_, std::chrono::seconds(5), [this](const Error& e) {
    log_->warn("expiry sweep failed", {LogField::str("reason", e.reason), LogField::str("detail", e.detail)});
  });
  return Status::ok();
}

void CoordinatorApplication::uninitialize() {
  listener_.reset();
  metrics_.reset();
  notifier_.reset();
  auditExport_.reset();
  sweeper_.reset();
  workflow_.reset();
  pruner_.reset();
  artifacts_.reset();
  if (context_) Poco::Net::uninitializeSSL();
  context_.reset();
  ServerApplication::uninitialize();
}

int CoordinatorApplication::main(const std::vector<std::string>& args) {
  if (help_) {
    Poco::Util::HelpFormatter help(options());
    help.setCommand("keyturn-server run");
    help.setUsage("--data DIR [--port N] [--log-format json|text]");
    help.setUnixStyle(true);
    help.format(std::cout);
    return EXIT_OK;
  }
  if (usageError_.empty() && !args.empty()) usageError_ = "unexpected argument " + args.front();
  if (!usageError_.empty()) {
    log_->error("usage: " + usageError_);
    return kExitUsage;
  }
  if (!startupError_.reason.empty()) {
    log_->error("cannot start", {LogField::str("reason", startupError_.reason),
                                 LogField::str("detail", startupError_.detail)});
    return kExitConfig;
  }
  listener_->start();
  if (notifier_) notifier_->start();
  if (auditExport_) auditExport_->start();
  const ServerConfig& config = context_->config;
  std::uint64_t version = context_->bundle.version(std::time(nullptr));
  log_->info("listening",
             {LogField::str("tenant", config.tenant), LogField::str("bind", config.bind),
              LogField::num("port", listener_->port()),
              LogField::num("bundle_version", static_cast<std::int64_t>(version))});
  if (metrics_) {
    metrics_->start();
    log_->info("metrics listening", {LogField::num("port", metrics_->port())});
  }
  if (version == 0) {
    auto why = context_->bundle.current(std::time(nullptr));
    log_->warn("no trust bundle yet: /api/v1 answers 503 until the ceremony is done",
               {LogField::str("detail", why ? "" : why.detail())});
  }
  waitForTerminationRequest();
  log_->info("stopping");
  context_->deliveries.wakeAll();  // held long polls answer now instead of in 30 s
  listener_->stop();
  if (metrics_) metrics_->stop();
  if (notifier_) notifier_->stop();  // the send in flight finishes; the rest stays queued
  if (auditExport_) auditExport_->stop();  // exports what was written up to here
  log_->info("stopped");
  return EXIT_OK;
}

}  // namespace keyturn::server
