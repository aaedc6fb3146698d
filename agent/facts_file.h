// The device facts file of `keyturn-agent verify --facts` (PROTOCOL.md section 8).
#pragma once

#include <string>

#include "keyturn/policy_engine.h"
#include "keyturn/result.h"

namespace keyturn::agent {

// Reads {"id","ownership","platform","os_version","groups":[..],"tags":{..}}; only `id`
// is required. An unknown member, a wrong type or an ownership other than corporate,
// personal or unknown is reason "usage"; an unreadable file is "io".
Result<DeviceFacts> readFactsFile(const std::string& path);
Result<DeviceFacts> parseFacts(const std::string& text);

}  // namespace keyturn::agent
