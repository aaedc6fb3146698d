#include "online/request_view.h"

#include <Poco/JSON/Array.h>

#include <sstream>

#include "cli_output.h"
#include "keyturn/bundle.h"
#include "keyturn/crypto_util.h"
#include "keyturn/json.h"
#include "keyturn/merkle.h"

namespace keyturn::cli {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

std::string str(const Object::Ptr& o, const std::string& k) {
  if (!o || !o->has(k)) return "";
  const auto& v = o->get(k);
  if (v.isEmpty()) return "";  // JSON null
  return v.isString() ? v.extract<std::string>() : v.toString();
}

std::uint64_t num(const Object::Ptr& o, const std::string& k) {
  if (!o || !o->has(k)) return 0;
  try {
    return o->getValue<std::uint64_t>(k);
  } catch (...) {
    return 0;
  }
}

std::string when(std::uint64_t t) { return t ? isoTime(t) : "-"; }

// Targets sent by the server against the signed root: the same check `request sign`
// makes on a request file.
Status checkTargetList(const Token& t, const std::vector<std::string>& targets) {
  auto sorted = canonicalTargets(targets);
  if (!sorted)
    return Status::fail("targets_mismatch",
                        "the server's target list is not valid: " + sorted.detail());
  if (sorted->size() != t.payload.targetCount)
    return Status::fail("targets_mismatch", "the server lists " + std::to_string(sorted->size()) +
                                                " targets; the signed request covers " +
                                                std::to_string(t.payload.targetCount));
  if (MerkleTree(sorted.value()).root() != t.payload.targetRoot)
    return Status::fail(
        "targets_mismatch",
        "the server's target list does not hash to the Merkle root the requester signed");
  return Status::ok();
}

void notesSection(std::ostringstream& s, const Object::Ptr& o, const char* key, const char* title) {
  auto a = o->getArray(key);
  if (!a || a->size() == 0) return;
  s << title << ":\n";
  for (std::size_t i = 0; i < a->size(); ++i) {
    auto e = a->getObject(static_cast<unsigned>(i));
    s << "  " << str(e, "principal") << " at " << when(num(e, "at")) << ": " << str(e, "notes")
      << "\n";
  }
}

}  // namespace

Result<RequestView> RequestView::from(const Object::Ptr& request) {
  using R = Result<RequestView>;
  RequestView v;
  v.json = request;
  auto token = request->getObject("jws");
  if (!token) token = request->getObject("token");
  if (!token) return R::fail("server_error", "the server's request has no signed token (jws)");
  if (str(request, "action") == "maa.bundle.update") {
    // Approvers sign the proposed bundle itself; what they see is parsed here.
    v.bundleUpdate = true;
    v.proposal = json::stringify(token);
    auto b = TrustBundle::parse(v.proposal);
    if (!b) return R::fail("server_error", "the proposed bundle does not parse: " + b.detail());
    v.proposalSha256 = toHex(sha256(b->envelope.payload));
    v.state = str(request, "state");
    return v;
  }
  auto parsed = parseToken(json::stringify(token));
  if (!parsed)
    return R::fail("server_error", "the server's request token does not parse: " + parsed.detail());
  v.token = std::move(parsed).value();
  auto targets = request->getArray("targets");
  if (!targets) return R::fail("server_error", "the server's request has no target list");
  for (std::size_t i = 0; i < targets->size(); ++i) {
    const auto& t = targets->get(static_cast<unsigned>(i));
    if (t.isString()) {
      v.targets.push_back(t.extract<std::string>());
    } else if (auto o = targets->getObject(static_cast<unsigned>(i)); o && o->has("device")) {
      v.targets.push_back(str(o, "device"));  // [{"device":ID,"state":...}]
    } else {
      return R::fail("server_error",
                     "the server's target list holds something that is not a device id");
    }
  }
  v.state = str(request, "state");
  v.targetsCheck = checkTargetList(v.token, v.targets);
  return v;
}

std::uint64_t RequestView::latestApproval() const {
  std::uint64_t at = 0;
  for (const auto& s : token.signatures)
    if (s.role == SignerRole::kApprover && s.at > at) at = s.at;
  return at;
}

