#include "online/https_api.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <sstream>

#include "keyturn/json.h"

namespace keyturn::cli {
namespace {

using R = Result<std::unique_ptr<HttpsApi>>;

constexpr std::size_t kMaxReplyBytes = 64u * 1024u * 1024u;

void initializeSslOnce() {
  static std::once_flag once;
  std::call_once(once, [] { Poco::Net::initializeSSL(); });
}

// What a person should do about a refusal the server names.
std::string hintFor(const std::string& reason) {
  // Only what the server's detail does not already say.
  static const std::map<std::string, std::string> kHints = {
      {"unauthenticated", "run: keyturn login"},
      {"unknown_principal", "this admin is not in the trust bundle in force"},
      {"forbidden", "roles come from the trust bundle; changing them is a bundle change"},
      {"self_approval", "ask another admin of a required group"},
      {"request_expired", "submit a new request"},
      {"no_trust_bundle", "finish the bundle ceremony (docs/coordinator.md)"},
      {"bundle_stale", "the trust bundle changed meanwhile; run the command again"},
  };
  auto it = kHints.find(reason);
  return it == kHints.end() ? "" : it->second;
}

}  // namespace

R HttpsApi::open(const std::string& server, const std::string& caFile) {
  Poco::URI uri;
  try {
    uri = Poco::URI(server);
  } catch (const Poco::Exception& e) {
    return R::fail("usage", "the server address \"" + server + "\" is not a URL: " + e.message());
  }
  if (uri.getScheme() != "https" || uri.getHost().empty())
    return R::fail("usage",
                   "the server address must be https://HOST[:PORT], got \"" + server + "\"");
  if (!uri.getPath().empty() && uri.getPath() != "/")
    return R::fail("usage", "the server address takes no path: \"" + server + "\"");
  std::error_code ec;
  if (caFile.empty() || !std::filesystem::is_regular_file(caFile, ec))
    return R::fail("usage", "the CA file \"" + caFile +
                                "\" does not exist (give --ca or KEYTURN_CA: the "
                                "coordinator's ca.pem)");
  initializeSslOnce();
  std::unique_ptr<HttpsApi> api(new HttpsApi());
  api->host_ = uri.getHost();
  api->port_ = uri.getPort();
  api->server_ = "https://" + uri.getAuthority();
  try {
    // Only this CA: loadDefaultCAs = false. VERIFY_STRICT also checks the host name.
    api->context_ = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", "", caFile,
                                           Poco::Net::Context::VERIFY_STRICT, 9, false,
                                           "ECDHE+AESGCM:ECDHE+CHACHA20");
    api->context_->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
  } catch (const Poco::Exception& e) {
    return R::fail("tls", "cannot use the CA file " + caFile + ": " + e.displayText());
  }
  return api;
}

Result<ApiReply> HttpsApi::call(const std::string& method, const std::string& path,
                                const std::string& body, const std::string& bearer) {
  RequestBody json;
  if (!body.empty() || method == "POST" || method == "PUT") {
    json.contentType = "application/json";
    json.length = body.size();
    json.write = [&body](std::ostream& out) {
      out << body;
      return true;
    };
  }
  return send(method, path, json, bearer);
}

Result<ApiReply> HttpsApi::send(const std::string& method, const std::string& path,
                                const RequestBody& body, const std::string& bearer) {
  using RR = Result<ApiReply>;
  // One retry when a kept-alive connection was closed by the server in between.
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool fresh = !session_;
    try {
      if (!session_) {
        session_ = std::make_unique<Poco::Net::HTTPSClientSession>(host_, port_, context_);
        session_->setKeepAlive(true);
        session_->setTimeout(Poco::Timespan(60, 0));
      }
      Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
      request.setKeepAlive(true);
      if (!bearer.empty()) request.set("Authorization", "Bearer " + bearer);
      if (!body.contentType.empty()) {
        request.setContentType(body.contentType);
        request.setContentLength64(static_cast<Poco::Int64>(body.length));
      }
      std::ostream& out = session_->sendRequest(request);
      if (body.write && !body.write(out)) {
        session_.reset();
        return RR::fail("io", "cannot read the body to send");
      }
      Poco::Net::HTTPResponse response;
      std::istream& in = session_->receiveResponse(response);
      ApiReply reply;
      reply.status = static_cast<int>(response.getStatus());
      std::ostringstream text;
      Poco::StreamCopier::copyStream(in, text, 8192);
      reply.body = text.str();
      if (reply.body.size() > kMaxReplyBytes)
        return RR::fail("server_error", "the server's reply is larger than 64 MiB");
      if (auto o = json::parseObject(reply.body)) reply.json = o.value();
      return reply;
    } catch (const Poco::Net::ConnectionRefusedException&) {
      session_.reset();
      return RR::fail("unreachable", "cannot connect to " + server_ +
                                         ": connection refused (is keyturn-server running there?)");
    } catch (const Poco::Net::CertificateValidationException& e) {
      session_.reset();
      return RR::fail("tls", "the certificate of " + server_ +
                                 " is not valid for that name or not signed by the "
                                 "given CA: " +
                                 e.message() + " (check --ca and the host name in --server)");
    } catch (const Poco::Net::SSLException& e) {
      session_.reset();
      return RR::fail(
          "tls", "TLS with " + server_ + " failed: " + e.displayText() +
                     " (is --ca the coordinator's ca.pem, and the host name in its certificate?)");
    } catch (const Poco::TimeoutException&) {
      session_.reset();
      return RR::fail("unreachable", server_ + " did not answer in time");
    } catch (const Poco::Net::HostNotFoundException& e) {
      session_.reset();
      return RR::fail("unreachable", "unknown host in " + server_ + ": " + e.message());
    } catch (const Poco::Exception& e) {
      session_.reset();
      // A stale keep-alive connection surfaces as a reset or an empty reply: retry once.
      if (!fresh && attempt == 0) continue;
      return RR::fail("unreachable", "talking to " + server_ + " failed: " + e.displayText());
    }
  }
  return RR::fail("unreachable", "talking to " + server_ + " failed");
}

Error replyError(const ApiReply& reply) {
  std::string reason = reply.status >= 500 ? "server_error" : "refused";
  std::string detail = "HTTP " + std::to_string(reply.status);
  if (reply.json && reply.json->has("error")) {
    std::string named = reply.json->optValue<std::string>("error", reason);
    detail = reply.json->optValue<std::string>("detail", detail);
    // A 5xx is the server's trouble, not a decision: it keeps exit status 3.
    if (reply.status >= 500) {
      std::string hint = hintFor(named);
      return Error{reason, named + ": " + detail + (hint.empty() ? "" : " (" + hint + ")")};
    }
    reason = named;
  }
  std::string hint = hintFor(reason);
  if (!hint.empty()) detail += " (" + hint + ")";
  return Error{reason, detail};
}

}  // namespace keyturn::cli
