#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli_output.h"
#include "commands.h"
#include "keyturn/bundle.h"
#include "keyturn/crypto_util.h"
#include "keyturn/json.h"
#include "keyturn/merkle.h"
#include "online/online_commands.h"
#include "request_file.h"

namespace keyturn::cli {
namespace {

constexpr const char* kNewHelp =
    "usage: keyturn request new --tenant T --id ID --action A [--param K=V]... [--params-json "
    "JSON]\n"
    "         (--target ID... | --targets FILE) --requester ID --justification TEXT "
    "--bundle-version N\n"
    "         [--created T] [--expires-days D (default 30) | --expires T] --out FILE [-o json]\n"
    "  --param values: integers become JSON integers, true/false booleans, anything else a "
    "string.\n"
    "  --targets FILE: one device id per line.\n";
constexpr const char* kSignHelp =
    "usage: keyturn request sign --request FILE --key KEY --role requester|approver|completer "
    "[--at T]\n"
    "  Checks the target list against the signed Merkle root before signing.\n";
constexpr const char* kShowHelp =
    "usage: keyturn request show --request FILE [--bundle FILE] [-o json]\n";

// --param k=v: integers and booleans keep their JSON type, everything else is a string.
Result<std::string> paramsFrom(const tools::CommandArgs& args) {
  if (auto raw = args.get("params-json")) {
    if (!args.all("param").empty())
      return Result<std::string>::fail("usage", "give --param or --params-json, not both");
    auto o = json::parseObject(*raw);
    if (!o) return Result<std::string>::fail("usage", "--params-json: " + o.detail());
    return json::stringify(o.value());
  }
  json::Object::Ptr o = new json::Object();
  if (Status s = addParams(args.all("param"), *o); !s) return s.error();
  return json::stringify(o);
}

Result<std::vector<std::string>> targetsFrom(const tools::CommandArgs& args) {
  std::vector<std::string> out = args.all("target");
  if (auto file = args.get("targets")) {
    std::ifstream in(*file);
    if (!in)
      return Result<std::vector<std::string>>::fail(
          "io", "cannot read " + *file + ": " + std::strerror(errno));
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) out.push_back(line);
    }
  }
  if (out.empty())
    return Result<std::vector<std::string>>::fail("usage",
                                                  "give the devices with --target or --targets");
  return out;
}

int requestNew(int argc, char** argv) {
  auto p = parseCommand(
      argc, argv,
      {{"tenant", "id", "action", "params-json", "targets", "requester", "justification",
        "bundle-version", "created", "expires-days", "expires", "out"},
       {"param", "target"},
       {}},
      kNewHelp);
  if (!p) return p.reason() == "help" ? 0 : 2;
  const auto& a = p->args;
  RequestDraft d;
  for (auto [name, field] : {std::pair{"tenant", &d.tenant},
                             {"id", &d.id},
                             {"action", &d.action},
                             {"requester", &d.requester},
                             {"justification", &d.justification}}) {
    auto v = a.require(name);
    if (!v) return p->out.fail(v.error());
    *field = v.value();
  }
  auto out = a.require("out");
  if (!out) return p->out.fail(out.error());
  auto bundle = a.integer("bundle-version");
  auto created = a.integer("created");
  auto expires = a.integer("expires");
  auto days = a.integer("expires-days");
  for (const auto* r : {&bundle, &created, &expires, &days})
    if (!*r) return p->out.fail(r->error());
  if (!bundle.value()) return p->out.fail(Error{"usage", "--bundle-version is required"});
  if (expires.value() && days.value())
    return p->out.fail(Error{"usage", "give --expires or --expires-days, not both"});
  auto params = paramsFrom(a);
  if (!params) return p->out.fail(params.error());
  auto targets = targetsFrom(a);
  if (!targets) return p->out.fail(targets.error());
  d.paramsJson = params.value();
  d.targets = targets.value();
  d.bundle = *bundle.value();
  d.created = created.value().value_or(nowSeconds());
  d.expires = expires.value() ? *expires.value() : d.created + days.value().value_or(30) * 86400;
  auto payload = requestPayloadJson(d);
  if (!payload) return p->out.fail(Error{"usage", payload.detail()});
  auto sorted = canonicalTargets(d.targets).value();
  if (Status s = writeRequestFile(out.value(), newJws(payload.value()), sorted); !s)
    return p->out.fail(s.error());
  return p->out.done("request " + d.id + " (" + d.action + " on " + std::to_string(sorted.size()) +
                         " device(s)) drafted in " + out.value() + "; expires " +
                         isoTime(d.expires) + "\nnext: keyturn request sign --request " +
                         out.value() + " --key " + d.requester + ".key --role requester",
                     "{\"request\":" + json::quote(d.id) + ",\"file\":" + json::quote(out.value()) +
                         ",\"targets\":" + std::to_string(sorted.size()) +
                         ",\"expires\":" + std::to_string(d.expires) + "}");
}

