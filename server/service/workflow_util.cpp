#include <algorithm>

#include "keyturn/json.h"
#include "service/workflow_internal.h"

namespace keyturn::server::workflow {

std::vector<std::string> approvers(const std::vector<SignatureRecord>& signatures) {
  std::vector<std::string> out;
  for (const auto& s : signatures)
    if (s.role == "approver" && std::find(out.begin(), out.end(), s.principal) == out.end())
      out.push_back(s.principal);
  return out;
}

std::int64_t latestApproval(const std::vector<SignatureRecord>& signatures) {
  std::int64_t latest = 0;
  for (const auto& s : signatures)
    if (s.role == "approver") latest = std::max(latest, s.at);
  return latest;
}

std::string requirementsJson(const std::vector<Requirement>& requirements) {
  std::string out = "[";
  for (const auto& r : requirements) {
    if (out.size() > 1) out += ",";
    out += object({{"group", json::quote(r.group)},
                   {"approvals", std::to_string(r.approvals)},
                   {"policy", json::quote(r.policy)}});
  }
  return out + "]";
}

Result<std::vector<Requirement>> parseRequirements(const std::string& text) {
  using R = Result<std::vector<Requirement>>;
  auto parsed = json::parse(text);
  if (!parsed || !parsed->isArray())
    return R::fail("storage", "stored requirements are not a JSON array");
  std::vector<Requirement> out;
  auto array = parsed->extract<json::Array::Ptr>();
  for (std::size_t i = 0; i < array->size(); ++i) {
    auto o = json::asObject(array->get(i), "requirement");
    if (!o) return R::fail("storage", "stored requirement is not an object");
    auto group = json::getString(*o.value(), "group", "requirement");
    auto approvals = json::getInteger(*o.value(), "approvals", "requirement");
    auto policy = json::getString(*o.value(), "policy", "requirement");
    if (!group || !approvals || !policy)
      return R::fail("storage", "stored requirement is malformed");
    out.push_back(Requirement{group.value(), static_cast<int>(approvals.value()), policy.value()});
  }
  return out;
}

std::string envelopeJson(const std::string& payloadB64,
                         const std::vector<SignatureRecord>& signatures,
                         const std::vector<std::string>& roles) {
  std::string out = "{\"payload\":" + json::quote(payloadB64) + ",\"signatures\":[";
  bool first = true;
  for (const auto& s : signatures) {
    if (!roles.empty() && std::find(roles.begin(), roles.end(), s.role) == roles.end()) continue;
    out += first ? "" : ",";
    first = false;
    out += "{\"protected\":" + json::quote(s.protectedB64) +
           ",\"signature\":" + json::quote(s.signatureB64) + "}";
  }
  return out + "]}";
}

bool hasText(const std::string& text) {
  return text.find_first_not_of(" \t\r\n") != std::string::npos;
}

Status checkNotes(const std::string& notes) {
  if (!hasText(notes)) return Status::fail("notes_required", "notes are required: say why");
  if (!json::validUtf8(notes)) return Status::fail("malformed", "notes must be valid UTF-8");
  if (json::codePoints(notes) > kMaxNotes)
    return Status::fail("malformed", "notes must be at most 1,024 characters");
  return Status::ok();
}

std::string object(const std::vector<std::pair<std::string, std::string>>& members) {
  std::string out = "{";
  for (const auto& [key, value] : members) {
    if (out.size() > 1) out += ",";
    out += json::quote(key) + ":" + value;
  }
  return out + "}";
}

}  // namespace keyturn::server::workflow
