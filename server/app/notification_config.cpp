#include "app/notification_config.h"

#include <Poco/Exception.h>
#include <Poco/NumberParser.h>
#include <Poco/String.h>
#include <Poco/StringTokenizer.h>
#include <Poco/Util/AbstractConfiguration.h>

#include <algorithm>

#include "keyturn/crypto_util.h"
#include "tls/tls_key.h"

namespace keyturn::server {
namespace {

using R = Result<NotificationConfig>;
constexpr const char* kPrefix = "keyturn.notify.";

std::vector<std::string> list(const std::string& text) {
  std::vector<std::string> out;
  Poco::StringTokenizer t(text, ",",
                          Poco::StringTokenizer::TOK_TRIM | Poco::StringTokenizer::TOK_IGNORE_EMPTY);
  for (const auto& item : t) out.push_back(item);
  return out;
}

// A secret from a file that only its owner may read; surrounding white space dropped.
Result<std::string> secretFile(const std::string& path, const std::string& key) {
  if (Status s = tls::checkPrivateFileMode(path); !s) return Error{s.reason(), key + ": " + s.detail()};
  auto text = readFile(path, 64 * 1024);
  if (!text) return Result<std::string>::fail("io", key + ": cannot read " + path);
  return Poco::trim(*text);
}

Result<int> intIn(const Poco::Util::AbstractConfiguration& p, const std::string& key, int def,
                  int lo, int hi) {
  std::string text = p.getString(key, std::to_string(def));
  int v = 0;
  if (!Poco::NumberParser::tryParse(text, v) || v < lo || v > hi)
    return Result<int>::fail("malformed", key + " must be an integer " + std::to_string(lo) +
                                              ".." + std::to_string(hi) + ", got \"" + text +
                                              "\"");
  return v;
}

Result<bool> boolean(const Poco::Util::AbstractConfiguration& p, const std::string& key,
                     bool def) {
  std::string text = Poco::toLower(p.getString(key, def ? "true" : "false"));
  if (text == "true" || text == "yes" || text == "1") return true;
  if (text == "false" || text == "no" || text == "0") return false;
  return Result<bool>::fail("malformed", key + " must be true or false, got \"" + text + "\"");
}

Result<ChannelConfig> loadChannel(const Poco::Util::AbstractConfiguration& p,
                                  const std::string& name) {
  using C = Result<ChannelConfig>;
  const std::string base = std::string(kPrefix) + "channel." + name + ".";
  ChannelConfig c;
  c.name = name;
  std::string type = p.getString(base + "type", "");
  if (type == "webhook") c.type = ChannelType::kWebhook;
  else if (type == "slack") c.type = ChannelType::kSlack;
  else if (type == "teams") c.type = ChannelType::kTeams;
  else if (type == "email") c.type = ChannelType::kEmail;
  else
    return C::fail("malformed", base + "type must be webhook, slack, teams or email, got \"" +
                                    type + "\"");
  auto timeout = intIn(p, base + "timeout_seconds", 10, 1, 120);
  if (!timeout) return timeout.error();
  c.timeoutSeconds = timeout.value();
  c.caFile = p.getString(base + "ca_file", "");
  if (c.type != ChannelType::kEmail) {
    c.url = p.getString(base + "url", "");
    auto allow = boolean(p, base + "allow_http", false);
    if (!allow) return allow.error();
    c.allowHttp = allow.value();
    const bool https = c.url.rfind("https://", 0) == 0;
    const bool http = c.url.rfind("http://", 0) == 0;
    if (!https && !(http && c.allowHttp))
      return C::fail("malformed", base + "url must be an https:// URL" +
                                      std::string(http ? " (set allow_http=true for http)" : ""));
    std::string secretPath = p.getString(base + "secret_file", "");
    if (c.type == ChannelType::kWebhook && secretPath.empty())
      return C::fail("malformed", base + "secret_file is required for a generic webhook: "
                                         "receivers verify X-Keyturn-Signature with it");
    if (!secretPath.empty()) {
      auto secret = secretFile(secretPath, base + "secret_file");
      if (!secret) return secret.error();
      if (secret->size() < 16)
        return C::fail("malformed", base + "secret_file must hold at least 16 characters");
      c.secret = std::move(secret).value();
    }
    return c;
  }
  c.smtpHost = p.getString(base + "smtp_host", "");
  if (c.smtpHost.empty()) return C::fail("malformed", base + "smtp_host is required");
  auto port = intIn(p, base + "smtp_port", 587, 1, 65535);
  if (!port) return port.error();
  c.smtpPort = port.value();
  c.smtpSecurity = p.getString(base + "security", "starttls");
  if (c.smtpSecurity != "starttls" && c.smtpSecurity != "none")
    return C::fail("malformed", base + "security must be starttls or none");
  c.from = p.getString(base + "from", "");
  if (c.from.find('@') == std::string::npos)
    return C::fail("malformed", base + "from must be an e-mail address");
  c.username = p.getString(base + "username", "");
  std::string passwordPath = p.getString(base + "password_file", "");
  if (!c.username.empty()) {
    if (passwordPath.empty())
      return C::fail("malformed", base + "password_file is required with a username");
    if (c.smtpSecurity == "none")
      return C::fail("malformed", base + "username: SMTP authentication needs security=starttls "
                                         "(a password is never sent in clear)");
    auto password = secretFile(passwordPath, base + "password_file");
    if (!password) return password.error();
    c.password = std::move(password).value();
  }
  return c;
}

// "22-07" -> (22, 7).
std::optional<std::pair<int, int>> hours(const std::string& text) {
  auto dash = text.find('-');
  if (dash == std::string::npos) return std::nullopt;
  int a = -1, b = -1;
  if (!Poco::NumberParser::tryParse(Poco::trim(text.substr(0, dash)), a) ||
      !Poco::NumberParser::tryParse(Poco::trim(text.substr(dash + 1)), b))
    return std::nullopt;
  if (a < 0 || a > 23 || b < 0 || b > 23 || a == b) return std::nullopt;
  return std::make_pair(a, b);
}

}  // namespace

Result<std::vector<std::int64_t>> parseDurations(const std::string& text, const std::string& key) {
  using V = Result<std::vector<std::int64_t>>;
  std::vector<std::int64_t> out;
  for (const auto& item : list(text)) {
    const char unit = item.back();
    std::int64_t scale = unit == 'd' ? 86400 : unit == 'h' ? 3600 : unit == 'm' ? 60 : unit == 's' ? 1 : 0;
    Poco::Int64 n = 0;
    if (scale == 0 || !Poco::NumberParser::tryParse64(item.substr(0, item.size() - 1), n) ||
        n <= 0 || n > 3650)
      return V::fail("malformed", key + ": \"" + item + "\" is not a duration like 7d, 12h, 30m");
    out.push_back(n * scale);
  }
  std::sort(out.rbegin(), out.rend());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<std::string> NotificationConfig::channelsFor(
    const std::string& principal, const std::vector<std::string>& groups) const {
  std::vector<std::string> out;
  auto add = [&](const std::map<std::string, std::vector<std::string>>& routes,
                 const std::string& key) {
    auto it = routes.find(key);
    if (it == routes.end()) return;
    for (const auto& c : it->second)
      if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  };
  add(principalRoutes, principal);
  for (const auto& g : groups) add(groupRoutes, g);
  return out;
}

const RecipientOptions* NotificationConfig::recipient(const std::string& principal) const {
  auto it = recipients.find(principal);
  return it == recipients.end() ? nullptr : &it->second;
}

Result<NotificationConfig> NotificationConfig::load(const Poco::Util::AbstractConfiguration& p,
                                                    const std::string& hostname) {
  NotificationConfig c;
  try {
    const std::string k = kPrefix;
    auto enabled = boolean(p, k + "enabled", true);
    if (!enabled) return enabled.error();
    c.enabled = enabled.value();
    c.consoleUrl = p.getString(k + "console_url", "https://" + hostname);
    while (!c.consoleUrl.empty() && c.consoleUrl.back() == '/') c.consoleUrl.pop_back();
    if (c.consoleUrl.rfind("https://", 0) != 0 && c.consoleUrl.rfind("http://", 0) != 0)
      return R::fail("malformed", k + "console_url must be an http(s) URL");
    auto reminders = parseDurations(p.getString(k + "reminders", "7d,1d"), k + "reminders");
    if (!reminders) return reminders.error();
    c.reminders = std::move(reminders).value();
    auto warnings =
        parseDurations(p.getString(k + "bundle_warnings", "30d,7d"), k + "bundle_warnings");
    if (!warnings) return warnings.error();
    c.bundleWarnings = std::move(warnings).value();
    auto base = intIn(p, k + "retry.base_seconds", 30, 1, 86400);
    if (!base) return base.error();
    c.retryBaseSeconds = base.value();
    auto maxDelay = intIn(p, k + "retry.max_seconds", 3600, 1, 7 * 86400);
    if (!maxDelay) return maxDelay.error();
    c.retryMaxSeconds = std::max<std::int64_t>(maxDelay.value(), c.retryBaseSeconds);
    auto attempts = intIn(p, k + "retry.max_attempts", 10, 1, 100);
    if (!attempts) return attempts.error();
    c.maxAttempts = attempts.value();
    auto sweep = intIn(p, k + "sweep_seconds", 30, 1, 3600);
    if (!sweep) return sweep.error();
    c.sweepSeconds = sweep.value();
    auto retention = [&](const std::string& key, const char* fallback,
                         std::int64_t& into) -> Status {
      auto d = parseDurations(p.getString(k + key, fallback), k + key);
      if (!d) return d.status();
      if (d->size() != 1 || d->front() < 3600)
        return Status::fail("malformed", k + key + " must be one duration of at least 1h");
      into = d->front();
      return Status::ok();
    };
    if (Status s = retention("retention", "30d", c.retentionSeconds); !s) return s.error();
    if (Status s = retention("retention_failed", "90d", c.failedRetentionSeconds); !s)
      return s.error();

    for (const auto& name : list(p.getString(k + "channels", ""))) {
      if (name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos)
        return R::fail("malformed", k + "channels: \"" + name +
                                        "\" must be lower-case letters, digits, _ or -");
      auto ch = loadChannel(p, name);
      if (!ch) return ch.error();
      c.channels[name] = std::move(ch).value();
    }
    auto routes = [&](const std::string& kind,
                      std::map<std::string, std::vector<std::string>>& into) -> Status {
      const std::string at = k + "route." + kind;
      Poco::Util::AbstractConfiguration::Keys keys;
      p.keys(at, keys);
      for (const auto& who : keys) {
        auto names = list(p.getString(at + "." + who));
        for (const auto& n : names)
          if (!c.channels.count(n))
            return Status::fail("malformed", at + "." + who + ": no channel \"" + n +
                                                 "\" in " + k + "channels");
        into[who] = names;
      }
      return Status::ok();
    };
    if (Status s = routes("group", c.groupRoutes); !s) return s.error();
    if (Status s = routes("principal", c.principalRoutes); !s) return s.error();

    const std::string rp = k + "principal";
    {
      Poco::Util::AbstractConfiguration::Keys keys;
      p.keys(rp, keys);
      for (const auto& who : keys) {
        const std::string at = rp + "." + who + ".";
        RecipientOptions o;
        o.email = p.getString(at + "email", "");
        if (!o.email.empty() && o.email.find('@') == std::string::npos)
          return R::fail("malformed", at + "email must be an e-mail address");
        std::string quiet = p.getString(at + "quiet_hours", "");
        if (!quiet.empty()) {
          o.quietHours = hours(quiet);
          if (!o.quietHours)
            return R::fail("malformed", at + "quiet_hours must be HH-HH (UTC hours 0..23), got \"" +
                                            quiet + "\"");
        }
        std::string digest = p.getString(at + "digest", "off");
        if (digest != "off" && digest != "hourly")
          return R::fail("malformed", at + "digest must be off or hourly");
        o.digest = digest == "hourly";
        c.recipients[who] = o;
      }
    }
  } catch (const Poco::Exception& e) {
    return R::fail("malformed", "keyturn.notify: " + e.displayText());
  }
  return c;
}

}  // namespace keyturn::server
