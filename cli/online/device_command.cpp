// keyturn device list | enroll-code | remove ID.
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
    "usage: keyturn device list [--group G] [--removed] [-o json]   --removed: removed ones too\n"
    "       keyturn device enroll-code [--valid-for SECONDS] [-o json]\n"
    "                                    a single-use code for one agent (default 24 hours)\n"
    "       keyturn device remove ID [-o json]       revokes the device's certificate at once\n"
    "  enroll-code and remove need the role devices.enroll in the trust bundle.\n"
    "  Exit 0 done, 1 refused by the coordinator, 2 usage, 3 unreachable.\n";

std::string field(const Poco::JSON::Object::Ptr& o, const std::string& k) {
  if (!o || !o->has(k)) return "";
  const auto& v = o->get(k);
  if (v.isEmpty()) return "";  // JSON null
  return v.isString() ? v.extract<std::string>() : v.toString();
}

}  // namespace

int deviceCommand(int argc, char** argv) {
  const std::string sub = argc > 2 ? argv[2] : "";
  if (sub != "list" && sub != "enroll-code" && sub != "remove") {
    std::cerr << "keyturn: device needs list, enroll-code or remove\n" << kHelp;
    return 2;
  }
  tools::ArgSpec spec{{}, {}, {}};
  if (sub == "list") {
    spec.single.insert("group");
    spec.flags.insert("removed");
  }
  if (sub == "enroll-code") spec.single.insert("valid-for");
  auto pp = parsePolicyCommand(argc, argv, spec, kHelp, sub == "remove" ? 1 : 0);
  if (!pp) return pp.reason() == "help" ? 0 : 2;
  const Output& out = pp->parsed.out;
  if (sub == "remove" && pp->positional.size() != 1)
    return out.fail(Error{"usage", "device remove needs the device ID"});
  auto client = OnlineClient::open();
  if (!client) return out.fail(client.error());
  OnlineClient& c = *client.value();
  if (sub == "list") {
    std::string path = "/api/v1/devices?removed=";
    path += pp->parsed.args.flag("removed") ? "true" : "false";
    if (auto g = pp->parsed.args.get("group")) path += "&group=" + urlEncode(*g);
    auto r = c.call("GET", path);
    if (!r) return out.fail(r.error());
    auto list = r.value()->getArray("devices");
    if (!list) return out.fail(Error{"server_error", "the reply has no \"devices\" array"});
    std::ostringstream s;
    for (std::size_t i = 0; i < list->size(); ++i) {
      auto d = list->getObject(static_cast<unsigned>(i));
      s << field(d, "id");
      for (const char* k : {"state", "ownership", "platform", "os_version"})
        if (!field(d, k).empty()) s << "  " << k << "=" << field(d, k);
      if (!field(d, "agent_version").empty()) s << "  agent=" << field(d, "agent_version");
      if (!field(d, "bundle_version").empty()) s << "  bundle=v" << field(d, "bundle_version");
      // The OpenSSL the agent runs with (the one advisories name most); all of its
      // libraries, and whether each is built in, are in -o json's agent_libraries.
      if (auto libs = d->getArray("agent_libraries"))
        for (std::size_t i = 0; i < libs->size(); ++i)
          if (auto l = libs->getObject(static_cast<unsigned>(i)); l && field(l, "name") == "OpenSSL")
            s << "  openssl=" << field(l, "version");
      if (auto seen = d->optValue<Poco::Int64>("last_seen", 0); seen > 0)
        s << "  last_seen=" << isoTime(static_cast<std::uint64_t>(seen));
      if (auto groups = d->getArray("groups"); groups && groups->size() > 0)
        s << "  groups=" << json::stringify(Poco::Dynamic::Var(groups));
      s << "\n";
    }
    if (list->size() == 0) s << "no devices\n";
    return out.done(s.str(), json::stringify(r.value()));
  }
  if (sub == "enroll-code") {
    auto validFor = pp->parsed.args.integer("valid-for");
    if (!validFor) return out.fail(validFor.error());
    std::string body =
        validFor.value() ? "{\"expires_in_s\":" + std::to_string(*validFor.value()) + "}" : "{}";
    auto r = c.call("POST", "/api/v1/devices/enrollment-codes", body);
    if (!r) return out.fail(r.error());
    std::string code = field(r.value(), "code");
    if (code.empty()) return out.fail(Error{"server_error", "the reply carries no code"});
    auto expires = r.value()->optValue<Poco::Int64>("expires", 0);
    return out.done(code + "\nsingle use; expires " + isoTime(static_cast<std::uint64_t>(expires)) +
                        "; give it to one device's agent to enroll with " + c.profile().server,
                    json::stringify(r.value()));
  }
  const std::string id = pp->positional[0];
  auto r = c.call("DELETE", "/api/v1/devices/" + urlEncode(id));
  if (!r) return out.fail(r.error());
  return out.done("device " + id + " removed; its certificate no longer works",
                  r.value()->size() ? json::stringify(r.value())
                                    : "{\"device\":" + json::quote(id) + ",\"removed\":true}");
}

}  // namespace keyturn::cli
