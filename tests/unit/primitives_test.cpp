// Base64url, strict JSON, Ed25519 keys and RFC 6962 Merkle trees.
#include <sys/stat.h>

#include <Poco/JSON/Parser.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "keyturn/time_format.h"
#include "keyturn/base64url.h"
#include "keyturn/crypto_util.h"
#include "keyturn/ed25519.h"
#include "keyturn/json.h"
#include "keyturn/jws.h"
#include "keyturn/merkle.h"

using namespace keyturn;

TEST_CASE("base64url round-trips every length without padding", "[base64url]") {
  for (std::size_t n = 0; n < 70; ++n) {
    Bytes data(n);
    for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<std::uint8_t>(i * 37 + n);
    std::string text = base64url::encode(data);
    CHECK(text.find('=') == std::string::npos);
    auto back = base64url::decode(text);
    REQUIRE(back);
    CHECK(*back == data);
  }
}

TEST_CASE("base64url refuses padding, the standard alphabet, white space and non-canonical forms",
          "[base64url]") {
  CHECK_FALSE(base64url::decode("QQ=="));      // padding
  CHECK_FALSE(base64url::decode("a+b/"));      // standard alphabet
  CHECK_FALSE(base64url::decode("QU JD"));     // white space
  CHECK_FALSE(base64url::decode("QUJDR"));     // length 1 mod 4
  CHECK_FALSE(base64url::decode("QR"));        // unused bits set: "QQ" is the canonical form of "A"
  CHECK_FALSE(base64url::decode("QUJ"));       // unused bits set: "QUI" is the canonical form of "AB"
  CHECK(base64url::decode("QUI"));
  CHECK(base64url::decode("QQ"));
  CHECK(base64url::decode(""));
}

TEST_CASE("strict JSON refuses duplicate member names at any depth", "[json]") {
  auto top = json::parse(R"({"a":1,"a":2})");
  REQUIRE_FALSE(top);
  CHECK(top.reason() == "malformed");
  CHECK(top.detail().find("duplicate member name \"a\"") != std::string::npos);
  CHECK_FALSE(json::parse(R"({"x":{"b":[{"c":1,"c":1}]}})"));
  CHECK(json::parse(R"({"x":{"c":1},"y":{"c":1}})"));  // same name in sibling objects is fine
}

TEST_CASE("strict JSON limits depth to 32 with the outermost value at depth 1", "[json]") {
  auto nest = [](int depth) {
    std::string s;
    for (int i = 0; i < depth - 1; ++i) s += "[";
    s += "1";
    for (int i = 0; i < depth - 1; ++i) s += "]";
    return s;
  };
  CHECK(json::parse(nest(32)));
  auto deep = json::parse(nest(33));
  REQUIRE_FALSE(deep);
  CHECK(deep.detail().find("deeper than 32") != std::string::npos);
  CHECK_FALSE(json::parse(std::string(100000, '[') + std::string(100000, ']')));
}

TEST_CASE("strict JSON refuses BOM, NUL, invalid UTF-8, comments, trailing data and negative zero", "[json]") {
  CHECK_FALSE(json::parse("\xEF\xBB\xBF{}"));
  CHECK_FALSE(json::parse(std::string("{\"a\":\"x\0y\"}", 11)));
  CHECK_FALSE(json::parse(R"({"a":"x\u0000y"})"));
  CHECK_FALSE(json::parse("{\"a\":\"\xC0\xAF\"}"));      // overlong
  CHECK_FALSE(json::parse("{\"a\":\"\xED\xA0\x80\"}"));  // UTF-16 surrogate in UTF-8
  CHECK_FALSE(json::parse(R"({"a":1} // comment)"));
  CHECK_FALSE(json::parse(R"({"a":1} {"b":2})"));
  CHECK_FALSE(json::parse(R"({"a":-0})"));
  CHECK_FALSE(json::parse(R"({"a":01})"));
  CHECK_FALSE(json::parse(R"({"a":1,})"));
  CHECK(json::parse(R"({"a":"caf\u00e9 \ud83d\ude00"})"));
}

TEST_CASE("integer members must be plain non-negative literals up to 2^53", "[json]") {
  auto check = [](const char* text) {
    auto o = json::parseObject(text);
    REQUIRE(o);
    return json::getInteger(*o.value(), "n", "t");
  };
  CHECK(check(R"({"n":0})").value() == 0);
  CHECK(check(R"({"n":9007199254740992})").value() == (1ull << 53));
  CHECK_FALSE(check(R"({"n":9007199254740993})"));
  CHECK_FALSE(check(R"({"n":18446744073709551616})"));
  CHECK_FALSE(check(R"({"n":-1})"));
  CHECK_FALSE(check(R"({"n":1.0})"));
  CHECK_FALSE(check(R"({"n":1e3})"));
  CHECK_FALSE(check(R"({"n":"1"})"));
  auto wrong = check(R"({"n":true})");
  REQUIRE_FALSE(wrong);
  CHECK(wrong.detail() == "t.n must be a plain integer, got boolean");
}

