#include "tls/certificate_authority.h"

#include <arpa/inet.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <utility>
#include <vector>

namespace keyturn::tls {
namespace {

// Backdating notBefore tolerates small clock differences between server and clients.
constexpr long kBackdateSeconds = 300;

struct Extension {
  int nid;
  std::string value;  // OpenSSL config syntax, e.g. "critical,CA:TRUE"
};

bool isIpAddress(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// A positive, non-zero, random 128-bit serial: unique without a counter to keep, and
// unpredictable (CA/B Forum asks for at least 64 random bits).
Status setRandomSerial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return Status::fail("crypto", lastOpenSslError());
  bytes[0] = static_cast<unsigned char>((bytes[0] & 0x7f) | 0x40);
  BignumPtr bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr)
    return Status::fail("crypto", lastOpenSslError());
  return Status::ok();
}

// Builds and signs one certificate. `issuer` null means self-signed (subject = issuer).
Result<Certificate> buildCertificate(const std::string& commonName, EVP_PKEY* subjectKey,
                                     X509* issuer, EVP_PKEY* issuerKey, std::uint32_t days,
                                     const std::vector<Extension>& extensions) {
  auto fail = [](const std::string& what) {
    return Result<Certificate>::fail("crypto", what + ": " + lastOpenSslError());
  };
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) return fail("X509_new");
  if (Status s = setRandomSerial(cert.get()); !s) return Result<Certificate>(s.error());
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kBackdateSeconds) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), static_cast<int>(days), 0, nullptr) ==
          nullptr)
    return fail("validity");
  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(commonName.c_str()), -1, -1,
                                 0) != 1)
    return fail("subject");
  X509* issuerCert = issuer != nullptr ? issuer : cert.get();
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(issuerCert)) != 1 ||
      X509_set_pubkey(cert.get(), subjectKey) != 1)
    return fail("issuer");
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuerCert, cert.get(), nullptr, nullptr, 0);
  for (const Extension& e : extensions) {
    X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, e.nid, e.value.c_str()));
    if (!ext || X509_add_ext(cert.get(), ext.get(), -1) != 1)
      return fail(std::string("extension ") + OBJ_nid2sn(e.nid) + "=" + e.value);
  }
  if (X509_sign(cert.get(), issuerKey, EVP_sha256()) == 0) return fail("X509_sign");
  return Certificate(std::move(cert));
}

Status checkDays(std::uint32_t days) {
  if (days == 0 || days > kCaValidityDays)
    return Status::fail("usage",
                        "validity must be 1.." + std::to_string(kCaValidityDays) + " days");
  return Status::ok();
}

}  // namespace

bool validDeviceId(const std::string& id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '_' || c == '@' || c == '-';
  });
}

bool validHostname(const std::string& host) {
  if (isIpAddress(host)) return true;
  return !host.empty() && host.size() <= 253 && host.front() != '-' && host.front() != '.' &&
         std::all_of(host.begin(), host.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '.' || c == '-'; });
}

Result<CertificateAuthority> CertificateAuthority::create(const std::string& commonName,
                                                          std::uint32_t validityDays) {
  if (Status s = checkDays(validityDays); !s) return Result<CertificateAuthority>(s.error());
  auto key = TlsKey::generate();
  if (!key) return Result<CertificateAuthority>(key.error());
  auto cert = buildCertificate(commonName, key->handle(), nullptr, key->handle(), validityDays,
                               {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                                {NID_key_usage, "critical,keyCertSign,cRLSign"},
                                {NID_subject_key_identifier, "hash"},
                                {NID_authority_key_identifier, "keyid:always"}});
  if (!cert) return Result<CertificateAuthority>(cert.error());
  return CertificateAuthority(std::move(key).value(), std::move(cert).value());
}

Result<CertificateAuthority> CertificateAuthority::load(const std::string& keyPath,
                                                        const std::string& certPath) {
  auto key = TlsKey::load(keyPath);
  if (!key) return Result<CertificateAuthority>(key.error());
  auto cert = Certificate::load(certPath);
  if (!cert) return Result<CertificateAuthority>(cert.error());
  if (X509_check_private_key(cert->handle(), key->handle()) != 1)
    return Result<CertificateAuthority>::fail("malformed",
                                              keyPath + " is not the key of " + certPath);
  return CertificateAuthority(std::move(key).value(), std::move(cert).value());
}

Status CertificateAuthority::save(const std::string& keyPath, const std::string& certPath) const {
  if (Status s = key_.save(keyPath); !s) return s;
  return cert_.save(certPath);
}