std::string RequestView::text() const {
  std::ostringstream s;
  if (bundleUpdate) {
    auto b = TrustBundle::parse(proposal);
    s << "request " << str(json, "id") << ": " << state << "\n"
      << "action maa.bundle.update: trust bundle v" << str(json, "bundle") << " -> v" << b->version
      << " (payload sha256 " << proposalSha256 << ")\n"
      << "requested by " << str(json, "requester") << ": " << str(json, "justification") << "\n"
      << "created " << when(num(json, "created")) << ", expires " << when(num(json, "expires"))
      << "\n"
      << "proposed roster (as signed): update rule " << b->threshold << " of " << b->updateGroup
      << "\n";
    for (const auto& pr : b->principals) {
      s << "  " << pr.id << " [";
      for (std::size_t i = 0; i < pr.groups.size(); ++i) s << (i ? ", " : "") << pr.groups[i];
      s << "] " << pr.keys.size() << " key(s)\n";
    }
    s << "proposed policies:";
    for (const auto& pol : b->policies) s << " " << pol.name;
    s << "\n";
    if (json->has("diff") && !json->get("diff").isEmpty())
      s << "coordinator's diff against the bundle in force: " << json::stringify(json->get("diff"))
        << "\n";
  } else {
    const auto& p = token.payload;
    s << "request " << p.id << ": " << (state.empty() ? "?" : state) << "\n"
      << "action " << p.action << " " << p.paramsJson << "\n"
      << "requested by " << p.requester << " (bundle v" << p.bundle << "): " << p.justification
      << "\n"
      << "created " << when(p.created) << ", expires " << when(p.expires) << "\n"
      << "targets (" << targets.size() << "):";
    for (std::size_t i = 0; i < targets.size() && i < 50; ++i) s << " " << targets[i];
    if (targets.size() > 50) s << " … (" << targets.size() - 50 << " more; -o json lists all)";
    s << "\n"
      << (targetsCheck ? "targets match the signed Merkle root (checked here)"
                       : "TARGETS DO NOT MATCH: " + targetsCheck.detail())
      << "\n";
  }
  if (auto reqs = json->getArray("requirements"); reqs && reqs->size() > 0) {
    s << "requirements:\n";
    for (std::size_t i = 0; i < reqs->size(); ++i) {
      auto r = reqs->getObject(static_cast<unsigned>(i));
      std::uint64_t need = num(r, "approvals"), have = num(r, "have");
      s << "  " << have << " of " << need << " approval(s) from " << str(r, "group")
        << (str(r, "policy").empty() ? "" : " (policy " + str(r, "policy") + ")")
        << (have >= need ? " - met" : " - waiting") << "\n";
    }
  } else {
    s << "requirements: none (no approval needed)\n";
  }
  notesSection(s, json, "approvals", "approvals");
  notesSection(s, json, "rejections", "rejections");
  if (auto tl = json->getArray("timeline"); tl && tl->size() > 0) {
    s << "timeline:\n";
    for (std::size_t i = 0; i < tl->size(); ++i) {
      auto e = tl->getObject(static_cast<unsigned>(i));
      s << "  " << when(num(e, "at")) << " " << str(e, "event")
        << (str(e, "actor").empty() ? "" : " by " + str(e, "actor"))
        << (str(e, "notes").empty() ? "" : ": " + str(e, "notes")) << "\n";
    }
  }
  if (auto d = json->getArray("targets"); d && d->size() > 0 && d->getObject(0)) {
    s << "devices:\n";
    for (std::size_t i = 0; i < d->size(); ++i) {
      auto e = d->getObject(static_cast<unsigned>(i));
      if (!e) continue;
      std::string result =
          e->has("result") && !e->get("result").isEmpty() ? json::stringify(e->get("result")) : "";
      s << "  " << str(e, "device") << ": " << str(e, "state")
        << (result.empty() ? "" : " " + result) << "\n";
    }
  }
  return s.str();
}

std::string RequestView::jsonText() const {
  Object::Ptr copy = new Object(*json);
  if (bundleUpdate) {
    copy->set("proposal_sha256", proposalSha256);
    return json::stringify(copy);
  }
  copy->set("targets_match", static_cast<bool>(targetsCheck));
  if (!targetsCheck) copy->set("targets_problem", targetsCheck.detail());
  return json::stringify(copy);
}

std::string requestLine(const Object::Ptr& r) {
  std::string targets;
  if (r->has("target_count"))
    targets = str(r, "target_count");
  else if (auto a = r->getArray("targets"))
    targets = std::to_string(a->size());
  std::ostringstream s;
  s << str(r, "id") << "  " << str(r, "state") << "  " << str(r, "action") << "  by "
    << str(r, "requester") << (targets.empty() ? "" : "  " + targets + " device(s)") << "  created "
    << when(num(r, "created"));
  return s.str();
}

}  // namespace keyturn::cli