TEST_CASE("string lengths are counted in code points", "[json]") {
  CHECK(json::codePoints("abc") == 3);
  CHECK(json::codePoints("caf\xC3\xA9") == 4);
  CHECK(json::codePoints("\xF0\x9F\x98\x80") == 1);
}

TEST_CASE("an Ed25519 key signs, verifies and has an RFC 7638 thumbprint kid", "[ed25519]") {
  auto key = Ed25519PrivateKey::generate();
  auto sig = key.sign("hello");
  CHECK(key.publicKey().verify("hello", sig.data(), sig.size()));
  CHECK_FALSE(key.publicKey().verify("hellO", sig.data(), sig.size()));
  // RFC 8037 appendix A.3 thumbprint of the RFC 8032 test key.
  CHECK(jwkThumbprint("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo") == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
  auto pub = Ed25519PublicKey::fromX("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
  REQUIRE(pub);
  CHECK(pub->kid() == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
}

TEST_CASE("signatureFor gives the bytes appendSignature appends", "[jws]") {
  auto key = Ed25519PrivateKey::generate();
  const std::string header = R"({"alg":"EdDSA","kid":"k","kt.role":"issuer"})";
  JwsEnvelope viaAppend = newJws(R"({"id":"r-1"})");
  appendSignature(viaAppend, key, header);
  JwsEnvelope viaSignatureFor = newJws(R"({"id":"r-1"})");
  viaSignatureFor.signatures.push_back(signatureFor(viaSignatureFor, key, header));
  CHECK(viaSignatureFor.serialize() == viaAppend.serialize());
  auto other = Ed25519PrivateKey::generate();  // another key: other bytes
  JwsEnvelope byOther = newJws(R"({"id":"r-1"})");
  byOther.signatures.push_back(signatureFor(byOther, other, header));
  CHECK(byOther.serialize() != viaAppend.serialize());
}

TEST_CASE("the identity and small-order points are refused as public keys", "[ed25519]") {
  const char* bad[] = {
      "0000000000000000000000000000000000000000000000000000000000000000",
      "0100000000000000000000000000000000000000000000000000000000000000",
      "0100000000000000000000000000000000000000000000000000000000000080",
      "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
      "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
      "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  };
  for (const char* hex : bad) {
    auto raw = fromHex(hex).value();
    auto key = Ed25519PublicKey::fromRaw(raw.data(), raw.size());
    INFO(hex);
    REQUIRE_FALSE(key);
    CHECK(key.reason() == "malformed");
  }
  Bytes shortKey(31, 7);
  CHECK_FALSE(Ed25519PublicKey::fromRaw(shortKey.data(), shortKey.size()));
}

TEST_CASE("a malleated signature (S + L) does not verify", "[ed25519]") {
  auto key = Ed25519PrivateKey::generate();
  auto sig = key.sign("wipe dev-2");
  // L = 2^252 + 27742317777372353535851937790883648493, little-endian.
  const std::uint8_t L[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                              0xa2, 0xde, 0xf9, 0xde, 0x14, 0,    0,    0,    0,    0,    0,
                              0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10};
  unsigned carry = 0;
  for (int i = 0; i < 32; ++i) {
    unsigned v = sig[32 + i] + L[i] + carry;
    sig[32 + i] = static_cast<std::uint8_t>(v);
    carry = v >> 8;
  }
  CHECK_FALSE(key.publicKey().verify("wipe dev-2", sig.data(), sig.size()));
}

TEST_CASE("private keys are written 0600 and a group-readable key file is refused", "[ed25519]") {
  auto dir = std::filesystem::temp_directory_path() / ("kt-key-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "alice.key").string();
  auto key = Ed25519PrivateKey::generate();
  REQUIRE(key.save(path));
  struct stat st{};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto again = key.save(path);
  CHECK_FALSE(again);
  auto loaded = Ed25519PrivateKey::load(path);
  REQUIRE(loaded);
  CHECK(loaded->publicKey().kid() == key.publicKey().kid());
  ::chmod(path.c_str(), 0640);
  auto refused = Ed25519PrivateKey::load(path);
  REQUIRE_FALSE(refused);
  CHECK(refused.reason() == "insecure_permissions");
  std::filesystem::remove_all(dir);
}

TEST_CASE("the Merkle root matches RFC 6962 for small trees and every audit path verifies", "[merkle]") {
  std::vector<std::string> ids;
  for (int n = 1; n <= 17; ++n) {
    ids.push_back("dev-" + std::string(1, static_cast<char>('a' + n)));
    MerkleTree tree(ids);
    // Recursive definition from RFC 6962 section 2.1, for comparison.
    std::function<Digest(std::size_t, std::size_t)> mth = [&](std::size_t lo, std::size_t hi) -> Digest {
      if (hi - lo == 1) return merkleLeafHash(ids[lo]);
      std::size_t k = 1;
      while (k * 2 < hi - lo) k *= 2;
      return merkleNodeHash(mth(lo, lo + k), mth(lo + k, hi));
    };
    REQUIRE(tree.root() == mth(0, ids.size()));
    for (std::size_t i = 0; i < ids.size(); ++i) {
      auto path = tree.auditPath(i);
      CHECK(verifyAuditPath(ids[i], i, ids.size(), path, tree.root()));
      CHECK_FALSE(verifyAuditPath(ids[i] + "x", i, ids.size(), path, tree.root()));
      CHECK_FALSE(verifyAuditPath(ids[i], ids.size(), ids.size(), path, tree.root()));  // index past the end
      if (ids.size() > 1) {
        std::size_t other = (i + 1) % ids.size();
        CHECK_FALSE(verifyAuditPath(ids[other], i, ids.size(), path, tree.root()));  // a proof for another leaf
        CHECK_FALSE(verifyAuditPath(ids[i], other, ids.size(), path, tree.root()));  // at another index
        auto shorter = path;
        shorter.pop_back();
        CHECK_FALSE(verifyAuditPath(ids[i], i, ids.size(), shorter, tree.root()));
      }
    }
  }
}

TEST_CASE("target lists are sorted by bytes and duplicates are refused", "[merkle]") {
  auto sorted = canonicalTargets({"b", "a", "B"});
  REQUIRE(sorted);
  CHECK(sorted.value() == std::vector<std::string>{"B", "a", "b"});
  CHECK_FALSE(canonicalTargets({"a", "a"}));
  CHECK_FALSE(canonicalTargets({}));
}

TEST_CASE("whatever the strict reader accepts, Poco's parser reads to the same value", "[json]") {
  // A differential check: the strict reader accepts a subset of what Poco accepts, and
  // never reads a document differently. (Poco also refuses a bare scalar at the top
  // level, which RFC 8259 allows; every signed object of the protocol is an object.)
  const char* docs[] = {
      R"({"a":1,"b":[true,false,null,"x\n\u00e9\ud83d\ude00"],"c":{"d":-5,"e":1.5e3}})",
      R"(  [ 0 , 1 , 9007199254740993 , -9223372036854775808 , 18446744073709551615 ]  )",
      R"({"":"","\u0041":"\/\\\"\b\f\r\t"})",
      R"({"nested":[[[[{"k":[{}]}]]]]})",
  };
  for (const char* doc : docs) {
    INFO(doc);
    auto ours = json::parse(doc);
    REQUIRE(ours);
    Poco::JSON::Parser poco;
    Poco::Dynamic::Var theirs = poco.parse(doc);
    CHECK(json::stringify(ours.value()) == json::stringify(theirs));
  }
}

TEST_CASE("utcTimestamp writes RFC 3339 UTC, the same for the CLI, the report and the audit export") {
  CHECK(keyturn::utcTimestamp(0) == "1970-01-01T00:00:00Z");
  CHECK(keyturn::utcTimestamp(1764583200) == "2025-12-01T10:00:00Z");
}

TEST_CASE("a Status and a Result name their failure, and a success has an empty reason", "[result]") {
  Status ok = Status::ok();
  CHECK(ok.isOk());
  CHECK(ok.reason().empty());  // asking a success is defined: no reason, no detail
  CHECK(ok.detail().empty());
  Status failed = Status::fail("bad_signature", "the approver signature does not verify");
  CHECK_FALSE(failed);
  CHECK(failed.reason() == "bad_signature");
  CHECK(failed.error().detail == "the approver signature does not verify");
  Result<int> r = failed;
  CHECK_FALSE(r.isOk());
  CHECK(r.status().reason() == "bad_signature");
  Result<int> value(7);
  CHECK(value.status().isOk());
  CHECK(value.status().reason().empty());
}