// Refusals (exit 1) of a signature the agent would refuse or that the file already has.
// Offline we know kids, not principals: an approver with the requester's kid is a
// self-approval; a completer with another kid is only suspicious (a principal may hold
// up to four keys), so that is a warning.
Status signable(const Token& t, const std::string& role, const std::string& kid,
                std::uint64_t when) {
  const TokenSignature* requester = nullptr;
  for (const auto& s : t.signatures) {
    if (s.role == SignerRole::kIssuer)
      return Status::fail("already_issued", "the request has already been issued");
    if (s.role == SignerRole::kRequester) requester = &s;
    if ((role == "requester" && s.role == SignerRole::kRequester) ||
        (role == "completer" && s.role == SignerRole::kCompleter))
      return Status::fail("already_signed", "the request already has a " + role + " signature");
    if (role == "approver" && s.role == SignerRole::kApprover && s.kid == kid)
      return Status::fail("already_signed", "this key has already approved the request");
    if (role == "requester" && s.role == SignerRole::kApprover && s.kid == kid)
      return Status::fail("self_approval",
                          "this key approved the request; the requester may not approve");
    if (role == "completer" && s.role == SignerRole::kApprover && s.at > when)
      return Status::fail("before_approval", "completing at " + std::to_string(when) +
                                                 " would be before an approval made at " +
                                                 std::to_string(s.at));
  }
  if (role == "approver" && requester && requester->kid == kid)
    return Status::fail("self_approval",
                        "this is the requester's key; the requester may not approve");
  if (role == "completer" && requester && requester->kid != kid)
    std::cerr << "keyturn: warning: the completer key (" << kid
              << ") is not the key the requester signed with (" << requester->kid
              << "); agents refuse it unless both belong to " << t.payload.requester << "\n";
  return Status::ok();
}

int requestSign(int argc, char** argv) {
  auto p = parseCommand(argc, argv, {{"request", "key", "role", "at"}, {}, {}}, kSignHelp);
  if (!p) return p.reason() == "help" ? 0 : 2;
  auto path = p->args.require("request");
  if (!path) return p->out.fail(path.error());
  auto keyPath = p->args.require("key");
  if (!keyPath) return p->out.fail(keyPath.error());
  auto role = p->args.require("role");
  if (!role) return p->out.fail(role.error());
  if (role.value() != "requester" && role.value() != "approver" && role.value() != "completer")
    return p->out.fail(Error{"usage", "--role must be requester, approver or completer"});
  auto at = p->args.integer("at");
  if (!at) return p->out.fail(at.error());
  auto file = readRequestFile(path.value());
  if (!file) return p->out.fail(file.error());
  // An approver must know exactly what they approve: the list they see is the list signed.
  if (Status s = checkTargets(file.value()); !s) return p->out.fail(s.error());
  auto key = Ed25519PrivateKey::load(keyPath.value());
  if (!key) return p->out.fail(key.error());  // insecure_permissions is a refusal (exit 1)
  const std::string kid = key->publicKey().kid();
  std::uint64_t when = at.value().value_or(nowSeconds());
  const auto& t = file->token;
  if (Status s = signable(t, role.value(), kid, when); !s) return p->out.fail(s.error());
  JwsEnvelope env = t.envelope;
  std::string header = role.value() == "requester"  ? requesterHeader(kid, when)
                       : role.value() == "approver" ? approverHeader(kid, when)
                                                    : completerHeader(kid, when);
  appendSignature(env, key.value(), header);
  if (Status s = writeRequestFile(path.value(), env, file->targets); !s)
    return p->out.fail(s.error());
  return p->out.done(role.value() + " signature added to " + path.value() + " (kid " + kid + ")",
                     "{\"request\":" + json::quote(t.payload.id) +
                         ",\"role\":" + json::quote(role.value()) + ",\"kid\":" + json::quote(kid) +
                         ",\"at\":" + std::to_string(when) + "}");
}

