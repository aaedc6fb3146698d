#include "refused_bundle.h"

#include "keyturn/json.h"

namespace keyturn::agent {

std::optional<RefusedBundle> RefusedBundle::fromJson(const std::string& text) {
  if (text.empty()) return std::nullopt;
  auto o = json::parseObject(text);
  if (!o) return std::nullopt;
  auto version = json::getInteger(*o.value(), "version", "refused_bundle");
  auto sha = json::getString(*o.value(), "sha256", "refused_bundle");
  auto reason = json::getString(*o.value(), "reason", "refused_bundle");
  auto detail = json::getString(*o.value(), "detail", "refused_bundle");
  auto at = json::getInteger(*o.value(), "at", "refused_bundle");
  if (!version || !sha || !reason || !detail || !at) return std::nullopt;
  return RefusedBundle(version.value(), sha.value(), reason.value(), detail.value(),
                       static_cast<std::int64_t>(at.value()));
}

std::string RefusedBundle::toJson() const {
  return "{\"version\":" + std::to_string(version_) + ",\"sha256\":" + json::quote(sha256_) +
         ",\"reason\":" + json::quote(reason_) + ",\"detail\":" + json::quote(detail_) +
         ",\"at\":" + std::to_string(at_) + "}";
}

}  // namespace keyturn::agent
