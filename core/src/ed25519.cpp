#include "keyturn/ed25519.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <filesystem>

#include "keyturn/base64url.h"
#include "keyturn/crypto_util.h"

namespace keyturn {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};

// Encodings (y coordinate, sign bit cleared) of the points of order 1, 2, 4 and 8,
// including the non-canonical y = p and y = p + 1. A signature can be forged for such
// a key, so it is refused before it is ever used.
constexpr std::uint8_t kSmallOrder[][32] = {
    {0},
    {1},
    {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
     0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
    {0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
     0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},
    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
};

bool hasSmallOrder(const std::uint8_t* raw) {
  for (const auto& bad : kSmallOrder) {
    std::uint8_t diff = 0;
    for (int i = 0; i < 31; ++i) diff |= raw[i] ^ bad[i];
    diff |= (raw[31] & 0x7f) ^ bad[31];
    if (diff == 0) return true;
  }
  return false;
}

}  // namespace

std::string jwkThumbprint(std::string_view x) {
  // RFC 7638: required members only, lexicographic order, no white space.
  std::string canonical = "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"";
  canonical.append(x);
  canonical += "\"}";
  Digest d = sha256(canonical);
  return base64url::encode(d.data(), d.size());
}

Result<Ed25519PublicKey> Ed25519PublicKey::fromRaw(const std::uint8_t* raw, std::size_t size) {
  if (size != 32)
    return Result<Ed25519PublicKey>::fail("malformed", "an Ed25519 public key is 32 bytes, got " + std::to_string(size));
  if (hasSmallOrder(raw))
    return Result<Ed25519PublicKey>::fail("malformed", "the public key is the identity or a small-order point");
  EVP_PKEY* k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw, 32);
  if (!k) return Result<Ed25519PublicKey>::fail("malformed", "OpenSSL refused the public key");
  Ed25519PublicKey pub;
  std::memcpy(pub.raw_.data(), raw, 32);
  pub.key_.reset(k, PkeyFree());
  pub.kid_ = jwkThumbprint(pub.x());
  return pub;
}

Result<Ed25519PublicKey> Ed25519PublicKey::fromX(std::string_view x) {
  auto raw = base64url::decode(x);
  if (!raw) return Result<Ed25519PublicKey>::fail("malformed", "the key's x is not canonical base64url");
  return fromRaw(raw->data(), raw->size());
}

std::string Ed25519PublicKey::x() const { return base64url::encode(raw_.data(), raw_.size()); }

std::string Ed25519PublicKey::jwk() const {
  return "{\"crv\":\"Ed25519\",\"kid\":\"" + kid_ + "\",\"kty\":\"OKP\",\"x\":\"" + x() + "\"}";
}

bool Ed25519PublicKey::verify(std::string_view message, const std::uint8_t* signature,
                              std::size_t size) const {
  if (size != 64 || !key_) return false;
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), signature, size,
                          reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
}

Ed25519PrivateKey Ed25519PrivateKey::generate() {
  EVP_PKEY* k = nullptr;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
  if (!ctx || EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &k) != 1) {
    EVP_PKEY_CTX_free(ctx);
    throw std::runtime_error("OpenSSL could not generate an Ed25519 key");
  }
  EVP_PKEY_CTX_free(ctx);
  std::shared_ptr<EVP_PKEY> key(k, PkeyFree());
  std::uint8_t raw[32];
  std::size_t len = sizeof raw;
  EVP_PKEY_get_raw_public_key(k, raw, &len);
  auto pub = Ed25519PublicKey::fromRaw(raw, len);
  if (!pub) return generate();  // a small-order public key cannot come from keygen; retry anyway
  return Ed25519PrivateKey(std::move(key), std::move(pub).value());
}

Ed25519PrivateKey Ed25519PrivateKey::fromSeed(const std::array<std::uint8_t, 32>& seed) {
  EVP_PKEY* k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size());
  if (!k) throw std::runtime_error("OpenSSL refused an Ed25519 seed");
  std::shared_ptr<EVP_PKEY> key(k, PkeyFree());
  std::uint8_t raw[32];
  std::size_t len = sizeof raw;
  EVP_PKEY_get_raw_public_key(k, raw, &len);
  auto pub = Ed25519PublicKey::fromRaw(raw, len);
  if (!pub) throw std::runtime_error("seed gives a small-order public key");
  return Ed25519PrivateKey(std::move(key), std::move(pub).value());
}

Result<Ed25519PrivateKey> Ed25519PrivateKey::fromPem(std::string_view pem) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Result<Ed25519PrivateKey>::fail("io", "out of memory");
  EVP_PKEY* k = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (!k) return Result<Ed25519PrivateKey>::fail("malformed", "not a PKCS#8 PEM private key");
  std::shared_ptr<EVP_PKEY> key(k, PkeyFree());
  if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519)
    return Result<Ed25519PrivateKey>::fail("malformed", "the private key is not an Ed25519 key");
  std::uint8_t raw[32];
  std::size_t len = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(k, raw, &len) != 1)
    return Result<Ed25519PrivateKey>::fail("malformed", "cannot derive the public key");
  auto pub = Ed25519PublicKey::fromRaw(raw, len);
  if (!pub) return pub.error();
  return Ed25519PrivateKey(std::move(key), std::move(pub).value());
}

Result<Ed25519PrivateKey> Ed25519PrivateKey::load(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0)
    return Result<Ed25519PrivateKey>::fail("io", "cannot read private key " + path + ": " + std::strerror(errno));
  if ((st.st_mode & 077) != 0)
    return Result<Ed25519PrivateKey>::fail(
        "insecure_permissions",
        "private key " + path + " is readable by group or others; run: chmod 600 " + path);
  auto pem = readFile(path, 64 * 1024);
  if (!pem) return Result<Ed25519PrivateKey>::fail("io", "cannot read private key " + path + ": " + std::strerror(errno));
  auto key = fromPem(*pem);
  if (!key) return Result<Ed25519PrivateKey>::fail(key.reason(), path + ": " + key.detail());
  return key;
}

std::string Ed25519PrivateKey::pem() const {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  std::string out(data, static_cast<std::size_t>(n));
  OPENSSL_cleanse(data, static_cast<std::size_t>(n));
  return out;
}

Status Ed25519PrivateKey::save(const std::string& path, bool overwrite) const {
  if (!overwrite && std::filesystem::exists(path))
    return Status::fail("exists", path + " already exists; refusing to replace a private key");
  std::string text = pem();
  std::string err = writeFileAtomic(path, text, 0600);
  OPENSSL_cleanse(text.data(), text.size());
  if (!err.empty()) return Status::fail("io", err);
  return Status::ok();
}

Signature Ed25519PrivateKey::sign(std::string_view message) const {
  Signature sig{};
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  std::size_t len = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig.data(), &len, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1)
    throw std::runtime_error("OpenSSL could not sign");
  return sig;
}

}  // namespace keyturn
