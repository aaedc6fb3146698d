// A logged-in conversation with the coordinator for one command: the profile (with its
// environment overrides), one keep-alive HTTPS connection, and the session token.
//
// Sessions last at most 15 minutes. When the stored one has expired, or the server says
// it is unknown (401 unauthenticated), the client logs in again by itself with the
// admin's key — a fresh challenge–response, so nothing replayable is kept — and saves
// the new session in the profile. The session token is never printed.
#pragma once

#include <Poco/JSON/Object.h>

#include <memory>
#include <optional>
#include <string>

#include "keyturn/ed25519.h"
#include "keyturn/result.h"
#include "online/https_api.h"
#include "online/profile.h"

namespace keyturn::cli {

class OnlineClient {
 public:
  // Loads the profile and opens the connection. Reason "usage" naming what is missing
  // (server, CA, id or key: "run keyturn login" or set KEYTURN_*).
  static Result<std::unique_ptr<OnlineClient>> open();
  // For `keyturn login`: this server, CA, id and key (env overrides do not apply).
  static Result<std::unique_ptr<OnlineClient>> openWith(const Profile& profile);

  // Challenge–response with the admin's key; stores the session and saves the profile.
  Status login();

  // An authenticated call. 2xx → the reply's JSON object (an empty object for an empty
  // body); any other status → replyError(); transport failures as HttpsApi::call.
  Result<Poco::JSON::Object::Ptr> call(const std::string& method, const std::string& path,
                                       const std::string& body = "");
  // An authenticated POST streaming the file at `filePath` as application/octet-stream
  // (an artifact upload). Reasons as call(), plus "io" when the file cannot be read.
  Result<Poco::JSON::Object::Ptr> uploadFile(const std::string& path, const std::string& filePath);
  // An authenticated call whose 2xx body is not JSON (an export): the raw reply.
  Result<ApiReply> callRaw(const std::string& method, const std::string& path);
  // The same, without a session (GET /healthz).
  Result<Poco::JSON::Object::Ptr> callAnonymous(const std::string& method, const std::string& path,
                                                const std::string& body = "");

  const Profile& profile() const { return profile_; }
  // The admin's key, loaded on first use (refused when group or others may read it).
  Result<const Ed25519PrivateKey*> key();

 private:
  OnlineClient() = default;
  Result<Poco::JSON::Object::Ptr> decode(Result<ApiReply> reply);
  Result<ApiReply> authenticated(const std::string& method, const std::string& path,
                                 const std::string& body);
  Profile profile_;
  std::unique_ptr<HttpsApi> api_;
  std::optional<Ed25519PrivateKey> key_;
};

// The trust bundle in force on the coordinator (GET /api/v1/bundle), byte for byte.
// Its signatures are not checked here: it feeds simulations and diffs, never trust.
Result<std::string> fetchBundleInForce(OnlineClient& client);

// Percent-encodes a path segment or query value.
std::string urlEncode(const std::string& s);

}  // namespace keyturn::cli
