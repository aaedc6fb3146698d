#include "app/metrics_server.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/String.h>
#include <Poco/Util/AbstractConfiguration.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <ctime>
#include <sstream>

#include "app/metrics_text.h"
#include "keyturn/crypto_util.h"
#include "tls/tls_key.h"

namespace keyturn::server {
namespace {

using Poco::Net::HTTPResponse;

// Request states and target states, so every series exists from the first scrape.
const char* kRequestStates[] = {"needs_approval", "approved", "rejected",
                                "cancelled",      "expired",  "completed"};
const char* kTargetStates[] = {"queued", "delivered", "succeeded", "failed", "interrupted", "expired"};
// A device that reported within this is counted as connected (last_contact is kept to
// the minute, and idle agents poll at least every 30 s).
constexpr std::int64_t kConnectedSeconds = 180;

void gauge(std::ostream& out, const std::string& name, const std::string& help, double v) {
  metrics::header(out, name, "gauge", help);
  out << name << " " << metrics::number(v) << "\n";
}

class Handler : public Poco::Net::HTTPRequestHandler {
 public:
  Handler(ServerContext& c, const NotificationWorker* w, const std::string& token)
      : context_(c), worker_(w), token_(token) {}
  void handleRequest(Poco::Net::HTTPServerRequest& rq, Poco::Net::HTTPServerResponse& rs) override {
    std::string path = rq.getURI().substr(0, rq.getURI().find('?'));
    auto reply = [&](HTTPResponse::HTTPStatus status, const std::string& body,
                     const std::string& type = "text/plain; charset=utf-8") {
      rs.setStatusAndReason(status);
      rs.setContentType(type);
      rs.set("Cache-Control", "no-store");
      rs.setContentLength(static_cast<std::streamsize>(body.size()));
      rs.send() << body;
    };
    if (path != "/metrics") return reply(HTTPResponse::HTTP_NOT_FOUND, "not found\n");
    if (rq.getMethod() != "GET" && rq.getMethod() != "HEAD") {
      rs.set("Allow", "GET, HEAD");
      return reply(HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
    }
    if (!token_.empty()) {
      const std::string want = "Bearer " + token_;
      const std::string got = rq.get("Authorization", "");
      if (got.size() != want.size() || CRYPTO_memcmp(got.data(), want.data(), got.size()) != 0) {
        rs.set("WWW-Authenticate", "Bearer");
        return reply(HTTPResponse::HTTP_UNAUTHORIZED, "unauthorized\n");
      }
    }
    auto text = renderMetrics(context_, worker_, std::time(nullptr));
    if (!text) {
      context_.log.warn("metrics failed", {LogField::str("reason", text.reason()),
                                           LogField::str("detail", text.detail())});
      return reply(HTTPResponse::HTTP_SERVICE_UNAVAILABLE, "storage unavailable\n");
    }
    reply(HTTPResponse::HTTP_OK, text.value(), "text/plain; version=0.0.4; charset=utf-8");
  }

 private:
  ServerContext& context_;
  const NotificationWorker* worker_;
  std::string token_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Factory(ServerContext& c, const NotificationWorker* w, std::string token)
      : context_(c), worker_(w), token_(std::move(token)) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new Handler(context_, worker_, token_);
  }

