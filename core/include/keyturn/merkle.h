// RFC 6962 section 2.1 Merkle Tree Hash and audit paths over device ids, as
// PROTOCOL.md section 4 binds a token's targets: leaf = SHA-256(0x00 || id),
// node = SHA-256(0x01 || left || right), ids in ascending byte order, no duplicates.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "keyturn/crypto_util.h"
#include "keyturn/result.h"

namespace keyturn {

Digest merkleLeafHash(std::string_view id);
Digest merkleNodeHash(const Digest& left, const Digest& right);

// Sorts ids into ascending byte order. Fails with reason "malformed" on an empty list,
// an empty id, or a duplicate.
Result<std::vector<std::string>> canonicalTargets(std::vector<std::string> ids);

// Verifies that `path` leads from leaf `index` of a tree of `count` leaves holding `id`
// to `root` (RFC 9162 section 2.1.3.2). False for index >= count or a wrong length.
bool verifyAuditPath(std::string_view id, std::uint64_t index, std::uint64_t count,
                     const std::vector<Digest>& path, const Digest& root);

// The tree over a canonical target list. Building it keeps every level, so each audit
// path costs O(log n); a million targets take about 64 MB.
class MerkleTree {
 public:
  explicit MerkleTree(const std::vector<std::string>& sortedIds);
  const Digest& root() const { return levels_.back().front(); }
  std::size_t size() const { return levels_.front().size(); }
  std::vector<Digest> auditPath(std::size_t index) const;

 private:
  std::vector<std::vector<Digest>> levels_;
};

}  // namespace keyturn
