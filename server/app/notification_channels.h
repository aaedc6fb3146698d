// Sending one rendered notification on one channel: webhooks (generic, Slack, Teams)
// over HTTPS with Poco::Net, and e-mail over SMTP (STARTTLS, AUTH PLAIN, multipart
// plain text + HTML). The delivery worker (notification_worker.h) decides when; this
// only sends and says how it went.
#pragma once

#include <string>

#include "app/notification_config.h"
#include "app/notification_messages.h"
#include "store/notification_records.h"

namespace keyturn::server {

struct SendOutcome {
  bool sent = false;
  bool permanent = false;  // retrying cannot help (e.g. 400/404 from a webhook)
  std::string error;       // never holds a URL path, a secret or a password
};

class NotificationSender {
 public:
  virtual ~NotificationSender() = default;
  // `to` is the recipient's e-mail address for an e-mail channel (empty for webhooks).
  virtual SendOutcome send(const ChannelConfig& channel, const NotificationEvent& event,
                           const RenderedMessage& message, const std::string& to,
                           const std::string& idempotencyKey) = 0;
};

// The real network sender.
class NetworkSender final : public NotificationSender {
 public:
  SendOutcome send(const ChannelConfig& channel, const NotificationEvent& event,
                   const RenderedMessage& message, const std::string& to,
                   const std::string& idempotencyKey) override;
};

// "sha256=" + lower-case hex HMAC-SHA256 of `body` under `secret`: the value of
// X-Keyturn-Signature.
std::string webhookSignature(const std::string& secret, const std::string& body);

}  // namespace keyturn::server
