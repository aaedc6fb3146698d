#include "keyturn/policy_kit.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "keyturn/crypto_util.h"
#include "keyturn/json.h"

namespace keyturn::policykit {

namespace fs = std::filesystem;

namespace {

bool endsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Regular files of `dir` whose names pass `keep`, in name order.
Result<std::vector<fs::path>> folderFiles(const std::string& dir, bool (*keep)(const std::string&)) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Result<std::vector<fs::path>>::fail("io", dir + " is not a folder");
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && keep(it->path().filename().string())) files.push_back(it->path());
  }
  if (ec) return Result<std::vector<fs::path>>::fail("io", "cannot list " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename().string() < b.filename().string(); });
  return files;
}

bool isFactsFileName(const std::string& name) { return endsWith(name, ".json"); }

Result<std::string> readText(const std::string& path, std::size_t max) {
  auto text = readFile(path, max);
  if (!text) return Result<std::string>::fail("io", "cannot read " + path + ": " + std::strerror(errno));
  return *text;
}

Result<std::string> stringMember(const json::Object& o, const std::string& key, const std::string& where) {
  if (!o.has(key)) return std::string();
  return json::getString(o, key, where);
}

}  // namespace

bool isPolicyFileName(const std::string& name) {
  return endsWith(name, ".lua") && !endsWith(name, "_test.lua") && name.size() > 4;
}

Result<std::vector<PolicySource>> loadPolicyFolder(const std::string& dir) {
  auto files = folderFiles(dir, &isPolicyFileName);
  if (!files) return files.error();
  std::vector<PolicySource> out;
  for (const auto& f : files.value()) {
    auto text = readText(f.string(), kMaxPolicyFileBytes);
    if (!text) return text.error();
    out.push_back({f.filename().string(), std::move(text).value()});
  }
  return out;
}

Result<PolicySet> loadPolicySet(const std::string& path) {
  PolicySet set;
  set.origin = path;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    auto sources = loadPolicyFolder(path);
    if (!sources) return sources.error();
    set.sources = std::move(sources).value();
    return set;
  }
  auto text = readText(path, kMaxBundleBytes);
  if (!text) return text.error();
  return policySetFromBundle(text.value(), path);
}

Result<PolicySet> policySetFromBundle(std::string_view bundleText, const std::string& origin) {
  PolicySet set;
  set.origin = origin;
  auto bundle = TrustBundle::parse(bundleText);
  if (!bundle) return Result<PolicySet>::fail(bundle.reason(), origin + ": " + bundle.detail());
  set.bundle = std::make_shared<TrustBundle>(std::move(bundle).value());
  set.sources = set.bundle->policies;
  return set;
}

Result<DeviceFacts> parseDeviceFacts(std::string_view text, const std::string& where) {
  using R = Result<DeviceFacts>;
  auto bad = [&](const std::string& d) { return R::fail("malformed", where + ": " + d); };
  auto root = json::parseObject(text);
  if (!root) return bad(root.detail());
  const auto& o = *root.value();
  if (Status s = json::onlyMembers(o, {"id", "ownership", "platform", "os_version", "groups", "tags"}, "facts"); !s)
    return bad(s.detail());
  DeviceFacts f;
  auto id = json::getString(o, "id", "facts");
  if (!id) return bad(id.detail());
  if (id.value().empty()) return bad("facts.id is empty");
  f.id = id.value();
  auto own = stringMember(o, "ownership", "facts");
  auto platform = stringMember(o, "platform", "facts");
  auto osVersion = stringMember(o, "os_version", "facts");
  for (const auto* r : {&own, &platform, &osVersion})
    if (!*r) return bad(r->detail());
  if (o.has("ownership")) {
    if (own.value() != "corporate" && own.value() != "personal" && own.value() != "unknown")
      return bad("facts.ownership must be corporate, personal or unknown, got \"" + own.value() + "\"");
    f.ownership = own.value();
  }
  f.platform = platform.value();
  f.osVersion = osVersion.value();
  if (o.has("groups")) {
    auto arr = json::getArray(o, "groups", "facts");
    if (!arr) return bad(arr.detail());
    for (std::size_t i = 0; i < arr.value()->size(); ++i) {
      auto g = json::asString(arr.value()->get(static_cast<unsigned>(i)), "facts.groups[" + std::to_string(i) + "]");
      if (!g) return bad(g.detail());
      f.groups.push_back(g.value());
    }
  }
  if (o.has("tags")) {
    auto tags = json::getObject(o, "tags", "facts");
    if (!tags) return bad(tags.detail());
    for (const auto& [k, v] : *tags.value()) {
      auto s = json::asString(v, "facts.tags." + k);
      if (!s) return bad(s.detail());
      f.tags[k] = s.value();
    }
  }
  return f;
}

Result<std::vector<DeviceFacts>> loadDeviceFacts(const std::string& path) {
  using R = Result<std::vector<DeviceFacts>>;
  std::vector<fs::path> files;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    auto listed = folderFiles(path, &isFactsFileName);
    if (!listed) return listed.error();
    if (listed.value().empty()) return R::fail("io", path + " holds no device facts files (*.json)");
    files = std::move(listed).value();
  } else {
    files.emplace_back(path);
  }
  std::vector<DeviceFacts> out;
  out.reserve(files.size());
  for (const auto& f : files) {
    auto text = readText(f.string(), kMaxFactsFileBytes);
    if (!text) return text.error();
    auto facts = parseDeviceFacts(text.value(), f.string());
    if (!facts) return facts.error();
    out.push_back(std::move(facts).value());
  }
  return out;
}

const char* outcomeKind(PolicyOutcome::Kind kind) {
  switch (kind) {
    case PolicyOutcome::Kind::kUnprotected:
      return "unprotected";
    case PolicyOutcome::Kind::kRequirement:
      return "requirement";
    case PolicyOutcome::Kind::kDeny:
      return "deny";
    case PolicyOutcome::Kind::kError:
      return "error";
  }
  return "error";
}

std::string describeOutcome(const PolicyOutcome& o) {
  switch (o.kind) {
    case PolicyOutcome::Kind::kUnprotected:
      return "no requirement (nil)";
    case PolicyOutcome::Kind::kRequirement:
      return std::to_string(o.approvals) + (o.approvals == 1 ? " approval" : " approvals") + " from " + o.group;
    case PolicyOutcome::Kind::kDeny:
      return "denied: " + o.message;
    case PolicyOutcome::Kind::kError:
      return "error: " + o.message;
  }
  return "error";
}

std::string describeRequirements(const std::vector<Requirement>& requirements) {
  if (requirements.empty()) return "no approvals needed";
  std::string out;
  for (const auto& r : requirements)
    out += (out.empty() ? "" : ", ") + std::to_string(r.approvals) + " from " + r.group;
  return out;
}

std::string describeDecision(const PolicyDecision& d) {
  if (!d.status.isOk()) return d.status.reason() + ": " + d.status.detail();
  if (d.requirements.empty()) return "no approvals needed";
  return "requires " + describeRequirements(d.requirements);
}

}  // namespace keyturn::policykit
