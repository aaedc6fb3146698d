// One X.509 certificate, parsed from PEM, with the few facts Keyturn reads from it:
// its SHA-256 fingerprint, its subject CN and the device id of its SAN URI.
#pragma once

#include <ctime>
#include <optional>
#include <string>

#include "keyturn/result.h"
#include "tls/openssl_handles.h"

namespace keyturn::tls {

// The SAN URI prefix that names a device in its client certificate.
inline constexpr const char* kDeviceUriPrefix = "keyturn:device:";

class Certificate {
 public:
  // Parses the first certificate of a PEM text; reason "malformed" otherwise.
  static Result<Certificate> fromPem(const std::string& pem);
  // Reads and parses a PEM file; "io" when it cannot be read.
  static Result<Certificate> load(const std::string& path);
  // Takes ownership of a certificate built elsewhere (never null).
  explicit Certificate(X509Ptr cert) : cert_(std::move(cert)) {}

  std::string pem() const;
  // SHA-256 over the DER encoding, lowercase hex: what `openssl x509 -fingerprint
  // -sha256` prints, without the colons.
  std::string fingerprintSha256() const;
  std::string subjectCommonName() const;
  // The id of the first SAN URI "keyturn:device:<id>"; nullopt when there is none.
  std::optional<std::string> deviceId() const;
  std::time_t notAfter() const;
  // Writes the PEM with mode 0644 (a certificate is public), atomically.
  Status save(const std::string& path) const;

  X509* handle() const { return cert_.get(); }

 private:
  X509Ptr cert_;
};

}  // namespace keyturn::tls
