// keyturn notify status: the coordinator's notification outbox (issue 7).
#include <Poco/JSON/Array.h>

#include <sstream>

#include "cli_output.h"
#include "keyturn/json.h"
#include "online/online_client.h"
#include "online/online_commands.h"
#include "policy_cli.h"

namespace keyturn::cli {
namespace {

constexpr const char* kHelp =
    "usage: keyturn notify status [--failures N] [-o json]\n"
    "  The notification outbox: waiting, pending, retrying, sent and failed deliveries, and\n"
    "  the N (default 20) most recent failing ones with their error.\n"
    "  Needs the role notifications.read or audit.read. Exit 0 nothing has failed for good,\n"
    "  1 some delivery failed (or the coordinator refuses), 2 usage, 3 unreachable.\n";

std::string field(const Poco::JSON::Object::Ptr& o, const std::string& k) {
  if (!o || !o->has(k)) return "";
  const auto& v = o->get(k);
  if (v.isEmpty()) return "";
  return v.isString() ? v.extract<std::string>() : v.toString();
}

}  // namespace

int notifyCommand(int argc, char** argv) {
  const std::string sub = argc > 2 ? argv[2] : "";
  if (sub != "status") {
    std::cerr << "keyturn: notify needs status\n" << kHelp;
    return 2;
  }
  tools::ArgSpec spec{{}, {}, {}};
  spec.single.insert("failures");
  auto pp = parsePolicyCommand(argc, argv, spec, kHelp, 0);
  if (!pp) return pp.reason() == "help" ? 0 : 2;
  const Output& out = pp->parsed.out;
  auto failures = pp->parsed.args.integer("failures");
  if (!failures) return out.fail(failures.error());
  auto client = OnlineClient::open();
  if (!client) return out.fail(client.error());
  std::string path = "/api/v1/notifications/status";
  if (failures.value()) path += "?failures=" + std::to_string(*failures.value());
  auto r = client.value()->call("GET", path);
  if (!r) return out.fail(r.error());
  const auto& o = r.value();
  std::ostringstream s;
  s << "waiting " << field(o, "events_waiting") << "  pending " << field(o, "pending")
    << "  retrying " << field(o, "retrying") << "  sent " << field(o, "sent") << "  failed "
    << field(o, "failed") << "\n";
  if (std::string oldest = field(o, "oldest_pending"); !oldest.empty())
    s << "oldest waiting since " << isoTime(std::stoull(oldest)) << "\n";
  if (auto list = o->getArray("failures"); list && list->size() > 0) {
    s << "failing deliveries:\n";
    for (std::size_t i = 0; i < list->size(); ++i) {
      auto d = list->getObject(static_cast<unsigned>(i));
      s << "  " << field(d, "state") << "  " << field(d, "event") << "  to "
        << field(d, "recipient") << " via " << field(d, "channel") << "  attempts "
        << field(d, "attempts");
      if (std::string next = field(d, "next_attempt"); !next.empty())
        s << "  next " << isoTime(std::stoull(next));
      s << "\n    " << field(d, "error") << "\n";
    }
  }
  out.done(s.str(), json::stringify(o));
  return o->optValue<Poco::Int64>("failed", 0) > 0 ? 1 : 0;
}

}  // namespace keyturn::cli
