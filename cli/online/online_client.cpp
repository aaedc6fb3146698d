#include "online/online_client.h"

#include <Poco/String.h>
#include <filesystem>
#include <fstream>
#include <Poco/URI.h>

#include "cli_output.h"
#include "keyturn/json.h"
#include "keyturn/login.h"

namespace keyturn::cli {
namespace {

using Ptr = Poco::JSON::Object::Ptr;
using RP = Result<Ptr>;

// Renew this long before the server would expire the session, so a command that starts
// just before the end does not fail halfway.
constexpr std::uint64_t kRenewMarginSeconds = 30;

Status missing(const Profile& p) {
  std::string what;
  if (p.server.empty())
    what = "coordinator's address (KEYTURN_SERVER)";
  else if (p.ca.empty())
    what = "coordinator's CA file (KEYTURN_CA)";
  else if (p.id.empty())
    what = "admin id (KEYTURN_ID)";
  else if (p.key.empty())
    what = "admin's key file (KEYTURN_KEY)";
  if (what.empty()) return Status::ok();
  return Status::fail("usage",
                      "the " + what +
                          " is not known: run keyturn login --server URL --ca FILE --id ID "
                          "--key FILE, or set the KEYTURN_* variables");
}

}  // namespace

Result<std::unique_ptr<OnlineClient>> OnlineClient::open() {
  auto p = Profile::load();
  if (!p) return p.error();
  return openWith(p.value());
}

Result<std::unique_ptr<OnlineClient>> OnlineClient::openWith(const Profile& profile) {
  if (Status s = missing(profile); !s) return s.error();
  auto api = HttpsApi::open(profile.server, profile.ca);
  if (!api) return api.error();
  std::unique_ptr<OnlineClient> c(new OnlineClient());
  c->profile_ = profile;
  c->api_ = std::move(api).value();
  return c;
}

Result<const Ed25519PrivateKey*> OnlineClient::key() {
  if (!key_) {
    auto k = Ed25519PrivateKey::load(profile_.key);
    if (!k) return k.error();
    key_ = std::move(k).value();
  }
  return &*key_;
}

Status OnlineClient::login() {
  auto k = key();
  if (!k) return k.error();
  auto challenge = callAnonymous("POST", "/api/v1/login/challenge",
                                 "{\"principal\":" + json::quote(profile_.id) + "}");
  if (!challenge) return challenge.error();
  const Ptr& c = challenge.value();
  std::string nonce = c->optValue<std::string>("challenge", "");
  std::string audience = c->optValue<std::string>("audience", "");
  std::string tenant = c->optValue<std::string>("tenant", "");
  if (tenant.empty()) {
    auto health = callAnonymous("GET", "/healthz");
    if (health) tenant = health.value()->optValue<std::string>("tenant", "");
  }
  if (tenant.empty()) tenant = profile_.tenant;
  if (nonce.empty() || audience.empty() || tenant.empty())
    return Status::fail("server_error",
                        "the login challenge reply lacks challenge, audience or tenant");
  // The proof names the coordinator it is for; sign only for the host we are talking to,
  // so a server relaying another coordinator's challenge gets nothing usable there.
  Poco::URI mine(api_->server()), theirs(audience);
  if (theirs.getScheme() != "https" ||
      Poco::toLower(theirs.getHost()) != Poco::toLower(mine.getHost()))
    return Status::fail("wrong_audience",
                        "the coordinator asks for a login proof for " + audience +
                            ", but this is " + api_->server() +
                            " (check --server: use the host name in its certificate)");
  std::string proof = signLogin(*k.value(), tenant, profile_.id, nonce, audience, nowSeconds());
  auto session = callAnonymous("POST", "/api/v1/login", proof);
  if (!session) return session.error();
  std::string token = session.value()->optValue<std::string>("session", "");
  if (token.empty()) return Status::fail("server_error", "the login reply carries no session");
  profile_.session = token;
  profile_.tenant = tenant;
  auto expires = session.value()->optValue<Poco::Int64>("expires", 0);
  profile_.expires = expires > 0 ? static_cast<std::uint64_t>(expires) : nowSeconds() + 15 * 60;
  return profile_.overridden ? Status::ok() : profile_.save();
}

RP OnlineClient::decode(Result<ApiReply> reply) {
  if (!reply) return reply.error();
  if (reply->status < 200 || reply->status > 299) return replyError(reply.value());
  if (reply->json) return reply->json;
  if (reply->body.empty()) return Ptr(new Poco::JSON::Object());
  return RP::fail("server_error", "the server answered HTTP " + std::to_string(reply->status) +
                                      " with a body that is not a JSON object");
}

RP OnlineClient::callAnonymous(const std::string& method, const std::string& path,
                               const std::string& body) {
  return decode(api_->call(method, path, body));
}

Result<ApiReply> OnlineClient::authenticated(const std::string& method, const std::string& path,
                                             const std::string& body) {
  if (profile_.session.empty() || profile_.expires <= nowSeconds() + kRenewMarginSeconds) {
    if (Status s = login(); !s) return s.error();
  }
  auto reply = api_->call(method, path, body, profile_.session);
  if (reply && reply->status == 401 && reply->json &&
      reply->json->optValue<std::string>("error", "") == "unauthenticated") {
    // The server forgot the session (restart, revocation): one fresh login, one retry.
    if (Status s = login(); !s) return s.error();
    reply = api_->call(method, path, body, profile_.session);
  }
  return reply;
}

RP OnlineClient::call(const std::string& method, const std::string& path, const std::string& body) {
  return decode(authenticated(method, path, body));
}

RP OnlineClient::uploadFile(const std::string& path, const std::string& filePath) {
  std::error_code ec;
  auto size = std::filesystem::file_size(filePath, ec);
  if (ec) return RP::fail("io", "cannot read " + filePath + ": " + ec.message());
  auto once = [&]() -> Result<ApiReply> {
    std::ifstream in(filePath, std::ios::binary);
    if (!in) return Result<ApiReply>::fail("io", "cannot open " + filePath);
    HttpsApi::RequestBody body{"application/octet-stream", size, [&in, size](std::ostream& out) {
                                 char buf[64 * 1024];
                                 std::uint64_t sent = 0;
                                 while (sent < size) {
                                   in.read(buf, sizeof buf);
                                   if (in.gcount() <= 0) break;
                                   out.write(buf, in.gcount());
                                   sent += static_cast<std::uint64_t>(in.gcount());
                                 }
                                 return sent == size && static_cast<bool>(out);
                               }};
    return api_->send("POST", path, body, profile_.session);
  };
  if (profile_.session.empty() || profile_.expires <= nowSeconds() + kRenewMarginSeconds) {
    if (Status s = login(); !s) return s.error();
  }
  auto reply = once();
  if (reply && reply->status == 401 && reply->json &&
      reply->json->optValue<std::string>("error", "") == "unauthenticated") {
    if (Status s = login(); !s) return s.error();
    reply = once();
  }
  return decode(std::move(reply));
}

Result<ApiReply> OnlineClient::callRaw(const std::string& method, const std::string& path) {
  auto reply = authenticated(method, path, "");
  if (reply && (reply->status < 200 || reply->status > 299)) return replyError(reply.value());
  return reply;
}

Result<std::string> fetchBundleInForce(OnlineClient& client) {
  auto reply = client.callRaw("GET", "/api/v1/bundle");
  if (!reply) return reply.error();
  return std::move(reply.value().body);
}

std::string urlEncode(const std::string& s) {
  std::string out;
  Poco::URI::encode(s, "/?#&=+%; ", out);
  return out;
}

}  // namespace keyturn::cli
