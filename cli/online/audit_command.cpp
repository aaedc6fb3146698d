// keyturn audit list | verify [--file F] | export [--out F].
// The chain is checked here with the coordinator's own verifier (core's
// keyturn/audit_chain.h, which the server's store uses too), so a verdict never rests on the
// server's word: `verify` recomputes every link of what the server sent and compares
// the result with the chain result the server reports.
#include <Poco/JSON/Array.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli_output.h"
#include "keyturn/audit_chain.h"
#include "keyturn/crypto_util.h"
#include "keyturn/json.h"
#include "online/online_client.h"
#include "online/online_commands.h"
#include "policy_cli.h"

namespace keyturn::cli {
namespace {

using Poco::JSON::Object;
using audit::AuditReport;

constexpr const char* kHelp =
    "usage: keyturn audit list [--from SEQ] [--limit N] [--event E] [--actor A]\n"
    "                          [--subject S | --request ID] [--since T] [--until T] [-o json]\n"
    "  list filters over the whole log on the coordinator: --event exact, or a prefix ending\n"
    "  in * (request.*); --since/--until Unix seconds (until exclusive).\n"
    "       keyturn audit verify [-o json]            the whole chain, checked here and by the "
    "server\n"
    "       keyturn audit verify --file FILE [-o json] an export, offline\n"
    "       keyturn audit export [--out FILE]         every entry as JSON lines (stdout by "
    "default)\n"
    "  Needs the role audit.read (except verify --file). Exit 0 (verify: the chain is intact),\n"
    "  1 the chain is broken or the coordinator refuses, 2 usage or I/O, 3 unreachable.\n";
constexpr std::int64_t kPage = 1000;

Result<audit::AuditEntry> entryFrom(const Object::Ptr& o) {
  audit::AuditEntry e;
  try {
    e.seq = o->getValue<Poco::Int64>("seq");
    e.at = o->getValue<Poco::Int64>("at");
    e.actor = o->getValue<std::string>("actor");
    e.event = o->getValue<std::string>("event");
    e.subject = o->getValue<std::string>("subject");
    e.detailJson = o->has("detail_json") ? o->getValue<std::string>("detail_json")
                                         : json::stringify(o->get("detail"));
    e.prevHash = o->getValue<std::string>("prev_hash");
    e.hash = o->getValue<std::string>("hash");
  } catch (const Poco::Exception& ex) {
    return Result<audit::AuditEntry>::fail("server_error",
                                            "an audit entry lacks a member: " + ex.displayText());
  }
  return e;
}

struct Fetched {
  std::vector<audit::AuditEntry> entries;
  Poco::Dynamic::Var chain;  // the server's verdict
};

// Every entry from `from` on matching `filters` (a query string to append, "" or
// "&event=..."), page by page.
Result<Fetched> fetchAll(OnlineClient& c, std::int64_t from, std::int64_t limit,
                         const std::string& filters = "") {
  Fetched f;
  for (;;) {
    std::int64_t want =
        limit > 0 ? std::min(kPage, limit - static_cast<std::int64_t>(f.entries.size())) : kPage;
    if (want <= 0) break;
    auto r = c.call(
        "GET", "/api/v1/audit?from=" + std::to_string(from) + "&limit=" + std::to_string(want) +
                   filters);
    if (!r) return r.error();
    if (r.value()->has("chain")) f.chain = r.value()->get("chain");
    auto list = r.value()->getArray("entries");
    if (!list) return Result<Fetched>::fail("server_error", "the reply has no \"entries\" array");
    for (std::size_t i = 0; i < list->size(); ++i) {
      auto e = entryFrom(list->getObject(static_cast<unsigned>(i)));
      if (!e) return e.error();
      from = e->seq + 1;
      f.entries.push_back(std::move(e).value());
    }
    if (list->size() < static_cast<std::size_t>(want)) break;
  }
  return f;
}

std::string reportJson(const AuditReport& r) {
  return "{\"ok\":" + std::string(r.ok() ? "true" : "false") +
         ",\"entries\":" + std::to_string(r.entries) + ",\"head\":" + json::quote(r.headHash) +
         (r.ok() ? ""
                 : ",\"broken_at\":" + std::to_string(*r.brokenSeq) + ",\"reason\":" +
                       json::quote(r.reason) + ",\"detail\":" + json::quote(r.detail)) +
         "}";
}

std::string reportText(const AuditReport& r, const std::string& what) {
  if (r.ok())
    return what + ": chain intact, " + std::to_string(r.entries) + " entries, head " + r.headHash;
  return what + ": CHAIN BROKEN at seq " + std::to_string(*r.brokenSeq) + " (" + r.reason +
         "): " + r.detail;
}

int verify(const Output& out, const tools::CommandArgs& args) {
  if (auto file = args.get("file")) {
    auto r = audit::verifyJsonLinesFile(*file);
    if (!r) return out.fail(r.error());
    out.done(reportText(r.value(), *file), reportJson(r.value()));
    return r->ok() ? 0 : 1;
  }
  auto client = OnlineClient::open();
  if (!client) return out.fail(client.error());
  // The server's verdict, then the whole log as exported, checked here.
  auto head = client.value()->call("GET", "/api/v1/audit?limit=1");
  if (!head) return out.fail(head.error());
  Fetched verdict;
  if (head.value()->has("chain")) verdict.chain = head.value()->get("chain");
  auto exported = client.value()->callRaw("GET", "/api/v1/audit/export");
  if (!exported) return out.fail(exported.error());
  const Fetched* f = &verdict;
  std::istringstream in(exported->body);
  AuditReport mine = audit::verifyJsonLines(in);
  bool serverOk = f->chain.isString() && f->chain.extract<std::string>() == "ok";
  std::string serverSays = f->chain.isEmpty()    ? "nothing"
                           : f->chain.isString() ? f->chain.extract<std::string>()
                                                 : f->chain.toString();
  std::string text = reportText(mine, "checked here") + "\nthe coordinator says: " + serverSays;
  bool agree = mine.ok() == serverOk;
  if (!agree) text += "\nTHE COORDINATOR'S VERDICT DIFFERS FROM THE ONE COMPUTED HERE";
  out.done(text, "{\"local\":" + reportJson(mine) +
                     ",\"server\":" + (f->chain.isEmpty() ? "null" : json::stringify(f->chain)) +
                     ",\"agree\":" + (agree ? "true" : "false") + "}");
  return mine.ok() && serverOk ? 0 : 1;
}

}  // namespace

int auditCommand(int argc, char** argv) {
  const std::string sub = argc > 2 ? argv[2] : "";
  if (sub != "list" && sub != "verify" && sub != "export") {
    std::cerr << "keyturn: audit needs list, verify or export\n" << kHelp;
    return 2;
  }
  tools::ArgSpec spec{{}, {}, {}};
  if (sub == "list")
    spec.single = {"from", "limit", "event", "actor", "subject", "request", "since", "until"};
  if (sub == "verify") spec.single = {"file"};
  if (sub == "export") spec.single = {"out"};
  auto p = parseCommand(argc, argv, spec, kHelp);
  if (!p) return p.reason() == "help" ? 0 : 2;
  if (sub == "verify") return verify(p->out, p->args);
  auto from = p->args.integer("from");
  auto limit = p->args.integer("limit");
  if (!from) return p->out.fail(from.error());
  if (!limit) return p->out.fail(limit.error());
  auto client = OnlineClient::open();
  if (!client) return p->out.fail(client.error());
  if (sub == "export") {
    auto exported = client.value()->callRaw("GET", "/api/v1/audit/export");
    if (!exported) return p->out.fail(exported.error());
    const std::string& lines = exported->body;
    std::size_t count = static_cast<std::size_t>(std::count(lines.begin(), lines.end(), '\n'));
    if (auto file = p->args.get("out")) {
      if (std::string err = writeFileAtomic(*file, lines, 0600); !err.empty())
        return p->out.fail(Error{"io", err});
      std::cerr << "keyturn: " << count << " entries written to " << *file << "\n";
    } else {
      std::cout << lines;
    }
    return 0;
  }
  std::string filters;
  for (const char* key : {"event", "actor", "subject", "request", "since", "until"})
    if (auto v = p->args.get(key)) filters += std::string("&") + key + "=" + urlEncode(*v);
  auto f = fetchAll(*client.value(), static_cast<std::int64_t>(from.value().value_or(1)),
                    static_cast<std::int64_t>(limit.value().value_or(100)), filters);
  if (!f) return p->out.fail(f.error());
  std::ostringstream s, j;
  j << "{\"entries\":[";
  for (std::size_t i = 0; i < f->entries.size(); ++i) {
    const auto& e = f->entries[i];
    s << e.seq << "  " << isoTime(static_cast<std::uint64_t>(e.at)) << "  " << e.event << "  by "
      << e.actor << (e.subject.empty() ? "" : "  on " + e.subject) << "  " << e.detailJson << "\n";
    j << (i ? "," : "") << audit::toJsonLine(e);
  }
  j << "]}";
  return p->out.done(s.str(), j.str());
}

}  // namespace keyturn::cli
