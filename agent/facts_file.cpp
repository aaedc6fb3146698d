#include "facts_file.h"

#include <cerrno>
#include <cstring>

#include "keyturn/crypto_util.h"
#include "keyturn/policy_kit.h"

namespace keyturn::agent {

// The facts reader is core's (the policy kit reads the same files); a bad facts file is
// a usage error of this command line.
Result<DeviceFacts> parseFacts(const std::string& text) {
  auto facts = policykit::parseDeviceFacts(text, "facts");
  if (!facts) return Result<DeviceFacts>::fail("usage", facts.detail());
  return facts;
}

Result<DeviceFacts> readFactsFile(const std::string& path) {
  auto text = readFile(path, 1024 * 1024);
  if (!text) return Result<DeviceFacts>::fail("io", "cannot read facts file " + path + ": " + std::strerror(errno));
  return parseFacts(*text);
}

}  // namespace keyturn::agent
