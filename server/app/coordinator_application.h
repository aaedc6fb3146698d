// `keyturn-server run --data DIR [--port N] [--log-format json|text]`: the coordinator
// as a Poco ServerApplication. initialize() builds everything (config, log, trust
// state, routes, the HTTPS listener) without accepting connections; main() starts,
// waits for SIGTERM/SIGINT, and stops, finishing requests in flight.
#pragma once

#include <Poco/Util/ServerApplication.h>

#include <iostream>
#include <memory>
#include <string>

#include "app/audit_export.h"
#include "app/https_listener.h"
#include "app/log_sink.h"
#include "app/metrics_server.h"
#include "app/notification_worker.h"
#include "app/server_context.h"
#include "service/artifact_library.h"
#include "service/artifact_pruner.h"
#include "service/expiry_sweeper.h"
#include "service/workflow.h"

namespace keyturn::server {

class CoordinatorApplication : public Poco::Util::ServerApplication {
 public:
  CoordinatorApplication();
  ~CoordinatorApplication() override;

  // Parses `argv` (argv[0] is the program) and runs. Unlike ServerApplication::run it
  // reports an unknown or malformed option as a usage error (exit 64), and it has no
  // --daemon mode: the server runs in the foreground under systemd or a container.
  int execute(int argc, char** argv);

 protected:
  void defineOptions(Poco::Util::OptionSet& options) override;
  void handleOption(const std::string& name, const std::string& value) override;
  // Never throws: a startup failure is kept and reported by main() with exit code 78.
  void initialize(Poco::Util::Application& self) override;
  void uninitialize() override;
  int main(const std::vector<std::string>& args) override;

 private:
  Status build();
  Status addWorkflow();  // the request workflow, its routes and the expiry sweep

  std::string dataDir_;
  int port_ = -1;  // -1: the port of keyturn.bind
  LogSink::Format logFormat_ = LogSink::Format::kText;
  bool help_ = false;
  std::string usageError_;
  Error startupError_;

  std::unique_ptr<LogSink> log_;
  std::unique_ptr<ServerContext> context_;
  std::unique_ptr<ArtifactLibrary> artifacts_;  // app.install artifacts (DATA/artifacts)
  std::unique_ptr<ArtifactPruner> pruner_;      // deletes unused ones (retention_s > 0)
  std::unique_ptr<Workflow> workflow_;      // the request workflow (server/service)
  std::unique_ptr<ExpirySweeper> sweeper_;  // expires due requests every few seconds
  std::unique_ptr<NotificationWorker> notifier_;  // delivers the notification outbox
  std::unique_ptr<MetricsServer> metrics_;        // /metrics on keyturn.metrics.bind
  std::unique_ptr<AuditExporter> auditExport_;    // audit entries to a file / syslog
  std::unique_ptr<HttpsListener> listener_;
};

}  // namespace keyturn::server
