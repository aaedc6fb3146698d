// The coordinator's memory of verified signatures: it may spare a verification, never
// change an answer.
#include <catch2/catch.hpp>

#include "keyturn/verified_signatures.h"

using namespace keyturn;

TEST_CASE("a verified signature is remembered and answered from memory the second time",
          "[verified-signatures]") {
  VerifiedSignatures memory;
  auto key = Ed25519PrivateKey::generate();
  auto sig = key.sign("request payload");
  CHECK(memory.verify(key.publicKey(), "request payload", sig.data(), sig.size()));
  CHECK(memory.size() == 1);
  CHECK(memory.hits() == 0);
  CHECK(memory.verify(key.publicKey(), "request payload", sig.data(), sig.size()));
  CHECK(memory.hits() == 1);
}

TEST_CASE("bytes that differ from a remembered signature are verified in full and refused",
          "[verified-signatures]") {
  VerifiedSignatures memory;
  auto key = Ed25519PrivateKey::generate();
  auto other = Ed25519PrivateKey::generate();
  auto sig = key.sign("request payload");
  REQUIRE(memory.verify(key.publicKey(), "request payload", sig.data(), sig.size()));

  // Another message under the same signature (a payload changed in the database).
  CHECK_FALSE(memory.verify(key.publicKey(), "request payloaD", sig.data(), sig.size()));
  // The same message and signature claimed for another key.
  CHECK_FALSE(memory.verify(other.publicKey(), "request payload", sig.data(), sig.size()));
  // One bit of the signature changed.
  auto bent = sig;
  bent[17] ^= 0x01;
  CHECK_FALSE(memory.verify(key.publicKey(), "request payload", bent.data(), bent.size()));
  // A truncated signature.
  CHECK_FALSE(memory.verify(key.publicKey(), "request payload", sig.data(), sig.size() - 1));
  // The message cannot borrow bytes from the signature: same bytes, other split.
  std::string joined = "request payload" + std::string(sig.begin(), sig.begin() + 1);
  CHECK_FALSE(memory.verify(key.publicKey(), joined, sig.data() + 1, sig.size() - 1));

  CHECK(memory.hits() == 0);
  CHECK(memory.size() == 1);  // refusals are never remembered
}

TEST_CASE("the memory is bounded: the oldest entries are forgotten and verified again in full",
          "[verified-signatures]") {
  VerifiedSignatures memory(2);
  auto key = Ed25519PrivateKey::generate();
  auto a = key.sign("a");
  auto b = key.sign("b");
  auto c = key.sign("c");
  CHECK(memory.verify(key.publicKey(), "a", a.data(), a.size()));
  CHECK(memory.verify(key.publicKey(), "b", b.data(), b.size()));
  CHECK(memory.verify(key.publicKey(), "c", c.data(), c.size()));
  CHECK(memory.size() == 2);
  CHECK(memory.verify(key.publicKey(), "a", a.data(), a.size()));  // forgotten: full check
  CHECK(memory.hits() == 0);
  CHECK(memory.verify(key.publicKey(), "c", c.data(), c.size()));  // still remembered
  CHECK(memory.hits() == 1);
}
