// Hashing and hex helpers shared by bundles, tokens and Merkle trees.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keyturn {

using Bytes = std::vector<std::uint8_t>;
using Digest = std::array<std::uint8_t, 32>;

// SHA-256 over raw bytes (OpenSSL one-shot).
Digest sha256(const void* data, std::size_t size);
inline Digest sha256(std::string_view s) { return sha256(s.data(), s.size()); }

// SHA-256 fed in pieces (artifacts streamed to disk, never held whole in memory).
// Not copyable; finish() once, after which the hasher must not be fed again.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void update(const void* data, std::size_t size);
  Digest finish();

 private:
  void* ctx_;  // EVP_MD_CTX
};

// Lowercase hex.
std::string toHex(const std::uint8_t* data, std::size_t size);
inline std::string toHex(const Digest& d) { return toHex(d.data(), d.size()); }

// Parses hex in either case; nullopt on odd length or a non-hex character.
std::optional<Bytes> fromHex(std::string_view hex);

// Constant-time comparison of two equal-length buffers.
bool constantTimeEqual(const void* a, const void* b, std::size_t size);

// Reads a whole file; nullopt (and errno set) when it cannot be read or exceeds maxBytes.
std::optional<std::string> readFile(const std::string& path, std::size_t maxBytes);

// Writes a file atomically: temporary file in the same folder, fsync, rename, fsync of
// the folder. The file gets the given mode. Returns an error text, or empty on success.
std::string writeFileAtomic(const std::string& path, std::string_view data, unsigned mode);

}  // namespace keyturn
