// The private CA: certificates OpenSSL accepts, devices named in their certificates,
// and refusals of anything the CA did not issue for client authentication.
#include "tls/certificate_authority.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <set>

#include "keyturn/crypto_util.h"
#include "temp_dir.h"

using namespace keyturn;
using namespace keyturn::tls;
using keyturn::test::TempDir;

namespace {

CertificateAuthority newCa(const std::string& name = "Test CA") {
  auto ca = CertificateAuthority::create(name);
  REQUIRE(ca);
  return std::move(ca).value();
}

std::string newDeviceKeyPem() { return TlsKey::generate().value().publicPem(); }

// OpenSSL's own verdict on `cert` under `ca` for a purpose, independent of our code.
int opensslVerify(const Certificate& ca, const Certificate& cert, int purpose) {
  X509StorePtr store(X509_STORE_new());
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  X509_STORE_add_cert(store.get(), ca.handle());
  X509_STORE_CTX_init(ctx.get(), store.get(), cert.handle(), nullptr);
  X509_STORE_CTX_set_purpose(ctx.get(), purpose);
  return X509_verify_cert(ctx.get()) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx.get());
}

}  // namespace

TEST_CASE("the CA certificate is self-signed, a CA, and valid for ten years", "[tls]") {
  CertificateAuthority ca = newCa();
  X509* x = ca.certificate().handle();
  CHECK(X509_check_ca(x) == 1);
  CHECK(X509_check_issued(x, x) == X509_V_OK);
  CHECK(ca.certificate().subjectCommonName() == "Test CA");
  std::time_t tenYears = std::time(nullptr) + 3650L * 86400 - 3600;
  CHECK(ca.certificate().notAfter() > tenYears);
  CHECK(EVP_PKEY_get_base_id(ca.key().handle()) == EVP_PKEY_EC);
}

TEST_CASE("a server certificate verifies with OpenSSL for its hostname, localhost and 127.0.0.1",
          "[tls]") {
  CertificateAuthority ca = newCa();
  auto key = TlsKey::generate();
  REQUIRE(key);
  auto cert = ca.issueServerCertificate(key.value(), "keyturn.example.org");
  REQUIRE(cert);
  CHECK(opensslVerify(ca.certificate(), cert.value(), X509_PURPOSE_SSL_SERVER) == X509_V_OK);
  X509* x = cert->handle();
  CHECK(X509_check_host(x, "keyturn.example.org", 0, 0, nullptr) == 1);
  CHECK(X509_check_host(x, "localhost", 0, 0, nullptr) == 1);
  CHECK(X509_check_ip_asc(x, "127.0.0.1", 0) == 1);
  CHECK(X509_check_host(x, "evil.example.org", 0, 0, nullptr) != 1);
  CHECK(X509_check_private_key(x, key->handle()) == 1);
  // serverAuth only: it is not usable as a client certificate.
  CHECK(opensslVerify(ca.certificate(), cert.value(), X509_PURPOSE_SSL_CLIENT) != X509_V_OK);
}

TEST_CASE("a device certificate names the device and verifies as a client certificate", "[tls]") {
  CertificateAuthority ca = newCa();
  auto cert = ca.issueClientCertificate("laptop-17", newDeviceKeyPem(), 30);
  REQUIRE(cert);
  CHECK(cert->subjectCommonName() == "laptop-17");
  CHECK(cert->deviceId() == std::optional<std::string>("laptop-17"));
  CHECK(opensslVerify(ca.certificate(), cert.value(), X509_PURPOSE_SSL_CLIENT) == X509_V_OK);
  auto id = ca.verifyClientCertificate(cert.value(), std::time(nullptr));
  REQUIRE(id);
  CHECK(id.value() == "laptop-17");
  CHECK(cert->notAfter() < std::time(nullptr) + 31L * 86400);
}

TEST_CASE("a device with an Ed25519 key gets a certificate but an RSA key is refused", "[tls]") {
  CertificateAuthority ca = newCa();
  EvpPkeyPtr ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), ed.get());
  auto cert = ca.issueClientCertificate("kiosk-1", bioContents(bio.get()));
  REQUIRE(cert);
  CHECK(ca.verifyClientCertificate(cert.value(), std::time(nullptr)));

  EvpPkeyPtr rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)));
  BioPtr rsaBio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(rsaBio.get(), rsa.get());
  auto refused = ca.issueClientCertificate("kiosk-2", bioContents(rsaBio.get()));
  REQUIRE_FALSE(refused);
  CHECK(refused.reason() == "malformed");
}

