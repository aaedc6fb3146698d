// The private key of a TLS identity (the CA, the server): ECDSA P-256. P-256 rather
// than Ed25519 because every TLS stack (browsers, curl, Go, Java, Windows SChannel)
// accepts ECDSA P-256 certificates, while Ed25519 certificates are still refused by
// many of them; the signing keys of admins and the issuer stay Ed25519 (core/).
#pragma once

#include <string>

#include "keyturn/result.h"
#include "tls/openssl_handles.h"

namespace keyturn::tls {

class TlsKey {
 public:
  // A fresh P-256 key from OpenSSL's CSPRNG.
  static Result<TlsKey> generate();
  // Parses a PKCS#8 or traditional PEM private key; reason "malformed" otherwise.
  static Result<TlsKey> fromPem(const std::string& pem);
  // Loads a key file. Refuses a file that group or others may access (reason
  // "insecure_permissions") and an unreadable one ("io"), so a leaked mode is noticed
  // before the key is used.
  static Result<TlsKey> load(const std::string& path);

  // Writes PKCS#8 PEM with mode 0600, atomically; refuses to replace an existing file
  // (reason "exists").
  Status save(const std::string& path) const;
  std::string pem() const;
  // SubjectPublicKeyInfo PEM of the public half.
  std::string publicPem() const;
  EVP_PKEY* handle() const { return key_.get(); }

 private:
  explicit TlsKey(EvpPkeyPtr key) : key_(std::move(key)) {}
  EvpPkeyPtr key_;
};

// Refuses (reason "insecure_permissions") a private-key file that group or others can
// access; "io" when it cannot be examined.
Status checkPrivateFileMode(const std::string& path);

}  // namespace keyturn::tls