Result<Certificate> CertificateAuthority::issueServerCertificate(const TlsKey& serverKey,
                                                                 const std::string& hostname,
                                                                 std::uint32_t validityDays) const {
  if (!validHostname(hostname))
    return Result<Certificate>::fail("usage", "not a valid hostname: \"" + hostname + "\"");
  if (Status s = checkDays(validityDays); !s) return Result<Certificate>(s.error());
  std::string san = (isIpAddress(hostname) ? "IP:" : "DNS:") + hostname;
  if (hostname != "localhost") san += ",DNS:localhost";
  if (hostname != "127.0.0.1") san += ",IP:127.0.0.1";
  return buildCertificate(hostname, serverKey.handle(), cert_.handle(), key_.handle(), validityDays,
                          {{NID_basic_constraints, "critical,CA:FALSE"},
                           {NID_key_usage, "critical,digitalSignature"},
                           {NID_ext_key_usage, "serverAuth"},
                           {NID_subject_alt_name, san},
                           {NID_subject_key_identifier, "hash"},
                           {NID_authority_key_identifier, "keyid"}});
}

Result<Certificate> CertificateAuthority::issueClientCertificate(const std::string& deviceId,
                                                                 const std::string& publicKeyPem,
                                                                 std::uint32_t validityDays) const {
  if (!validDeviceId(deviceId))
    return Result<Certificate>::fail("usage", "device id must match [A-Za-z0-9._@-]{1,64}");
  if (Status s = checkDays(validityDays); !s) return Result<Certificate>(s.error());
  BioPtr bio = memoryBio(publicKeyPem);
  EvpPkeyPtr pub(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!pub)
    return Result<Certificate>::fail("malformed", "not a PEM public key: " + lastOpenSslError());
  bool supported = EVP_PKEY_get_base_id(pub.get()) == EVP_PKEY_ED25519;
  if (EVP_PKEY_get_base_id(pub.get()) == EVP_PKEY_EC) {
    char group[64] = {0};
    std::size_t len = 0;
    supported = EVP_PKEY_get_group_name(pub.get(), group, sizeof group, &len) == 1 &&
                std::string(group) == "prime256v1";
  }
  if (!supported)
    return Result<Certificate>::fail("malformed", "device keys must be Ed25519 or ECDSA P-256");
  return buildCertificate(
      deviceId, pub.get(), cert_.handle(), key_.handle(), validityDays,
      {{NID_basic_constraints, "critical,CA:FALSE"},
       {NID_key_usage, "critical,digitalSignature"},
       {NID_ext_key_usage, "clientAuth"},
       {NID_subject_alt_name, std::string("URI:") + kDeviceUriPrefix + deviceId},
       {NID_subject_key_identifier, "hash"},
       {NID_authority_key_identifier, "keyid"}});
}

namespace {
// Remembered verifications: more than any fleet one coordinator serves; when full, the
// cache starts over (the next call per device verifies again).
constexpr std::size_t kMaxRemembered = 200000;

bool withinValidity(const Certificate& cert, std::time_t now) {
  return X509_cmp_time(X509_get0_notBefore(cert.handle()), &now) <= 0 &&
         X509_cmp_time(X509_get0_notAfter(cert.handle()), &now) >= 0;
}
}  // namespace

Result<std::string> CertificateAuthority::verifyClientCertificate(
    const Certificate& cert, std::time_t now, std::string* fingerprintOut) const {
  const std::string fingerprint = cert.fingerprintSha256();
  if (fingerprintOut != nullptr) *fingerprintOut = fingerprint;
  {
    std::lock_guard<std::mutex> lock(verified_->mutex);
    auto it = verified_->deviceByFingerprint.find(fingerprint);
    if (it != verified_->deviceByFingerprint.end() && withinValidity(cert, now)) return it->second;
  }
  auto id = verifyUncached(cert, now);
  if (id) {
    std::lock_guard<std::mutex> lock(verified_->mutex);
    if (verified_->deviceByFingerprint.size() >= kMaxRemembered) verified_->deviceByFingerprint.clear();
    verified_->deviceByFingerprint.emplace(fingerprint, id.value());
  }
  return id;
}

Result<std::string> CertificateAuthority::verifyUncached(const Certificate& cert,
                                                         std::time_t now) const {
  X509StorePtr store(X509_STORE_new());
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !ctx || X509_STORE_add_cert(store.get(), cert_.handle()) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), cert.handle(), nullptr) != 1)
    return Result<std::string>::fail("crypto", lastOpenSslError());
  X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx.get()), now);
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT);
  if (X509_verify_cert(ctx.get()) != 1)
    return Result<std::string>::fail(
        "untrusted_certificate",
        std::string("client certificate refused: ") +
            X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
  auto id = cert.deviceId();
  if (!id || !validDeviceId(*id))
    return Result<std::string>::fail("malformed", "client certificate names no keyturn device");
  return *id;
}

}  // namespace keyturn::tls
