// Who is calling an agent route: the device named by the client certificate of
// this TLS connection. The listener requests client certificates and verifies
// any that is sent against ca.pem during the handshake; this checks it again
// with the CA (chain, validity, clientAuth, the device URI) and against the
// device's row, so a removed device is refused at once even though its
// certificate is still within its validity.
#pragma once

#include <Poco/Net/HTTPServerRequest.h>

#include <string>

#include "app/server_context.h"
#include "store/records.h"

namespace keyturn::server {

// The enrolled, active device of this connection. Throws HttpError: 401
// "device_certificate_required" (no certificate, or one the CA does not vouch
// for), 403 "unknown_device" (no such device, or the certificate is not the one
// it enrolled with), 403 "device_removed". On success records last_contact (to
// the minute: at most one write per device per minute).
DeviceRecord authenticateDevice(ServerContext &context,
                                Poco::Net::HTTPServerRequest &request);

// The two halves of authenticateDevice, for the idle poll's fast path (IdlePolls),
// which checks the certificate on every call but may skip the row read.
struct PeerDevice {
  std::string id;          // the device the CA-verified certificate names
  std::string fingerprint; // SHA-256 of that certificate, hex
};
// The certificate check alone (CA chain, validity, clientAuth, device URI). Throws
// HttpError 401 "device_certificate_required" as above.
PeerDevice verifyPeerDevice(ServerContext &context,
                            Poco::Net::HTTPServerRequest &request);
// The row check alone, for a verified peer: throws 403 as above, records last_contact.
DeviceRecord activeDevice(ServerContext &context, const PeerDevice &peer);

} // namespace keyturn::server