 private:
  ServerContext& context_;
  const NotificationWorker* worker_;
  std::string token_;
};

}  // namespace

Result<MetricsConfig> MetricsConfig::load(const Poco::Util::AbstractConfiguration& p) {
  MetricsConfig c;
  c.bind = Poco::trim(p.getString("keyturn.metrics.bind", ""));
  std::string tokenFile = Poco::trim(p.getString("keyturn.metrics.token_file", ""));
  if (!c.bind.empty()) {
    try {
      Poco::Net::SocketAddress check(c.bind);
      (void)check;
    } catch (const Poco::Exception& e) {
      return Result<MetricsConfig>::fail("malformed", "keyturn.metrics.bind must be HOST:PORT, got \"" +
                                                          c.bind + "\": " + e.displayText());
    }
  }
  if (!tokenFile.empty()) {
    if (Status s = tls::checkPrivateFileMode(tokenFile); !s)
      return Error{s.reason(), "keyturn.metrics.token_file: " + s.detail()};
    auto text = readFile(tokenFile, 4096);
    if (!text) return Result<MetricsConfig>::fail("io", "cannot read " + tokenFile);
    c.token = Poco::trim(*text);
    if (c.token.size() < 16)
      return Result<MetricsConfig>::fail("malformed",
                                         "keyturn.metrics.token_file must hold at least 16 characters");
  }
  return c;
}

Result<std::string> renderMetrics(ServerContext& context, const NotificationWorker* worker,
                                  std::int64_t now) {
  auto m = context.store->metrics();
  if (!m) return m.error();
  auto outbox = context.store->outboxStatus(0);
  if (!outbox) return outbox.error();
  std::ostringstream out;
  metrics::header(out, "keyturn_requests", "gauge", "Requests by state.");
  for (const char* s : kRequestStates) {
    auto it = m->requestsByState.find(s);
    out << "keyturn_requests" << metrics::labels({{"state", s}}) << " "
        << (it == m->requestsByState.end() ? 0 : it->second) << "\n";
  }
  metrics::header(out, "keyturn_approvals_total", "counter", "Approver signatures recorded.");
  out << "keyturn_approvals_total " << m->approvals << "\n";
  metrics::header(out, "keyturn_rejections_total", "counter", "Rejections recorded.");
  out << "keyturn_rejections_total " << m->rejections << "\n";
  metrics::header(out, "keyturn_tokens_issued_total", "counter", "Tokens issued to devices.");
  out << "keyturn_tokens_issued_total " << m->tokensIssued << "\n";
  metrics::header(out, "keyturn_request_targets", "gauge",
                  "Request targets (one per device and request) by delivery state.");
  for (const char* s : kTargetStates) {
    auto it = m->targetsByState.find(s);
    out << "keyturn_request_targets" << metrics::labels({{"state", s}}) << " "
        << (it == m->targetsByState.end() ? 0 : it->second) << "\n";
  }
  metrics::header(out, "keyturn_execution_results_total", "counter",
                  "Execution results reported by devices, by action and outcome.");
  for (const auto& [k, n] : m->resultsByActionOutcome)
    out << "keyturn_execution_results_total"
        << metrics::labels({{"action", k.first}, {"outcome", k.second}}) << " " << n << "\n";
  const std::vector<double> waitBounds = {60, 300, 900, 3600, 14400, 86400, 259200, 604800, 2592000};
  metrics::histogram(out, "keyturn_time_to_approve_seconds",
                     "From submission to the last approval, approved and completed requests.",
                     waitBounds, m->timeToApprove);
  metrics::histogram(out, "keyturn_time_to_complete_seconds",
                     "From submission to completion, completed requests.", waitBounds,
                     m->timeToComplete);

  std::vector<std::int64_t> ages;
  std::int64_t connected = 0, maxAge = 0;
  for (auto t : m->lastContact) {
    std::int64_t age = std::max<std::int64_t>(0, now - t);
    ages.push_back(age);
    connected += age <= kConnectedSeconds ? 1 : 0;
    maxAge = std::max(maxAge, age);
  }
  gauge(out, "keyturn_devices", "Enrolled devices, not removed.", static_cast<double>(m->devicesActive));
  gauge(out, "keyturn_devices_never_seen", "Enrolled devices that never called after enrolling.",
        static_cast<double>(m->devicesNeverSeen));
  gauge(out, "keyturn_agents_connected",
        "Devices whose last contact is at most 180 seconds old.", static_cast<double>(connected));
  gauge(out, "keyturn_agent_last_contact_max_age_seconds",
        "Seconds since the stalest device's last contact.", static_cast<double>(maxAge));
  metrics::histogram(out, "keyturn_agent_last_contact_age_seconds",
                     "Seconds since each device's last contact (staleness).",
                     {60, 180, 600, 3600, 21600, 86400, 604800}, ages);

  gauge(out, "keyturn_notification_events_waiting", "Notification events not yet fanned out.",
        static_cast<double>(outbox->eventsWaiting));
  metrics::header(out, "keyturn_notification_deliveries", "gauge",
                  "Notification deliveries by state (the outbox depth is state=pending).");
  out << "keyturn_notification_deliveries{state=\"pending\"} " << outbox->pending << "\n"
      << "keyturn_notification_deliveries{state=\"retrying\"} " << outbox->retrying << "\n"
      << "keyturn_notification_deliveries{state=\"sent\"} " << outbox->sent << "\n"
      << "keyturn_notification_deliveries{state=\"failed\"} " << outbox->failed << "\n";
  gauge(out, "keyturn_notification_oldest_pending_age_seconds",
        "Age of the oldest notification still waiting (0 when none).",
        static_cast<double>(outbox->oldestPending ? std::max<std::int64_t>(0, now - *outbox->oldestPending) : 0));
  metrics::header(out, "keyturn_notification_attempts_total", "counter",
                  "Notification send attempts since the coordinator started, by channel and outcome.");
  if (worker)
    for (const auto& [k, n] : worker->attemptCounts())
      out << "keyturn_notification_attempts_total"
          << metrics::labels({{"channel", k.first}, {"outcome", k.second}}) << " " << n << "\n";

  auto bundle = context.bundle.current(now);
  gauge(out, "keyturn_bundle_version", "Version of the trust bundle in force (0: none).",
        bundle ? static_cast<double>(bundle.value()->bundle.version) : 0.0);
  gauge(out, "keyturn_bundle_expiry_seconds",
        "Seconds until the trust bundle in force expires (0: none or expired).",
        bundle ? static_cast<double>(std::max<std::int64_t>(
                     0, static_cast<std::int64_t>(bundle.value()->bundle.expires) - now))
               : 0.0);
  out << context.http.exposition();
  return out.str();
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::create(ServerContext& context,
                                                             const NotificationWorker* worker,
                                                             const MetricsConfig& config) {
  using R = Result<std::unique_ptr<MetricsServer>>;
  std::unique_ptr<MetricsServer> s(new MetricsServer());
  try {
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress(config.bind), 64);
    s->port_ = socket.address().port();
    Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(4);
    params->setMaxQueued(16);
    params->setTimeout(Poco::Timespan(10, 0));
    s->server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(context, worker, config.token),
                                                         socket, params);
  } catch (const Poco::Exception& e) {
    return R::fail("bind_failed", "keyturn.metrics.bind " + config.bind + ": " + e.displayText());
  }
  return s;
}

MetricsServer::~MetricsServer() { stop(); }

void MetricsServer::start() {
  if (server_) server_->start();
}

void MetricsServer::stop() {
  if (!server_) return;
  server_->stopAll(true);
  server_.reset();
}

}  // namespace keyturn::server
