#include "tls/tls_key.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "keyturn/crypto_util.h"

namespace keyturn::tls {

std::string lastOpenSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

namespace {
constexpr std::size_t kMaxKeyFileBytes = 64 * 1024;
}

Result<TlsKey> TlsKey::generate() {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return Result<TlsKey>::fail("crypto", "P-256 key generation: " + lastOpenSslError());
  return TlsKey(std::move(key));
}

Result<TlsKey> TlsKey::fromPem(const std::string& pem) {
  BioPtr bio = memoryBio(pem);
  EvpPkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key)
    return Result<TlsKey>::fail("malformed", "not a PEM private key: " + lastOpenSslError());
  return TlsKey(std::move(key));
}

Result<TlsKey> TlsKey::load(const std::string& path) {
  if (Status s = checkPrivateFileMode(path); !s) return Result<TlsKey>(s.error());
  auto pem = readFile(path, kMaxKeyFileBytes);
  if (!pem) return Result<TlsKey>::fail("io", "cannot read " + path + ": " + std::strerror(errno));
  auto key = fromPem(*pem);
  if (!key) return Result<TlsKey>::fail(key.reason(), path + ": " + key.detail());
  return key;
}

Status TlsKey::save(const std::string& path) const {
  if (std::filesystem::exists(path))
    return Status::fail("exists", path + " already exists; refusing to replace a key");
  if (std::string err = writeFileAtomic(path, pem(), 0600); !err.empty())
    return Status::fail("io", err);
  return Status::ok();
}

std::string TlsKey::pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return {};
  return bioContents(bio.get());
}

std::string TlsKey::publicPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1) return {};
  return bioContents(bio.get());
}

Status checkPrivateFileMode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return Status::fail("io", "cannot read " + path + ": " + std::strerror(errno));
  if ((st.st_mode & 077) != 0)
    return Status::fail("insecure_permissions",
                        path + " may be read by group or others; run chmod 600 " + path);
  return Status::ok();
}

}  // namespace keyturn::tls
