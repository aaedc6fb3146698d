#include "app/notification_messages.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <sstream>

#include "keyturn/json.h"

namespace keyturn::server {
namespace {

using Poco::JSON::Object;

std::string str(const Object::Ptr& o, const std::string& key) {
  if (!o || !o->has(key) || o->get(key).isEmpty()) return "";
  return o->get(key).toString();
}

std::vector<std::string> strings(const Object::Ptr& o, const std::string& key) {
  std::vector<std::string> out;
  if (!o) return out;
  auto a = o->getArray(key);
  if (!a) return out;
  for (std::size_t i = 0; i < a->size(); ++i) out.push_back(a->get(static_cast<unsigned>(i)).toString());
  return out;
}

// "3 devices: a, b, c" / "1,200 devices: a, b, ... and 1,190 more".
std::string devicesLine(const Object::Ptr& facts) {
  const std::string count = str(facts, "targets");
  const auto named = strings(facts, "devices");
  std::string out = count + (count == "1" ? " device" : " devices");
  if (!named.empty()) {
    out += ": ";
    for (std::size_t i = 0; i < named.size(); ++i) out += (i ? ", " : "") + named[i];
    long total = 0;
    try {
      total = std::stol(count);
    } catch (...) {
    }
    if (total > static_cast<long>(named.size()))
      out += " and " + std::to_string(total - static_cast<long>(named.size())) + " more";
  }
  return out;
}

std::string q(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

std::string htmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

RenderedMessage renderMessage(const NotificationEvent& e, const std::string& consoleUrl) {
  RenderedMessage m;
  m.kind = e.kind;
  auto parsed = json::parseObject(e.bodyJson);
  Object::Ptr f = parsed ? parsed.value() : Object::Ptr(new Object);
  const std::string id = str(f, "request");
  const std::string action = str(f, "action");
  const std::string requester = str(f, "requester");
  const std::string by = str(f, "by");
  const std::string notes = str(f, "notes");
  const std::string version = str(f, "bundle_version");
  if (!id.empty()) m.link = consoleUrl + "/#/requests/" + id;
  // Lines of facts, label -> value, in the order shown.
  std::vector<std::pair<std::string, std::string>> lines;
  std::string lead;

  if (e.kind == "request.submitted") {
    m.subject = "Approval needed: " + action + " by " + requester;
    lead = requester + " asks for " + action + ". You can approve or reject it.";
    m.command = "keyturn request approve " + id + " --notes \"...\"   (or: keyturn request reject " +
                id + " --notes \"...\")";
  } else if (e.kind == "request.approved") {
    m.subject = "Approved by " + by + ": " + action;
    lead = by + " approved your request.";
    m.command = "keyturn request show " + id;
  } else if (e.kind == "request.rejected") {
    m.subject = "Rejected by " + by + ": " + action;
    lead = by + " rejected your request.";
    m.failure = true;
    m.command = "keyturn request show " + id;
  } else if (e.kind == "request.ready") {
    m.subject = "Ready to complete: " + action;
    lead = "Every approval your request needs is in. Complete it to send it to the devices.";
    m.command = "keyturn request complete " + id;
  } else if (e.kind == "request.reminder") {
    const bool approver = str(f, "for") == "approver";
    m.subject = "Reminder: " + action + (approver ? " awaits your approval" : " awaits completion") +
                ", expires in " + str(f, "remaining");
    lead = approver ? requester + "'s request expires in " + str(f, "remaining") +
                          " unless it is approved."
                    : "Your approved request expires in " + str(f, "remaining") +
                          " unless you complete it.";
    m.command = approver ? "keyturn request approve " + id + " --notes \"...\""
                         : "keyturn request complete " + id;
  } else if (e.kind == "request.expired") {
    m.subject = "Expired: " + action;
    lead = "Your request expired before it was completed. Submit it again if it is still needed.";
    m.failure = true;
    m.command = "keyturn request show " + id;
  } else if (e.kind == "request.results") {
    const std::string failures = str(f, "failures");
    m.failure = !failures.empty() && failures != "0";
    m.subject = std::string(m.failure ? "FAILED on " + failures + " device(s): " : "Succeeded: ") +
                action;
    lead = m.failure ? "Your request did not succeed everywhere." : "Your request ran on every device.";
    const std::string unreported = str(f, "unreported");
    if (!unreported.empty() && unreported != "0")
      lead += " " + unreported + " device(s) had not reported when the approval tokens expired.";
    std::string byState;
    if (auto r = f->getObject("results"))
      for (const auto& [k, v] : *r) byState += (byState.empty() ? "" : ", ") + v.toString() + " " + k;
    lines.push_back({"Results", byState});
    auto failed = strings(f, "failed_devices");
    if (!failed.empty()) {
      std::string t;
      for (std::size_t i = 0; i < failed.size(); ++i) t += (i ? ", " : "") + failed[i];
      lines.push_back({"Not succeeded", t});
    }
    m.command = "keyturn request show " + id;
  } else if (e.kind == "bundle.proposed") {
    m.subject = "Trust bundle v" + version + " proposed by " + requester;
    lead = requester + " proposes trust bundle v" + version +
           ". Review the diff and sign it if you agree.";
    m.command = "keyturn request show " + id + "   then: keyturn bundle sign ... and approve";
  } else if (e.kind == "bundle.published") {
    m.subject = "Trust bundle v" + version + " published";
    lead = "Trust bundle v" + version + " is now in force; agents pick it up at their next poll.";
    m.command = "keyturn request show " + id;
  } else if (e.kind == "bundle.expiring") {
    m.subject = "Trust bundle v" + version + " expires in " + str(f, "remaining");
    lead = "The trust bundle in force expires in " + str(f, "remaining") +
           ". Agents refuse every token after that: propose and publish the next version before.";
    m.failure = true;
    m.command = "keyturn bundle new ... && keyturn bundle propose --bundle NEW.json";
  } else {
    m.subject = e.kind;
    lead = e.kind;
  }

  if (!id.empty()) lines.insert(lines.begin(), {"Request", id});
  if (!action.empty() && e.kind.rfind("bundle.", 0) != 0) {
    lines.push_back({"Action", action});
    lines.push_back({"Devices", devicesLine(f)});
  }
  if (!requester.empty()) lines.push_back({"Requester", requester});
  if (f->has("justification")) lines.push_back({"Justification", str(f, "justification")});
  if (!notes.empty()) lines.push_back({"Notes from " + by, notes});

  std::ostringstream text, html;
  text << lead << "\n\n";
  html << "<p" << (m.failure ? " style=\"color:#b00020;font-weight:bold\"" : "") << ">"
       << htmlEscape(lead) << "</p>\n<table>\n";
  for (const auto& [k, v] : lines) {
    text << k << ": " << v << "\n";
    html << "<tr><th align=\"left\">" << htmlEscape(k) << "</th><td>" << htmlEscape(v)
         << "</td></tr>\n";
  }
  html << "</table>\n";
  if (!m.link.empty()) {
    text << "\nOpen: " << m.link << "\n";
    html << "<p><a href=\"" << htmlEscape(m.link) << "\">Open the request</a></p>\n";
  }
  if (!m.command.empty()) {
    text << "CLI: " << m.command << "\n";
    html << "<p>CLI: <code>" << htmlEscape(m.command) << "</code></p>\n";
  }
  m.text = text.str();
  m.html = html.str();
  return m;
}

RenderedMessage digestMessage(const std::vector<RenderedMessage>& messages) {
  if (messages.size() == 1) return messages.front();
  RenderedMessage d;
  d.kind = "digest";
  std::size_t failures = 0;
  for (const auto& m : messages) failures += m.failure ? 1 : 0;
  d.failure = failures > 0;
  d.subject = "Keyturn: " + std::to_string(messages.size()) + " notifications" +
              (failures ? " (" + std::to_string(failures) + " need attention)" : "");
  std::ostringstream text, html;
  for (const auto& m : messages) {
    text << "== " << m.subject << "\n" << m.text << "\n";
    html << "<h3>" << htmlEscape(m.subject) << "</h3>\n" << m.html << "<hr>\n";
  }
  d.text = text.str();
  d.html = html.str();
  return d;
}

std::string webhookBody(const NotificationEvent& e, const RenderedMessage& m,
                        const std::string& idempotencyKey) {
  auto facts = json::parseObject(e.bodyJson);
  auto recipients = json::parse(e.recipientsJson);
  return "{\"id\":" + json::quote(e.id) + ",\"kind\":" + json::quote(e.kind) +
         ",\"subject\":" + json::quote(m.subject) + ",\"text\":" + json::quote(m.text) +
         ",\"link\":" + json::quote(m.link) + ",\"command\":" + json::quote(m.command) +
         ",\"failure\":" + (m.failure ? "true" : "false") +
         ",\"recipients\":" + (recipients ? e.recipientsJson : "[]") +
         ",\"facts\":" + (facts ? e.bodyJson : "{}") +
         ",\"created_at\":" + std::to_string(e.createdAt) +
         ",\"idempotency_key\":" + json::quote(idempotencyKey) + "}";
}

namespace {
std::string slackEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else out += c;
  }
  return out;
}
}  // namespace

std::string slackBody(const RenderedMessage& m) {
  std::string md = std::string(m.failure ? ":warning: " : "") + "*" + slackEscape(m.subject) +
                   "*\n" + slackEscape(m.text);
  if (!m.link.empty()) md += "\n<" + m.link + "|Open in Keyturn>";
  return "{\"text\":" + json::quote(m.subject) +
         ",\"blocks\":[{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":" +
         json::quote(md) + "}}]}";
}

std::string teamsBody(const RenderedMessage& m) {
  std::string out = "{\"@type\":\"MessageCard\",\"@context\":\"https://schema.org/extensions\","
                    "\"summary\":" +
                    json::quote(m.subject) + ",\"themeColor\":" +
                    q(m.failure ? "B00020" : "0076D7") + ",\"title\":" + json::quote(m.subject) +
                    ",\"text\":" + json::quote(m.html);
  if (!m.link.empty())
    out += ",\"potentialAction\":[{\"@type\":\"OpenUri\",\"name\":\"Open in Keyturn\","
           "\"targets\":[{\"os\":\"default\",\"uri\":" +
           json::quote(m.link) + "}]}]";
  return out + "}";
}

}  // namespace keyturn::server
