// keyturn artifact upload FILE [--name N] | list: artifacts for app.install source
// "artifact". The upload prints the sha256 and size to put in the request's params.
#include <Poco/JSON/Array.h>

#include <filesystem>
#include <sstream>

#include "cli_output.h"
#include "keyturn/json.h"
#include "online/online_client.h"
#include "online/online_commands.h"
#include "policy_cli.h"

namespace keyturn::cli {
namespace {

constexpr const char* kHelp =
    "usage: keyturn artifact upload FILE [--name NAME] [-o json]\n"
    "                       store FILE on the coordinator (role artifacts.write); prints its\n"
    "                       sha256 and size for: request submit app.install --param source=artifact\n"
    "                       --param name=PKG --param sha256=HEX --param size=BYTES\n"
    "       keyturn artifact list [-o json]\n"
    "  Exit 0 done, 1 refused by the coordinator, 2 usage, 3 unreachable.\n";

std::string describe(const Poco::JSON::Object::Ptr& a) {
  std::ostringstream s;
  s << a->optValue<std::string>("sha256", "") << "  size=" << a->optValue<Poco::Int64>("size", 0)
    << "  name=" << a->optValue<std::string>("name", "")
    << "  uploaded_by=" << a->optValue<std::string>("uploaded_by", "")
    << "  at=" << isoTime(static_cast<std::uint64_t>(a->optValue<Poco::Int64>("uploaded_at", 0)));
  return s.str();
}

}  // namespace

int artifactCommand(int argc, char** argv) {
  const std::string sub = argc > 2 ? argv[2] : "";
  if (sub != "upload" && sub != "list") {
    std::cerr << "keyturn: artifact needs upload or list\n" << kHelp;
    return 2;
  }
  tools::ArgSpec spec{{}, {}, {}};
  if (sub == "upload") spec.single.insert("name");
  auto pp = parsePolicyCommand(argc, argv, spec, kHelp, sub == "upload" ? 1 : 0);
  if (!pp) return pp.reason() == "help" ? 0 : 2;
  const Output& out = pp->parsed.out;
  std::string file;
  if (sub == "upload") {
    if (pp->positional.size() != 1) return out.fail(Error{"usage", "artifact upload needs one FILE"});
    file = pp->positional[0];
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec))
      return out.fail(Error{"usage", "artifact upload: " + file + " is not a readable file"});
  }
  auto client = OnlineClient::open();
  if (!client) return out.fail(client.error());
  OnlineClient& c = *client.value();
  if (sub == "list") {
    auto r = c.call("GET", "/api/v1/artifacts");
    if (!r) return out.fail(r.error());
    auto list = r.value()->getArray("artifacts");
    if (!list) return out.fail(Error{"server_error", "the reply has no \"artifacts\" array"});
    std::string text;
    for (std::size_t i = 0; i < list->size(); ++i)
      text += describe(list->getObject(static_cast<unsigned>(i))) + "\n";
    if (list->size() == 0) text = "no artifacts\n";
    return out.done(text, json::stringify(r.value()));
  }
  std::string name = pp->parsed.args.get("name").value_or(std::filesystem::path(file).filename().string());
  auto r = c.uploadFile("/api/v1/artifacts?name=" + urlEncode(name), file);
  if (!r) return out.fail(r.error());
  const auto& a = r.value();
  std::string text = std::string(a->optValue<bool>("created", false) ? "uploaded" : "already stored") + "\n" +
                     "sha256=" + a->optValue<std::string>("sha256", "") + "\n" +
                     "size=" + std::to_string(a->optValue<Poco::Int64>("size", 0));
  return out.done(text, json::stringify(a));
}

}  // namespace keyturn::cli
