#include "app/notification_channels.h"

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/MailMessage.h>
#include <Poco/Net/MailRecipient.h>
#include <Poco/Net/PartSource.h>
#include <Poco/Net/SecureSMTPClientSession.h>
#include <Poco/Net/StringPartSource.h>
#include <Poco/URI.h>
#include <openssl/evp.h>

#include <istream>
#include <memory>

#include "keyturn/crypto_util.h"

namespace keyturn::server {
namespace {

constexpr std::streamsize kMaxReplyBytes = 64 * 1024;

Poco::Net::Context::Ptr clientContext(const std::string& caFile) {
  Poco::Net::Context::Params params;
  params.caLocation = caFile;
  params.loadDefaultCAs = true;
  params.verificationMode = Poco::Net::Context::VERIFY_RELAXED;
  params.cipherList = "HIGH:!aNULL:!eNULL:!MD5:!RC4:!3DES";
  Poco::Net::Context::Ptr context =
      new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
  context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
  return context;
}

SendOutcome failed(std::string error, bool permanent = false) {
  return SendOutcome{false, permanent, std::move(error)};
}

SendOutcome postWebhook(const ChannelConfig& c, const std::string& body,
                        const std::string& idempotencyKey) {
  Poco::URI uri;
  try {
    uri = Poco::URI(c.url);
  } catch (const Poco::Exception&) {
    return failed("the channel URL is not a URL", true);
  }
  // Only scheme, host and port go into an error: a webhook URL's path is often its secret.
  const std::string where = uri.getScheme() + "://" + uri.getHost() + ":" + std::to_string(uri.getPort());
  try {
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    if (uri.getScheme() == "https")
      session = std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort(),
                                                                clientContext(c.caFile));
    else if (uri.getScheme() == "http" && c.allowHttp)
      session = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
    else
      return failed("the channel URL must be https", true);
    session->setTimeout(Poco::Timespan(c.timeoutSeconds, 0));
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST,
                                   uri.getPathAndQuery().empty() ? "/" : uri.getPathAndQuery(),
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    request.setContentType("application/json");
    request.setContentLength(static_cast<std::streamsize>(body.size()));
    request.set("User-Agent", "keyturn-server");
    request.set("Idempotency-Key", idempotencyKey);
    if (!c.secret.empty()) request.set("X-Keyturn-Signature", webhookSignature(c.secret, body));
    session->sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session->receiveResponse(response);
    char sink[4096];
    std::streamsize drained = 0;
    while (in && drained < kMaxReplyBytes) {
      in.read(sink, sizeof sink);
      drained += in.gcount();
    }
    const int status = static_cast<int>(response.getStatus());
    if (status >= 200 && status < 300) return SendOutcome{true, false, ""};
    const bool retry = status == 408 || status == 429 || status >= 500;
    return failed("HTTP " + std::to_string(status) + " from " + where, !retry);
  } catch (const Poco::Exception& e) {
    return failed(where + ": " + e.displayText());
  } catch (const std::exception& e) {
    return failed(where + ": " + e.what());
  }
}

SendOutcome sendMail(const ChannelConfig& c, const RenderedMessage& m, const std::string& to,
                     const std::string& idempotencyKey) {
  if (to.empty()) return failed("no e-mail address configured for the recipient", true);
  const std::string where = "smtp://" + c.smtpHost + ":" + std::to_string(c.smtpPort);
  try {
    Poco::Net::MailMessage message;
    message.setSender(c.from);
    message.addRecipient(Poco::Net::MailRecipient(Poco::Net::MailRecipient::PRIMARY_RECIPIENT, to));
    message.setSubject(Poco::Net::MailMessage::encodeWord(m.subject, "UTF-8"));
    // The same id for every attempt of this delivery: a receiving system that already
    // has the message can drop a retry.
    message.set("Message-ID", "<" + idempotencyKey + "@keyturn>");
    message.set("X-Keyturn-Event", m.kind);
    if (m.failure) message.set("Importance", "high");
    message.setContentType("multipart/alternative");
    message.addPart("", new Poco::Net::StringPartSource(m.text, "text/plain; charset=utf-8"),
                    Poco::Net::MailMessage::CONTENT_INLINE,
                    Poco::Net::MailMessage::ENCODING_QUOTED_PRINTABLE);
    message.addPart("",
                    new Poco::Net::StringPartSource(
                        "<html><body>\n" + m.html + "</body></html>\n", "text/html; charset=utf-8"),
                    Poco::Net::MailMessage::CONTENT_INLINE,
                    Poco::Net::MailMessage::ENCODING_QUOTED_PRINTABLE);
    Poco::Net::SecureSMTPClientSession session(c.smtpHost, static_cast<Poco::UInt16>(c.smtpPort));
    session.setTimeout(Poco::Timespan(c.timeoutSeconds, 0));
    session.login();
    if (c.smtpSecurity == "starttls" && !session.startTLS(clientContext(c.caFile))) {
      session.close();
      return failed(where + " does not offer STARTTLS (security=starttls)");
    }
    if (!c.username.empty())
      session.login(Poco::Net::SMTPClientSession::AUTH_PLAIN, c.username, c.password);
    else if (c.smtpSecurity == "starttls")
      session.login();  // EHLO again over TLS
    session.sendMessage(message);
    session.close();
    return SendOutcome{true, false, ""};
  } catch (const Poco::Exception& e) {
    return failed(where + ": " + e.displayText());
  } catch (const std::exception& e) {
    return failed(where + ": " + e.what());
  }
}

}  // namespace

std::string webhookSignature(const std::string& secret, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
                reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, sizeof mac,
                &len) == nullptr)
    return "";
  return "sha256=" + toHex(mac, len);
}

SendOutcome NetworkSender::send(const ChannelConfig& c, const NotificationEvent& event,
                                const RenderedMessage& m, const std::string& to,
                                const std::string& idempotencyKey) {
  switch (c.type) {
    case ChannelType::kWebhook:
      return postWebhook(c, webhookBody(event, m, idempotencyKey), idempotencyKey);
    case ChannelType::kSlack:
      return postWebhook(c, slackBody(m), idempotencyKey);
    case ChannelType::kTeams:
      return postWebhook(c, teamsBody(m), idempotencyKey);
    case ChannelType::kEmail:
      return sendMail(c, m, to, idempotencyKey);
  }
  return failed("unknown channel type", true);
}

}  // namespace keyturn::server
