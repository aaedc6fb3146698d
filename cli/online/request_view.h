// A request as the coordinator returns it (docs/openapi.yaml, schema Request), checked
// locally before a person sees or signs it: the signed token is parsed with core
// (parseToken) and the target list the server sends is hashed with core's MerkleTree
// and compared with the root the requester signed. The server's word on targets is
// never taken.
#pragma once

#include <Poco/JSON/Object.h>

#include <string>
#include <vector>

#include "keyturn/result.h"
#include "keyturn/token.h"

namespace keyturn::cli {

struct RequestView {
  Poco::JSON::Object::Ptr json;      // as received
  bool bundleUpdate = false;         // a maa.bundle.update proposal: `proposal` instead of `token`
  Token token;                       // the signed request, parsed by core
  std::string proposal;              // the proposed bundle's JWS (bundle proposals)
  std::string proposalSha256;        // of its payload, hex
  std::vector<std::string> targets;  // as the server lists them
  std::string state;
  Status targetsCheck;  // ok, or "targets_mismatch" naming why

  // Reason "server_error" when the object has no parseable token ("jws") or target list.
  // For a bundle proposal the JWS must parse as a trust bundle (TrustBundle::parse).
  static Result<RequestView> from(const Poco::JSON::Object::Ptr& request);

  // The readable report: payload, targets with the Merkle verdict, requirements and
  // progress, approvals and rejections with notes, timeline, per-device results.
  std::string text() const;
  // The server's object plus "targets_match" (and "targets_problem" when false).
  std::string jsonText() const;
  // The latest kt.at among approver signatures (0 when none).
  std::uint64_t latestApproval() const;
};

// One line per request for `request list`.
std::string requestLine(const Poco::JSON::Object::Ptr& request);

}  // namespace keyturn::cli
