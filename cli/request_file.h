// The drafting file of a request: {"kt":"request-file/1","token":JWS,"targets":[ids]}.
// The token inside is what admins sign; the target list travels beside it so that every
// approver can check it against the Merkle root before signing.
#pragma once

#include <string>
#include <vector>

#include "keyturn/result.h"
#include "keyturn/token.h"

namespace keyturn::cli {

struct RequestFile {
  Token token;                       // parsed with parseToken (roles, kt.at, payload)
  std::vector<std::string> targets;  // sorted, as written
};

// Reads and parses the file. Reason "io" if unreadable, "malformed" if it is not a
// request file or its token does not parse.
Result<RequestFile> readRequestFile(const std::string& path);
// Writes {"kt":"request-file/1","token":...,"targets":[...]} atomically.
Status writeRequestFile(const std::string& path, const JwsEnvelope& token,
                        const std::vector<std::string>& targets);
// Ok if the targets hash to the payload's root and count; else reason "targets_mismatch".
Status checkTargets(const RequestFile& f);

}  // namespace keyturn::cli
