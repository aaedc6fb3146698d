// What a notification says, made from an event's facts (service/notifications.h): a
// subject line, plain text, HTML, the link to the request in the web console and the
// CLI command to act; and the bodies each channel posts (generic webhook JSON, Slack,
// Teams). Pure functions: nothing here sends anything.
//
// A message carries only what the event carries (request id, action, requester,
// justification, devices or their count, notes, results by device state); never a
// token, a signature, a key or a parameter value.
#pragma once

#include <string>
#include <vector>

#include "store/notification_records.h"

namespace keyturn::server {

struct RenderedMessage {
  std::string kind;
  std::string subject;  // one line
  std::string text;     // plain text, several lines
  std::string html;     // the same as an HTML fragment (escaped)
  std::string link;     // CONSOLE/#/requests/ID, empty when there is no request
  std::string command;  // the CLI command to act, empty when there is nothing to do
  bool failure = false; // failed executions or an expiry: shown highlighted
};

// `consoleUrl` is https://HOST (no trailing slash).
RenderedMessage renderMessage(const NotificationEvent& event, const std::string& consoleUrl);

// Several messages as one (an hourly digest).
RenderedMessage digestMessage(const std::vector<RenderedMessage>& messages);

// {"id","kind","subject","text","link","command","failure","recipients","facts",
//  "idempotency_key"}: the generic webhook body (facts are the event's body).
std::string webhookBody(const NotificationEvent& event, const RenderedMessage& m,
                        const std::string& idempotencyKey);
// Slack incoming-webhook payload: {"text", "blocks":[section mrkdwn]}.
std::string slackBody(const RenderedMessage& m);
// Teams incoming-webhook payload: a MessageCard (summary, themeColor, title, text,
// potentialAction OpenUri to the console).
std::string teamsBody(const RenderedMessage& m);

// HTML-escapes & < > " '.
std::string htmlEscape(const std::string& s);

}  // namespace keyturn::server
