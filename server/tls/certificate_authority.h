// The coordinator's private certificate authority: a P-256 key and a self-signed CA
// certificate that issue the server's TLS certificate (quick start) and the client
// certificates agents present on every call (mutual TLS). The CA vouches only for
// transport identity; what an agent may do is still decided by signed tokens.
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "keyturn/result.h"
#include "tls/certificate.h"
#include "tls/tls_key.h"

namespace keyturn::tls {

constexpr std::uint32_t kCaValidityDays = 3650;
constexpr std::uint32_t kServerValidityDays = 825;
constexpr std::uint32_t kClientValidityDays = 365;

class CertificateAuthority {
 public:
  // A new CA: fresh P-256 key, self-signed certificate "CN=<commonName>" valid for
  // `validityDays`, basicConstraints CA:TRUE pathlen:0, keyCertSign|cRLSign.
  static Result<CertificateAuthority> create(const std::string& commonName,
                                             std::uint32_t validityDays = kCaValidityDays);
  // Loads ca.key (refused if group/world readable) and ca.pem; the key must match.
  static Result<CertificateAuthority> load(const std::string& keyPath, const std::string& certPath);
  // Writes the key (0600, never over an existing file) and the certificate (0644).
  Status save(const std::string& keyPath, const std::string& certPath) const;

  // A TLS server certificate for `serverKey`: CN and SAN = hostname (DNS or IP), plus
  // DNS:localhost and IP:127.0.0.1, serverAuth EKU. Reason "usage" on a bad hostname.
  Result<Certificate> issueServerCertificate(
      const TlsKey& serverKey, const std::string& hostname,
      std::uint32_t validityDays = kServerValidityDays) const;
  // A client certificate for a device from its public key (SPKI PEM; P-256 or
  // Ed25519): CN = deviceId, SAN URI keyturn:device:<id>, clientAuth EKU, a random
  // 128-bit serial. Reasons: "usage" (bad id or validity), "malformed" (bad key).
  Result<Certificate> issueClientCertificate(
      const std::string& deviceId, const std::string& publicKeyPem,
      std::uint32_t validityDays = kClientValidityDays) const;
  // Checks `cert` chains to this CA, is within its validity at `now`, is fit for
  // client authentication and names a device; returns that device id. Reasons:
  // "untrusted_certificate" (with OpenSSL's verdict), "malformed" (no device URI).
  // A certificate that verified once is remembered by its SHA-256 fingerprint, so a
  // poll over a kept-alive connection costs a digest and a validity check, not an ECDSA
  // verification (the CA never changes while the server runs; revocation is the
  // device table's, checked by the caller on every call). Thread-safe. `fingerprint`,
  // when given, receives the certificate's SHA-256 fingerprint (hex), computed anyway.
  Result<std::string> verifyClientCertificate(const Certificate& cert, std::time_t now,
                                              std::string* fingerprint = nullptr) const;

  const Certificate& certificate() const { return cert_; }
  const TlsKey& key() const { return key_; }

 private:
  Result<std::string> verifyUncached(const Certificate& cert, std::time_t now) const;
  struct VerifiedCache {
    std::mutex mutex;
    std::unordered_map<std::string, std::string> deviceByFingerprint;
  };
  CertificateAuthority(TlsKey key, Certificate cert)
      : key_(std::move(key)), cert_(std::move(cert)), verified_(std::make_shared<VerifiedCache>()) {}
  TlsKey key_;
  Certificate cert_;
  std::shared_ptr<VerifiedCache> verified_;
};

// Device ids and hostnames go into certificate names, so they are limited to
// [A-Za-z0-9._@-]{1,64} and [A-Za-z0-9.-]{1,253} (or an IPv4 address).
bool validDeviceId(const std::string& id);
bool validHostname(const std::string& host);

}  // namespace keyturn::tls
