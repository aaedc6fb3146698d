// keyturn login: challenge–response with the admin's key, then a profile (0600).
#include <filesystem>

#include "cli_output.h"
#include "keyturn/json.h"
#include "keyturn/token.h"
#include "online/online_client.h"
#include "online/online_commands.h"

namespace keyturn::cli {
namespace {

constexpr const char* kHelp =
    "usage: keyturn login --server https://HOST:PORT --ca CA.pem --id ID --key ID.key [-o json]\n"
    "  Proves the admin's identity by signing the coordinator's challenge with the key, and\n"
    "  keeps the server, CA, id, key path and the session (15 minutes at most) in\n"
    "  $XDG_CONFIG_HOME/keyturn/profile.json (default ~/.config/keyturn/profile.json, 0600).\n"
    "  Later commands log in again by themselves with the key when the session ends.\n"
    "  Options not given are taken from the existing profile or KEYTURN_SERVER, KEYTURN_CA,\n"
    "  KEYTURN_ID, KEYTURN_KEY. Exit 0 logged in, 1 refused, 2 usage, 3 server unreachable.\n";

std::string absolute(const std::string& path) {
  std::error_code ec;
  auto p = std::filesystem::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

}  // namespace

int loginCommand(int argc, char** argv) {
  auto p = parseCommand(argc, argv, {{"server", "ca", "id", "key"}, {}, {}}, kHelp, 2);
  if (!p) return p.reason() == "help" ? 0 : 2;
  auto profile = Profile::load();
  if (!profile) return p->out.fail(profile.error());
  Profile next = profile.value();
  if (auto v = p->args.get("server")) next.server = *v;
  if (auto v = p->args.get("ca")) next.ca = absolute(*v);
  if (auto v = p->args.get("id")) next.id = *v;
  if (auto v = p->args.get("key")) next.key = absolute(*v);
  while (!next.server.empty() && next.server.back() == '/') next.server.pop_back();
  next.session.clear();
  next.expires = 0;
  next.overridden = false;  // an explicit login is saved, whatever set its members
  if (!validPrincipalId(next.id) && !next.id.empty())
    return p->out.fail(
        Error{"usage", "--id \"" + next.id + "\" is not a principal id ([A-Za-z0-9._@-]{1,64})"});
  auto client = OnlineClient::openWith(next);
  if (!client) return p->out.fail(client.error());
  if (Status s = client.value()->login(); !s) return p->out.fail(s.error());
  const Profile& done = client.value()->profile();
  return p->out.done(
      "logged in to " + done.server + " as " + done.id + " (tenant " + done.tenant +
          "); session until " + isoTime(done.expires) + "\nprofile: " + Profile::path(),
      "{\"server\":" + json::quote(done.server) + ",\"principal\":" + json::quote(done.id) +
          ",\"tenant\":" + json::quote(done.tenant) + ",\"expires\":" +
          std::to_string(done.expires) + ",\"profile\":" + json::quote(Profile::path()) + "}");
}

}  // namespace keyturn::cli
