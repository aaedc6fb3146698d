// keyturn request submit: the request is drafted and signed here, on the requester's
// machine, with core (requestPayloadJson, requesterHeader); the coordinator only stores
// what the requester signed.
#include <Poco/JSON/Array.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "cli_output.h"
#include "keyturn/crypto_util.h"
#include "keyturn/json.h"
#include "keyturn/login.h"
#include "keyturn/merkle.h"
#include "keyturn/token.h"
#include "online/online_client.h"
#include "online/online_commands.h"
#include "online/request_view.h"
#include "policy_cli.h"

namespace keyturn::cli {
namespace {

using Poco::JSON::Object;

constexpr const char* kHelp =
    "usage: keyturn request submit ACTION (--device ID... | --group G) --justification TEXT\n"
    "         [--param K=V]... [--params-file FILE] [--id ID] [--expires-days D | --expires-in S]\n"
    "         [-o json]\n"
    "  Drafts the request (tenant and bundle version from the coordinator), signs it as the\n"
    "  requester with this admin's key, submits it, and prints its id and what the policies\n"
    "  require. --group is resolved to its devices by the coordinator now. --param values:\n"
    "  integers become JSON integers, true/false booleans, anything else a string;\n"
    "  --params-file holds the params object as JSON. The id is random unless --id is given.\n"
    "  Exit 0 submitted, 1 refused (by a check or by the coordinator), 2 usage, 3 unreachable.\n";

Result<std::string> paramsFrom(const tools::CommandArgs& args) {
  using R = Result<std::string>;
  Object::Ptr o = new Object();
  if (auto file = args.get("params-file")) {
    auto text = readFile(*file, 1 << 20);
    if (!text) return R::fail("io", "cannot read " + *file + ": " + std::strerror(errno));
    auto parsed = json::parseObject(*text);
    if (!parsed) return R::fail("usage", *file + ": " + parsed.detail());
    o = parsed.value();
  }
  if (Status s = addParams(args.all("param"), *o); !s) return s.error();
  return json::stringify(o);
}

// The devices of a group, as the coordinator knows them now.
Result<std::vector<std::string>> groupDevices(OnlineClient& client, const std::string& group) {
  using R = Result<std::vector<std::string>>;
  auto reply = client.call("GET", "/api/v1/devices?group=" + urlEncode(group));
  if (!reply) return reply.error();
  auto devices = reply.value()->getArray("devices");
  if (!devices) return R::fail("server_error", "the device list has no \"devices\" array");
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < devices->size(); ++i) {
    auto d = devices->getObject(static_cast<unsigned>(i));
    if (!d || !d->has("id")) return R::fail("server_error", "a device in the list has no id");
    if (d->optValue<std::string>("state", "active") == "removed") continue;
    ids.push_back(d->getValue<std::string>("id"));
  }
  if (ids.empty())
    return R::fail("no_targets", "the coordinator knows no device in group \"" + group + "\"");
  return ids;
}

std::string requirementsText(const Object::Ptr& request) {
  auto reqs = request->getArray("requirements");
  if (!reqs || reqs->size() == 0)
    return "needs no approval: complete it with keyturn request complete";
  std::ostringstream s;
  s << "needs";
  for (std::size_t i = 0; i < reqs->size(); ++i) {
    auto r = reqs->getObject(static_cast<unsigned>(i));
    s << (i ? "," : "") << " " << r->optValue<Poco::Int64>("approvals", 0) << " approval(s) from "
      << r->optValue<std::string>("group", "?");
  }
  return s.str();
}

}  // namespace

int requestSubmit(int argc, char** argv) {
  auto pp = parsePolicyCommand(
      argc, argv,
      {{"group", "justification", "params-file", "id", "expires-days", "expires-in"},
       {"device", "param"},
       {}},
      kHelp, 1);
  if (!pp) return pp.reason() == "help" ? 0 : 2;
  const auto& a = pp->parsed.args;
  const Output& out = pp->parsed.out;
  if (pp->positional.size() != 1)
    return out.fail(Error{"usage", "request submit needs the ACTION (e.g. device.wipe)"});
  const std::string action = pp->positional[0];
  if (!validActionName(action))
    return out.fail(Error{"usage", "\"" + action + "\" is not an action name (like device.wipe)"});
  auto justification = a.require("justification");
  if (!justification) return out.fail(justification.error());
  auto group = a.get("group");
  if (group.has_value() == !a.all("device").empty())
    return out.fail(
        Error{"usage", "give the targets with --device ID... or with --group G (one of them)"});
  auto days = a.integer("expires-days");
  auto seconds = a.integer("expires-in");
  if (!days) return out.fail(days.error());
  if (!seconds) return out.fail(seconds.error());
  if (days.value() && seconds.value())
    return out.fail(Error{"usage", "give --expires-days or --expires-in, not both"});
  auto params = paramsFrom(a);
  if (!params) return out.fail(params.error());
  std::string id = a.get("id").value_or("r-" + randomToken(12));
  if (!validRequestId(id)) return out.fail(Error{"usage", "--id must match [A-Za-z0-9._-]{1,64}"});

  auto client = OnlineClient::open();
  if (!client) return out.fail(client.error());
  OnlineClient& c = *client.value();
  std::vector<std::string> targets = a.all("device");
  if (group) {
    auto ids = groupDevices(c, *group);
    if (!ids) return out.fail(ids.error());
    targets = ids.value();
  }
  auto sorted = canonicalTargets(targets);
  if (!sorted) return out.fail(Error{"usage", "the target list: " + sorted.detail()});
  auto health = c.callAnonymous("GET", "/healthz");
  if (!health) return out.fail(health.error());
  auto version = health.value()->optValue<Poco::Int64>("bundle_version", 0);
  if (version <= 0)
    return out.fail(Error{"no_trust_bundle", "the coordinator has no trust bundle in force"});
  auto key = c.key();
  if (!key) return out.fail(key.error());
  if (c.profile().tenant.empty()) {
    if (Status s = c.login(); !s) return out.fail(s.error());
  }

  RequestDraft d;
  d.tenant = c.profile().tenant;
  d.id = id;
  d.action = action;
  d.paramsJson = params.value();
  d.targets = sorted.value();
  d.requester = c.profile().id;
  d.justification = justification.value();
  d.bundle = static_cast<std::uint64_t>(version);
  d.created = nowSeconds();
  d.expires = d.created + (seconds.value() ? *seconds.value() : days.value().value_or(30) * 86400);
  auto payload = requestPayloadJson(d);
  if (!payload)
    return out.fail(Error{"usage", "the request would be malformed: " + payload.detail()});
  JwsEnvelope jws = newJws(payload.value());
  appendSignature(jws, *key.value(), requesterHeader(key.value()->publicKey().kid(), d.created));

  std::string body =
      "{\"token\":" + jws.serialize() + ",\"targets\":" + jsonStrings(d.targets) + "}";
  auto stored = c.call("POST", "/api/v1/requests", body);
  if (!stored) return out.fail(stored.error());
  Object::Ptr r = stored.value();
  std::string state = r->optValue<std::string>("state", "submitted");
  return out.done(id + "\nrequest " + id + " (" + action + " on " +
                      std::to_string(d.targets.size()) + " device(s)) submitted: " + state + "; " +
                      requirementsText(r),
                  json::stringify(r));
}

}  // namespace keyturn::cli