int requestShow(int argc, char** argv) {
  auto p = parseCommand(argc, argv, {{"request", "bundle"}, {}, {}}, kShowHelp);
  if (!p) return p.reason() == "help" ? 0 : 2;
  auto path = p->args.require("request");
  if (!path) return p->out.fail(path.error());
  auto file = readRequestFile(path.value());
  if (!file) return p->out.fail(file.error());
  std::optional<TrustBundle> bundle;
  if (auto b = p->args.get("bundle")) {
    auto text = readFile(*b, kMaxBundleBytes);
    if (!text) return p->out.fail(Error{"io", "cannot read " + *b + ": " + std::strerror(errno)});
    auto parsed = TrustBundle::parse(*text);
    if (!parsed) return p->out.fail(Error{"usage", *b + ": " + parsed.detail()});
    bundle = parsed.value();
  }
  const auto& t = file->token;
  const auto& pl = t.payload;
  Status targets = checkTargets(file.value());
  std::ostringstream s, j;
  s << "request " << pl.id << " (tenant " << pl.tenant << ", bundle version " << pl.bundle << ")\n"
    << "action " << pl.action << " " << pl.paramsJson << "\n"
    << "requested by " << pl.requester << ": " << pl.justification << "\n"
    << "created " << isoTime(pl.created) << " (" << pl.created << "), expires "
    << isoTime(pl.expires) << " (" << pl.expires << ")\n"
    << "targets (" << file->targets.size() << "):";
  j << "{\"request\":" << json::quote(pl.id) << ",\"tenant\":" << json::quote(pl.tenant)
    << ",\"action\":" << json::quote(pl.action) << ",\"params\":" << pl.paramsJson
    << ",\"requester\":" << json::quote(pl.requester)
    << ",\"justification\":" << json::quote(pl.justification) << ",\"created\":" << pl.created
    << ",\"expires\":" << pl.expires << ",\"bundle\":" << pl.bundle << ",\"targets\":[";
  for (std::size_t i = 0; i < file->targets.size(); ++i) {
    s << " " << file->targets[i];
    j << (i ? "," : "") << json::quote(file->targets[i]);
  }
  s << "\n"
    << (targets ? "targets match the signed Merkle root"
                : "TARGETS DO NOT MATCH: " + targets.detail())
    << "\n";
  j << "],\"targets_match\":" << (targets ? "true" : "false") << ",\"signatures\":[";
  for (std::size_t i = 0; i < t.signatures.size(); ++i) {
    const auto& sig = t.signatures[i];
    std::string who, status = "not checked (no --bundle)";
    if (bundle) {
      const Ed25519PublicKey* key = sig.role == SignerRole::kIssuer ? bundle->issuerKey(sig.kid)
                                                                    : bundle->principalKey(sig.kid);
      if (const auto* pr = bundle->principalByKid(sig.kid)) who = pr->id;
      if (sig.role == SignerRole::kIssuer && key) who = "issuer";
      const auto& js = t.envelope.signatures[sig.entry];
      status = !key ? "unknown key"
               : key->verify(t.envelope.signingInput(js), js.signature.data(), 64)
                   ? "valid"
                   : "BAD SIGNATURE";
    }
    s << "  " << roleName(sig.role) << " " << (who.empty() ? sig.kid : who + " (" + sig.kid + ")")
      << " at " << isoTime(sig.at) << ": " << status << "\n";
    j << (i ? "," : "") << "{\"role\":\"" << roleName(sig.role)
      << "\",\"kid\":" << json::quote(sig.kid) << ",\"principal\":" << json::quote(who)
      << ",\"at\":" << sig.at << ",\"status\":" << json::quote(status) << "}";
  }
  j << "]}";
  p->out.done(s.str(), j.str());
  return targets ? 0 : 1;
}

}  // namespace

int requestCommand(int argc, char** argv) {
  std::string sub = argc > 2 ? argv[2] : "";
  if (sub == "new") return requestNew(argc, argv);
  if (sub == "sign") return requestSign(argc, argv);
  if (sub == "show") {
    // Offline with --request FILE; online (keyturn request show ID) otherwise.
    for (int i = 3; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg == "--request") return requestShow(argc, argv);
      if (arg == "--help" || arg == "-h") std::cout << kShowHelp;  // both forms' help
    }
    return requestShowOnline(argc, argv);
  }
  if (sub == "submit") return requestSubmit(argc, argv);
  if (sub == "list") return requestList(argc, argv);
  if (sub == "approve" || sub == "reject" || sub == "complete" || sub == "cancel")
    return requestDecide(argc, argv);
  std::cerr << "keyturn: request needs new, sign, show (offline) or submit, list, show, approve, "
               "reject, complete, cancel (online)\n"
            << kNewHelp << kSignHelp << kShowHelp;
  return 2;
}

}  // namespace keyturn::cli
