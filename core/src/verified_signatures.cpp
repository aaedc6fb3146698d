#include "keyturn/verified_signatures.h"

#include <cstring>

namespace keyturn {

VerifiedSignatures::VerifiedSignatures(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {
  known_.reserve(capacity_);
}

std::size_t VerifiedSignatures::DigestHash::operator()(const Digest& d) const {
  std::size_t h;
  std::memcpy(&h, d.data(), sizeof h);  // a SHA-256 prefix is already uniform
  return h;
}

Digest VerifiedSignatures::entryOf(const Ed25519PublicKey& key, std::string_view message,
                                   const std::uint8_t* signature, std::size_t size) {
  Sha256Stream h;
  h.update(key.raw().data(), key.raw().size());
  const std::uint64_t length = message.size();  // the message cannot borrow the signature's bytes
  h.update(&length, sizeof length);
  h.update(message.data(), message.size());
  h.update(signature, size);
  return h.finish();
}

bool VerifiedSignatures::verify(const Ed25519PublicKey& key, std::string_view message,
                                const std::uint8_t* signature, std::size_t size) {
  const Digest entry = entryOf(key, message, signature, size);
  {
    std::lock_guard lock(mu_);
    if (known_.count(entry)) {
      ++hits_;
      return true;
    }
  }
  if (!key.verify(message, signature, size)) return false;  // failures are never remembered
  std::lock_guard lock(mu_);
  if (!known_.insert(entry).second) return true;  // another thread verified it meanwhile
  order_.push_back(entry);
  while (order_.size() > capacity_) {
    known_.erase(order_.front());
    order_.pop_front();
  }
  return true;
}

std::size_t VerifiedSignatures::size() const {
  std::lock_guard lock(mu_);
  return known_.size();
}

std::uint64_t VerifiedSignatures::hits() const {
  std::lock_guard lock(mu_);
  return hits_;
}

}  // namespace keyturn
