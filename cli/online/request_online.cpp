// keyturn request list | show ID | approve ID | reject ID | complete ID | cancel ID.
// Every signature is made here, over the exact payload the requester signed, after the
// target list was checked against its Merkle root (online/request_view.h).
#include <Poco/JSON/Array.h>

#include <algorithm>
#include <iostream>
#include <sstream>

#include "cli_output.h"
#include "keyturn/bundle.h"
#include "keyturn/json.h"
#include "keyturn/token.h"
#include "online/online_client.h"
#include "online/online_commands.h"
#include "online/request_view.h"
#include "policy_cli.h"

namespace keyturn::cli {
namespace {

using Poco::JSON::Object;

constexpr const char* kListHelp =
    "usage: keyturn request list [--mine | --received | --all] [--state S] [--action A]\n"
    "                            [--device D] [--requester P] [--limit N] [-o json]\n"
    "  --mine (default): requests I made; --received: requests I can approve now; --all:\n"
    "  every request (role requests.read_all). --state: needs_approval, approved, rejected,\n"
    "  cancelled, expired or completed. Newest first; every page is fetched unless --limit N\n"
    "  stops after N requests. Exit 0, 1 refused, 2 usage, 3 unreachable.\n";
constexpr std::int64_t kListPage = 500;  // the coordinator's largest page
constexpr const char* kShowHelp =
    "usage: keyturn request show ID [-o json]        (offline: request show --request FILE)\n"
    "  The request with its targets checked here against the signed Merkle root, the\n"
    "  requirements and their progress, approvals and rejections with notes, the timeline\n"
    "  and per-device results. Exit 0, 1 when the targets do not match the root or the\n"
    "  coordinator refuses, 2 usage, 3 unreachable.\n";
constexpr const char* kDecideHelp =
    "usage: keyturn request approve ID --notes TEXT [-o json]\n"
    "       keyturn request reject ID --notes TEXT [-o json]\n"
    "       keyturn request complete ID [-o json]\n"
    "       keyturn request cancel ID [-o json]\n"
    "  approve: shows the request, checks its targets against the signed Merkle root, then\n"
    "  signs the exact payload as approver with this admin's key and sends it with the notes.\n"
    "  reject: the notes are shown to the requester. complete: the requester's completer\n"
    "  signature; the coordinator then issues one token per target device. cancel: the\n"
    "  requester withdraws a pending request. Exit 0 done, 1 refused (self-approval, not in\n"
    "  a required group, expired, ...), 2 usage, 3 unreachable.\n";

Result<RequestView> fetch(OnlineClient& c, const std::string& id) {
  auto r = c.call("GET", "/api/v1/requests/" + urlEncode(id));
  if (!r) return r.error();
  return RequestView::from(r.value());
}

// The protected header and signature of one new signature over the request's payload,
// made exactly as the offline kit makes it (appendSignature over the received bytes).
std::string signatureBody(const RequestView& v, const Ed25519PrivateKey& key,
                          const std::string& header, const std::string& extra) {
  // A bundle proposal is approved by signing the proposed bundle (its payload, as sent).
  JwsEnvelope env =
      v.bundleUpdate ? TrustBundle::parse(v.proposal).value().envelope : v.token.envelope;
  env.signatures.clear();
  appendSignature(env, key, header);
  const auto& s = env.signatures.back();
  return "{\"protected\":" + json::quote(s.protectedB64) +
         ",\"signature\":" + json::quote(s.signatureB64) + extra + "}";
}

}  // namespace

int requestList(int argc, char** argv) {
  auto p = parseCommand(argc, argv,
                        {{"state", "action", "device", "requester", "limit"}, {},
                         {"mine", "received", "all"}},
                        kListHelp);
  if (!p) return p.reason() == "help" ? 0 : 2;
  int views = p->args.flag("mine") + p->args.flag("received") + p->args.flag("all");
  if (views > 1) return p->out.fail(Error{"usage", "give one of --mine, --received, --all"});
  auto limit = p->args.integer("limit");
  if (!limit) return p->out.fail(limit.error());
  if (limit.value() && limit.value().value() == 0)
    return p->out.fail(Error{"usage", "--limit must be at least 1"});
  std::string view = p->args.flag("received") ? "received" : p->args.flag("all") ? "all" : "mine";
  std::string query = "/api/v1/requests?view=" + view;
  for (const char* key : {"state", "action", "device", "requester"})
    if (auto v = p->args.get(key)) query += std::string("&") + key + "=" + urlEncode(*v);
  auto client = OnlineClient::open();
  if (!client) return p->out.fail(client.error());
  // Pages until the last one (next is null) or --limit requests.
  const std::int64_t want =
      limit.value() ? static_cast<std::int64_t>(*limit.value()) : std::int64_t{-1};
  std::vector<Object::Ptr> found;
  std::string counts = "null", next = "null", cursor;
  for (;;) {
    std::int64_t page = kListPage;
    if (want > 0) page = std::min<std::int64_t>(page, want - static_cast<std::int64_t>(found.size()));
    std::string path = query + "&limit=" + std::to_string(page);
    if (!cursor.empty()) path += "&cursor=" + urlEncode(cursor);
    auto r = client.value()->call("GET", path);
    if (!r) return p->out.fail(r.error());
    auto list = r.value()->getArray("requests");
    if (!list) return p->out.fail(Error{"server_error", "the reply has no \"requests\" array"});
    for (std::size_t i = 0; i < list->size(); ++i)
      found.push_back(list->getObject(static_cast<unsigned>(i)));
    if (r.value()->has("counts")) counts = json::stringify(r.value()->get("counts"));
    const bool more = r.value()->has("next") && !r.value()->get("next").isEmpty();
    next = more ? json::quote(r.value()->getValue<std::string>("next")) : "null";
    if (!more || (want > 0 && static_cast<std::int64_t>(found.size()) >= want)) break;
    cursor = r.value()->getValue<std::string>("next");
  }
  std::ostringstream s, j;
  j << "{\"requests\":[";
  for (std::size_t i = 0; i < found.size(); ++i) {
    s << requestLine(found[i]) << "\n";
    j << (i ? "," : "") << json::stringify(found[i]);
  }
  j << "],\"counts\":" << counts << ",\"next\":" << next << "}";
  if (found.empty()) s << "no requests (" << view << ")\n";
  if (next != "null") s << "(more: " << found.size() << " shown; drop --limit to list all)\n";
  return p->out.done(s.str(), j.str());
}

int requestShowOnline(int argc, char** argv) {
  auto pp = parsePolicyCommand(argc, argv, {{}, {}, {}}, kShowHelp, 1);
  if (!pp) return pp.reason() == "help" ? 0 : 2;
  const Output& out = pp->parsed.out;
  if (pp->positional.size() != 1)
    return out.fail(Error{"usage", "request show needs the request ID (or --request FILE)"});
  auto client = OnlineClient::open();
  if (!client) return out.fail(client.error());
  auto v = fetch(*client.value(), pp->positional[0]);
  if (!v) return out.fail(v.error());
  out.done(v->text(), v->jsonText());
  return v->targetsCheck ? 0 : 1;
}

int requestDecide(int argc, char** argv) {
  const std::string verb = argv[2];
  bool withNotes = verb == "approve" || verb == "reject";
  tools::ArgSpec spec{{}, {}, {}};
  if (withNotes) spec.single.insert("notes");
  auto pp = parsePolicyCommand(argc, argv, spec, kDecideHelp, 1);
  if (!pp) return pp.reason() == "help" ? 0 : 2;
  const Output& out = pp->parsed.out;
  if (pp->positional.size() != 1)
    return out.fail(Error{"usage", "request " + verb + " needs the request ID"});
  const std::string id = pp->positional[0];
  std::string notes;
  if (withNotes) {
    // Present but possibly empty: whether notes are good enough is the coordinator's rule.
    if (pp->parsed.args.all("notes").empty())
      return out.fail(
          Error{"usage", "--notes is required: say why you " + verb + " (the requester sees it)"});
    notes = pp->parsed.args.all("notes").front();
  }
  auto client = OnlineClient::open();
  if (!client) return out.fail(client.error());
  OnlineClient& c = *client.value();
  const std::string base = "/api/v1/requests/" + urlEncode(id) + "/" + verb;
  Result<Object::Ptr> reply = Error{};
  if (verb == "approve" || verb == "complete") {
    auto v = fetch(c, id);
    if (!v) return out.fail(v.error());
    // Shown before signing, on stderr so -o json stays one object on stdout.
    std::cerr << v->text();
    if (!v->bundleUpdate && !v->targetsCheck) return out.fail(v->targetsCheck.error());
    auto key = c.key();
    if (!key) return out.fail(key.error());
    const std::string kid = key.value()->publicKey().kid();
    std::uint64_t at = nowSeconds();
    if (verb == "approve") {
      std::string header =
          v->bundleUpdate ? bundleSignatureHeader(kid, at) : approverHeader(kid, at);
      reply = c.call(
          "POST", base,
          signatureBody(v.value(), *key.value(), header, ",\"notes\":" + json::quote(notes)));
    } else if (v->bundleUpdate) {
      // Publishing a proposal adds no signature: the bundle carries the admins' own.
      reply = c.call("POST", base, "{}");
    } else {
      // The completer signs at or after every approval, as the agent requires.
      at = std::max(at, v->latestApproval());
      reply = c.call("POST", base,
                     signatureBody(v.value(), *key.value(), completerHeader(kid, at), ""));
    }
  } else if (verb == "reject") {
    reply = c.call("POST", base, "{\"notes\":" + json::quote(notes) + "}");
  } else {
    reply = c.call("POST", base, "{}");
  }
  if (!reply) return out.fail(reply.error());
  std::string state = reply.value()->optValue<std::string>("state", "?");
  static const std::map<std::string, std::string> kDone = {{"approve", "approved by"},
                                                           {"reject", "rejected by"},
                                                           {"complete", "completed by"},
                                                           {"cancel", "cancelled by"}};
  return out.done(
      "request " + id + " " + kDone.at(verb) + " " + c.profile().id + "; state now " + state,
      json::stringify(reply.value()));
}

}  // namespace keyturn::cli
