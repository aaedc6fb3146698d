#include "app/device_auth.h"

#include <Poco/Crypto/X509Certificate.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <openssl/x509.h>

#include <cstdint>
#include <ctime>
#include <optional>
#include <utility>

#include "app/http_error.h"
#include "tls/certificate.h"

namespace keyturn::server {

using Poco::Net::HTTPResponse;

namespace {

constexpr std::int64_t kContactResolutionSeconds = 60;

constexpr const char *kNeedCertificate =
    "agent routes need the client certificate issued at enrollment (mutual "
    "TLS)";

// The peer certificate of the connection under `request`, if one was presented.
std::optional<tls::Certificate>
peerCertificate(Poco::Net::HTTPServerRequest &request) {
  auto *impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl *>(&request);
  if (impl == nullptr)
    return std::nullopt;
  try {
    Poco::Net::SecureStreamSocket socket(impl->socket());
    if (!socket.havePeerCertificate())
      return std::nullopt;
    Poco::Crypto::X509Certificate cert = socket.peerCertificate();
    // A second reference to the session's parsed certificate, not a copy: X509_dup
    // re-decodes the public key through OpenSSL 3's decoders (~0.4 ms a call).
    X509 *shared = const_cast<X509 *>(cert.certificate());
    if (shared == nullptr || X509_up_ref(shared) != 1)
      return std::nullopt;
    return tls::Certificate(tls::X509Ptr(shared));
  } catch (const Poco::Exception &) {
    return std::nullopt; // not a TLS socket, or no certificate: fail closed
                         // below
  }
}

} // namespace

PeerDevice verifyPeerDevice(ServerContext &context,
                            Poco::Net::HTTPServerRequest &request) {
  if (!context.ca)
    throw HttpError(HTTPResponse::HTTP_UNAUTHORIZED,
                    "device_certificate_required",
                    "this server has no CA to check device certificates");
  auto cert = peerCertificate(request);
  if (!cert)
    throw HttpError(HTTPResponse::HTTP_UNAUTHORIZED,
                    "device_certificate_required", kNeedCertificate);
  std::string fingerprint;
  auto deviceId =
      context.ca->verifyClientCertificate(*cert, std::time(nullptr), &fingerprint);
  if (!deviceId)
    throw HttpError(HTTPResponse::HTTP_UNAUTHORIZED,
                    "device_certificate_required",
                    std::string(kNeedCertificate) + " (" + deviceId.reason() +
                        ": " + deviceId.detail() + ")");
  return PeerDevice{deviceId.value(), std::move(fingerprint)};
}

DeviceRecord activeDevice(ServerContext &context, const PeerDevice &peer) {
  std::time_t now = std::time(nullptr);
  auto device = context.store->getDevice(peer.id);
  if (!device) {
    if (device.reason() != "not_found")
      throw HttpError(HTTPResponse::HTTP_SERVICE_UNAVAILABLE, device.reason(),
                      device.detail());
    throw HttpError(HTTPResponse::HTTP_FORBIDDEN, "unknown_device",
                    "no enrolled device " + peer.id);
  }
  if (device->removedAt)
    throw HttpError(HTTPResponse::HTTP_FORBIDDEN, "device_removed",
                    "device " + device->id +
                        " was removed; its certificate is revoked");
  // A certificate for the same id from an earlier enrollment is not this
  // device.
  if (device->certFingerprint != peer.fingerprint)
    throw HttpError(HTTPResponse::HTTP_FORBIDDEN, "unknown_device",
                    "this certificate is not the one device " + device->id +
                        " enrolled with");
  // last_contact is bookkeeping, kept to the minute: an idle poll then costs
  // reads only, and a failure to record it must not fail the call.
  if (!device->lastContact ||
      now - *device->lastContact >= kContactResolutionSeconds) {
    (void)context.store->touchDevice(device->id, now);
    device->lastContact = now;
  }
  return std::move(device).value();
}

DeviceRecord authenticateDevice(ServerContext &context,
                                Poco::Net::HTTPServerRequest &request) {
  return activeDevice(context, verifyPeerDevice(context, request));
}

} // namespace keyturn::server
