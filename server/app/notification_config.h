// Notification settings from DIR/keyturn-server.properties (keys `keyturn.notify.*`,
// docs/notifications.md): channels, who gets which channel (per group or per
// principal), recipients' e-mail addresses, quiet hours and hourly digests, retries.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "keyturn/result.h"
#include "service/notifications.h"

namespace Poco::Util {
class AbstractConfiguration;
}

namespace keyturn::server {

enum class ChannelType { kWebhook, kSlack, kTeams, kEmail };

struct ChannelConfig {
  std::string name;
  ChannelType type = ChannelType::kWebhook;
  // Webhooks (webhook, slack, teams).
  std::string url;
  std::string secret;        // HMAC key for X-Keyturn-Signature (read from secret_file)
  std::string caFile;        // extra trust for an https URL (optional)
  bool allowHttp = false;    // plain http only when explicitly allowed (tests, loopback)
  // E-mail.
  std::string smtpHost;
  int smtpPort = 587;
  std::string smtpSecurity = "starttls";  // starttls | none
  std::string username;
  std::string password;  // read from password_file
  std::string from;
  int timeoutSeconds = 10;

  // Shared channels (webhooks) get one message per event listing the recipients;
  // e-mail gets one message per recipient.
  bool shared() const { return type != ChannelType::kEmail; }
};

struct RecipientOptions {
  std::string email;
  std::optional<std::pair<int, int>> quietHours;  // [from, to) UTC hours; may wrap midnight
  bool digest = false;                            // one message per hour
};

struct NotificationConfig {
  bool enabled = true;
  std::string consoleUrl;  // https://HOST: links are CONSOLE/#/requests/ID
  std::vector<std::int64_t> reminders = {7 * 86400, 86400};
  std::vector<std::int64_t> bundleWarnings = {30 * 86400, 7 * 86400};
  std::int64_t retryBaseSeconds = 30;  // delay after the first failure; doubles each time
  std::int64_t retryMaxSeconds = 3600;
  std::int64_t maxAttempts = 10;       // then the delivery is "failed" (audited)
  std::int64_t sweepSeconds = 30;      // how often time-driven events are looked for
  // Outbox retention: sent deliveries are deleted this long after they were sent,
  // failed ones this long after they failed for good (they stay in `keyturn notify
  // status` until then); events left without deliveries keep only their id.
  std::int64_t retentionSeconds = 30 * 86400;
  std::int64_t failedRetentionSeconds = 90 * 86400;
  // Not a key: the workflow's issue window plus clock skew (NotificationOptions).
  std::int64_t tokenLifetime = NotificationOptions{}.tokenLifetime;
  std::map<std::string, ChannelConfig> channels;
  std::map<std::string, std::vector<std::string>> groupRoutes;      // group -> channels
  std::map<std::string, std::vector<std::string>> principalRoutes;  // principal -> channels
  std::map<std::string, RecipientOptions> recipients;

  // The channels for a principal who is in `groups`: their own routes, then their
  // groups' routes, each once.
  std::vector<std::string> channelsFor(const std::string& principal,
                                       const std::vector<std::string>& groups) const;
  const RecipientOptions* recipient(const std::string& principal) const;

  // Reads `keyturn.notify.*`. "malformed" naming the key for a bad value, an unknown
  // channel type or a route to an undefined channel; "insecure_permissions" when a
  // secret or password file may be read by group or others. `hostname` gives the default
  // console URL.
  static Result<NotificationConfig> load(const Poco::Util::AbstractConfiguration& p,
                                         const std::string& hostname);
};

// "7d,1d,12h,30m,45s" -> seconds; "malformed" naming `key` otherwise.
Result<std::vector<std::int64_t>> parseDurations(const std::string& text, const std::string& key);

}  // namespace keyturn::server