TEST_CASE("a client certificate from another CA is refused", "[tls]") {
  CertificateAuthority ours = newCa("Ours");
  CertificateAuthority theirs = newCa("Ours");  // same name, different key
  auto cert = theirs.issueClientCertificate("laptop-17", newDeviceKeyPem());
  REQUIRE(cert);
  auto r = ours.verifyClientCertificate(cert.value(), std::time(nullptr));
  REQUIRE_FALSE(r);
  CHECK(r.reason() == "untrusted_certificate");
}

TEST_CASE("an expired device certificate and a server certificate are refused as clients",
          "[tls]") {
  CertificateAuthority ca = newCa();
  auto cert = ca.issueClientCertificate("laptop-17", newDeviceKeyPem(), 1);
  REQUIRE(cert);
  auto expired = ca.verifyClientCertificate(cert.value(), std::time(nullptr) + 2 * 86400);
  REQUIRE_FALSE(expired);
  CHECK(expired.reason() == "untrusted_certificate");
  CHECK_THAT(expired.detail(), Catch::Contains("expired"));

  auto serverKey = TlsKey::generate();
  auto server = ca.issueServerCertificate(serverKey.value(), "localhost");
  REQUIRE(server);
  auto wrongUse = ca.verifyClientCertificate(server.value(), std::time(nullptr));
  REQUIRE_FALSE(wrongUse);
  CHECK(wrongUse.reason() == "untrusted_certificate");
}

TEST_CASE("device ids that could inject certificate names are refused", "[tls]") {
  CertificateAuthority ca = newCa();
  for (const std::string& id : std::vector<std::string>{"", "a,URI:keyturn:device:admin", "a b",
                                                        "x/y", std::string(65, 'a')}) {
    auto r = ca.issueClientCertificate(id, newDeviceKeyPem());
    REQUIRE_FALSE(r);
    CHECK(r.reason() == "usage");
  }
  auto key = TlsKey::generate();
  CHECK_FALSE(ca.issueServerCertificate(key.value(), "host,DNS:evil.org"));
}

TEST_CASE("every issued certificate gets a different serial", "[tls]") {
  CertificateAuthority ca = newCa();
  std::string pub = newDeviceKeyPem();
  std::set<std::string> serials;
  for (int i = 0; i < 50; ++i) {
    auto cert = ca.issueClientCertificate("d" + std::to_string(i), pub);
    REQUIRE(cert);
    BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert->handle()), nullptr));
    CHECK(BN_num_bits(bn.get()) >= 120);
    char* hex = BN_bn2hex(bn.get());
    serials.insert(hex);
    OPENSSL_free(hex);
  }
  CHECK(serials.size() == 50);
}

TEST_CASE("the fingerprint is SHA-256 over the DER certificate", "[tls]") {
  CertificateAuthority ca = newCa();
  unsigned char* der = nullptr;
  int size = i2d_X509(ca.certificate().handle(), &der);
  REQUIRE(size > 0);
  std::string expected = toHex(sha256(der, static_cast<std::size_t>(size)));
  OPENSSL_free(der);
  CHECK(ca.certificate().fingerprintSha256() == expected);
  auto reparsed = Certificate::fromPem(ca.certificate().pem());
  REQUIRE(reparsed);
  CHECK(reparsed->fingerprintSha256() == expected);
}

TEST_CASE("CA keys are saved 0600, never replaced, and refused when group-readable", "[tls]") {
  TempDir dir;
  CertificateAuthority ca = newCa();
  REQUIRE(ca.save(dir / "ca.key", dir / "ca.pem"));
  CHECK(keyturn::test::fileMode(dir / "ca.key") == 0600);
  CHECK(keyturn::test::fileMode(dir / "ca.pem") == 0644);
  auto again = ca.save(dir / "ca.key", dir / "ca.pem");
  REQUIRE_FALSE(again);
  CHECK(again.reason() == "exists");

  auto loaded = CertificateAuthority::load(dir / "ca.key", dir / "ca.pem");
  REQUIRE(loaded);
  CHECK(loaded->certificate().fingerprintSha256() == ca.certificate().fingerprintSha256());

  ::chmod((dir / "ca.key").c_str(), 0640);
  auto refused = CertificateAuthority::load(dir / "ca.key", dir / "ca.pem");
  REQUIRE_FALSE(refused);
  CHECK(refused.reason() == "insecure_permissions");
}

TEST_CASE("a CA whose key does not match its certificate is refused at load", "[tls]") {
  TempDir dir;
  REQUIRE(newCa().save(dir / "a.key", dir / "a.pem"));
  REQUIRE(newCa().save(dir / "b.key", dir / "b.pem"));
  auto r = CertificateAuthority::load(dir / "a.key", dir / "b.pem");
  REQUIRE_FALSE(r);
  CHECK(r.reason() == "malformed");
}
