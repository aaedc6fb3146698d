#include "tls/certificate.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>

#include "keyturn/crypto_util.h"

namespace keyturn::tls {
namespace {
constexpr std::size_t kMaxCertificateFileBytes = 256 * 1024;
}

Result<Certificate> Certificate::fromPem(const std::string& pem) {
  BioPtr bio = memoryBio(pem);
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert)
    return Result<Certificate>::fail("malformed", "not a PEM certificate: " + lastOpenSslError());
  return Certificate(std::move(cert));
}

Result<Certificate> Certificate::load(const std::string& path) {
  auto pem = readFile(path, kMaxCertificateFileBytes);
  if (!pem)
    return Result<Certificate>::fail("io", "cannot read " + path + ": " + std::strerror(errno));
  auto cert = fromPem(*pem);
  if (!cert) return Result<Certificate>::fail(cert.reason(), path + ": " + cert.detail());
  return cert;
}

std::string Certificate::pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert_.get()) != 1) return {};
  return bioContents(bio.get());
}

std::string Certificate::fingerprintSha256() const {
  // Fetched once: EVP_sha256() makes OpenSSL 3 look the algorithm up in its provider
  // store on every digest, a cost an idle agent's poll pays each time (it is
  // fingerprinted per request). Kept for the life of the process.
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (X509_digest(cert_.get(), kSha256 != nullptr ? kSha256 : EVP_sha256(), md, &size) != 1)
    return {};
  return toHex(md, size);
}

std::string Certificate::subjectCommonName() const {
  X509_NAME* name = X509_get_subject_name(cert_.get());
  int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) return {};
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                     static_cast<std::size_t>(ASN1_STRING_length(data)));
}

std::optional<std::string> Certificate::deviceId() const {
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert_.get(), NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return std::nullopt;
  const std::string prefix = kDeviceUriPrefix;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
    std::string text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                     static_cast<std::size_t>(ASN1_STRING_length(uri)));
    if (text.size() > prefix.size() && text.compare(0, prefix.size(), prefix) == 0)
      return text.substr(prefix.size());
  }
  return std::nullopt;
}

std::time_t Certificate::notAfter() const {
  struct tm t {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert_.get()), &t) != 1) return 0;
  return timegm(&t);
}

Status Certificate::save(const std::string& path) const {
  if (std::string err = writeFileAtomic(path, pem(), 0644); !err.empty())
    return Status::fail("io", err);
  return Status::ok();
}

}  // namespace keyturn::tls
