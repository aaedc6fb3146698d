// A bounded memory of the Ed25519 signatures this process has verified, so that a
// signature checked when it arrived need not be verified again, in full, when the same
// bytes are checked a second time (the coordinator re-checks every stored signature at
// completion, and each verification costs about as much as the rest of a step).
//
// An entry is SHA-256 over (public key, message length, message, signature): only the
// exact bytes that verified are remembered, and only successful verifications are. A
// signature, a payload or a key that differs in any byte — a row changed in the
// database, say — is not in memory and is verified in full (and refused if it does not
// verify). The memory lives in the process, never in the database, so whoever can
// write the database cannot write it. Oldest entries are forgotten first; forgetting
// costs one more verification, never a wrong answer. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string_view>
#include <unordered_set>

#include "keyturn/crypto_util.h"
#include "keyturn/ed25519.h"

namespace keyturn {

class VerifiedSignatures {
 public:
  static constexpr std::size_t kDefaultCapacity = 16384;  // about 1.5 MiB

  explicit VerifiedSignatures(std::size_t capacity = kDefaultCapacity);

  // Whether `signature` verifies over `message` with `key`: answered from memory when
  // these exact bytes verified before, else verified (and remembered if it does).
  bool verify(const Ed25519PublicKey& key, std::string_view message, const std::uint8_t* signature,
              std::size_t size);

  std::size_t size() const;
  // Verifications answered from memory so far (for tests and benchmarks).
  std::uint64_t hits() const;

 private:
  struct DigestHash {
    std::size_t operator()(const Digest& d) const;
  };
  static Digest entryOf(const Ed25519PublicKey& key, std::string_view message,
                        const std::uint8_t* signature, std::size_t size);

  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_set<Digest, DigestHash> known_;
  std::deque<Digest> order_;  // oldest first
  std::uint64_t hits_ = 0;
};

// One verification through `memory` when there is one, else directly with the key.
inline bool verifySignature(const Ed25519PublicKey& key, std::string_view message,
                            const std::uint8_t* signature, std::size_t size,
                            VerifiedSignatures* memory) {
  return memory ? memory->verify(key, message, signature, size)
                : key.verify(message, signature, size);
}

}  // namespace keyturn
