// Admin routes for devices (session required):
//
//   POST   /api/v1/devices/enrollment-codes {"expires_in_s"?: N}  (role
//   devices.enroll)
//          -> 201 {"code", "expires"}; single use, default 24 h, at most 7 days
//   GET    /api/v1/devices[?group=G][&removed=true] -> 200 {"devices":
//   [Device]} GET    /api/v1/devices/{id} -> 200 Device DELETE
//   /api/v1/devices/{id}  (role devices.remove or devices.enroll)
//          -> 200 {"device", "removed": true}; its certificate is refused from
//          then on
//
// Device: {"id","state":"active"|"removed","enrolled_at","last_seen"|null,
//          "removed_at"|null,"ownership","platform","os_version","groups","tags","facts"}
// where ownership..tags are read from the facts the device reported.
#pragma once

#include <string>

#include "app/server_context.h"
#include "store/records.h"

namespace keyturn::server {

inline constexpr std::int64_t kDefaultCodeSeconds = 24 * 3600;
inline constexpr std::int64_t kMaxCodeSeconds = 7 * 24 * 3600;

// The Device object above.
std::string deviceJson(const DeviceRecord &device);

void addDeviceRoutes(ServerContext &context);

} // namespace keyturn::server
