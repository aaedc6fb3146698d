#include "facts_file.h"

#include <cerrno>
#include <cstring>

#include "keyturn/crypto_util.h"
#include "keyturn/json.h"

namespace keyturn::agent {

Result<DeviceFacts> parseFacts(const std::string& text) {
  using R = Result<DeviceFacts>;
  auto usage = [](const std::string& d) { return R::fail("usage", "facts: " + d); };
  auto root = json::parseObject(text);
  if (!root) return usage(root.detail());
  const auto& o = *root.value();
  if (Status s = json::onlyMembers(o, {"id", "ownership", "platform", "os_version", "groups", "tags"}, "facts"); !s)
    return usage(s.detail());
  DeviceFacts f;
  auto id = json::getString(o, "id", "facts");
  if (!id) return usage(id.detail());
  if (id.value().empty()) return usage("facts.id is empty");
  f.id = id.value();
  if (o.has("ownership")) {
    auto own = json::getString(o, "ownership", "facts");
    if (!own) return usage(own.detail());
    if (own.value() != "corporate" && own.value() != "personal" && own.value() != "unknown")
      return usage("facts.ownership must be corporate, personal or unknown, got \"" + own.value() + "\"");
    f.ownership = own.value();
  }
  if (o.has("platform")) {
    auto v = json::getString(o, "platform", "facts");
    if (!v) return usage(v.detail());
    f.platform = v.value();
  }
  if (o.has("os_version")) {
    auto v = json::getString(o, "os_version", "facts");
    if (!v) return usage(v.detail());
    f.osVersion = v.value();
  }
  if (o.has("groups")) {
    auto arr = json::getArray(o, "groups", "facts");
    if (!arr) return usage(arr.detail());
    for (std::size_t i = 0; i < arr.value()->size(); ++i) {
      auto g = json::asString(arr.value()->get(static_cast<unsigned>(i)), "facts.groups[" + std::to_string(i) + "]");
      if (!g) return usage(g.detail());
      f.groups.push_back(g.value());
    }
  }
  if (o.has("tags")) {
    auto tags = json::getObject(o, "tags", "facts");
    if (!tags) return usage(tags.detail());
    for (const auto& [k, v] : *tags.value()) {
      auto s = json::asString(v, "facts.tags." + k);
      if (!s) return usage(s.detail());
      f.tags[k] = s.value();
    }
  }
  return f;
}

Result<DeviceFacts> readFactsFile(const std::string& path) {
  auto text = readFile(path, 1024 * 1024);
  if (!text) return Result<DeviceFacts>::fail("io", "cannot read facts file " + path + ": " + std::strerror(errno));
  return parseFacts(*text);
}

}  // namespace keyturn::agent
