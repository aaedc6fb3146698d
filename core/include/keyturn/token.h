// The approval token of PROTOCOL.md section 4: one request, approved, completed and
// issued for one device. This header reads a token (gate steps 1 and 2) and writes the
// pieces of one (payload and the four kinds of protected header).
#pragma once

#include <Poco/JSON/Object.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keyturn/crypto_util.h"
#include "keyturn/jws.h"
#include "keyturn/result.h"

namespace keyturn {

constexpr std::size_t kMaxTokenBytes = 64u * 1024u;
constexpr std::size_t kMaxTokenSignatures = 16;
constexpr std::uint64_t kMaxTargets = 1'000'000;
constexpr std::uint64_t kMaxRequestLifetime = 90ull * 24 * 3600;
constexpr std::uint64_t kDefaultRequestLifetime = 30ull * 24 * 3600;
constexpr std::uint64_t kMaxIssueWindow = 30ull * 24 * 3600;

struct RequestPayload {
  std::string tenant;
  std::string id;
  std::string action;
  Poco::JSON::Object::Ptr params;
  std::string paramsJson;  // compact re-serialisation, for policies and plugins
  std::uint64_t targetCount = 0;
  Digest targetRoot{};
  std::string requester;
  std::string justification;
  std::uint64_t created = 0;
  std::uint64_t expires = 0;
  std::uint64_t bundle = 0;
};

enum class SignerRole { kRequester, kApprover, kCompleter, kIssuer };
const char* roleName(SignerRole role);

struct TokenSignature {
  SignerRole role = SignerRole::kRequester;
  std::string kid;
  std::uint64_t at = 0;
  std::size_t entry = 0;  // index into envelope.signatures
  // Issuer only:
  std::string device;
  std::uint64_t index = 0;
  std::vector<Digest> proof;
  std::uint64_t nbf = 0;
  std::uint64_t exp = 0;
};

struct Token {
  JwsEnvelope envelope;
  RequestPayload payload;
  std::vector<TokenSignature> signatures;  // in envelope order
};

// Gate steps 1 and 2: size, envelope, payload and header schemas → "malformed";
// algorithms and forbidden header members → "unsupported_alg". Counts of signatures per
// role are left to the gate (steps 7 and 9).
Result<Token> parseToken(std::string_view bytes);

// The payload schema alone (section 4), for drafting and for the coordinator.
Result<RequestPayload> parseRequestPayload(std::string_view payloadJson);

// Checks the fields of a request id, action name and principal id.
bool validRequestId(std::string_view id);
bool validActionName(std::string_view action);
bool validPrincipalId(std::string_view id);

struct RequestDraft {
  std::string tenant;
  std::string id;
  std::string action;
  std::string paramsJson = "{}";
  std::vector<std::string> targets;  // any order; canonicalised (sorted, no duplicates)
  std::string requester;
  std::string justification;
  std::uint64_t created = 0;
  std::uint64_t expires = 0;
  std::uint64_t bundle = 0;
};

// Builds the payload JSON of a draft; fails "malformed" naming the field when the draft
// would not pass parseRequestPayload.
Result<std::string> requestPayloadJson(const RequestDraft& draft);

std::string requesterHeader(const std::string& kid, std::uint64_t at);
std::string approverHeader(const std::string& kid, std::uint64_t at);
std::string completerHeader(const std::string& kid, std::uint64_t at);
std::string issuerHeader(const std::string& kid, std::uint64_t at, const std::string& device,
                         std::uint64_t index, const std::vector<Digest>& proof, std::uint64_t nbf,
                         std::uint64_t exp);

}  // namespace keyturn
