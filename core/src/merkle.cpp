#include "keyturn/merkle.h"

#include <algorithm>
#include <cstring>

namespace keyturn {

Digest merkleLeafHash(std::string_view id) {
  std::string buf;
  buf.reserve(id.size() + 1);
  buf.push_back('\0');
  buf.append(id);
  return sha256(buf);
}

Digest merkleNodeHash(const Digest& left, const Digest& right) {
  std::uint8_t buf[65];
  buf[0] = 0x01;
  std::memcpy(buf + 1, left.data(), 32);
  std::memcpy(buf + 33, right.data(), 32);
  return sha256(buf, sizeof buf);
}

Result<std::vector<std::string>> canonicalTargets(std::vector<std::string> ids) {
  using R = Result<std::vector<std::string>>;
  if (ids.empty()) return R::fail("malformed", "the target list is empty");
  std::sort(ids.begin(), ids.end());  // std::string compares bytes as unsigned char
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i].empty()) return R::fail("malformed", "a target id is empty");
    if (i > 0 && ids[i] == ids[i - 1]) return R::fail("malformed", "target \"" + ids[i] + "\" is listed twice");
  }
  return ids;
}

bool verifyAuditPath(std::string_view id, std::uint64_t index, std::uint64_t count,
                     const std::vector<Digest>& path, const Digest& root) {
  if (count == 0 || index >= count) return false;
  std::uint64_t fn = index, sn = count - 1;
  Digest r = merkleLeafHash(id);
  for (const Digest& p : path) {
    if (sn == 0) return false;
    if ((fn & 1) == 1 || fn == sn) {
      r = merkleNodeHash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = merkleNodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && constantTimeEqual(r.data(), root.data(), r.size());
}

// Pairing nodes left to right and carrying a lone last node up unchanged builds exactly
// the RFC 6962 tree (whose left subtree is the largest power of two below n).
MerkleTree::MerkleTree(const std::vector<std::string>& sortedIds) {
  std::vector<Digest> level;
  level.reserve(sortedIds.size());
  for (const auto& id : sortedIds) level.push_back(merkleLeafHash(id));
  if (level.empty()) level.push_back(sha256("", 0));  // RFC 6962: MTH({}) = SHA-256()
  levels_.push_back(std::move(level));
  while (levels_.back().size() > 1) {
    const auto& below = levels_.back();
    std::vector<Digest> up;
    up.reserve((below.size() + 1) / 2);
    for (std::size_t i = 0; i + 1 < below.size(); i += 2) up.push_back(merkleNodeHash(below[i], below[i + 1]));
    if (below.size() % 2 == 1) up.push_back(below.back());
    levels_.push_back(std::move(up));
  }
}

std::vector<Digest> MerkleTree::auditPath(std::size_t index) const {
  std::vector<Digest> path;
  for (std::size_t l = 0; l + 1 < levels_.size(); ++l) {
    std::size_t sibling = index ^ 1;
    if (sibling < levels_[l].size()) path.push_back(levels_[l][sibling]);
    index >>= 1;
  }
  return path;
}

}  // namespace keyturn
