// Where the online commands find the coordinator and the admin: a profile written by
// `keyturn login` to $XDG_CONFIG_HOME/keyturn/profile.json (default
// $HOME/.config/keyturn/profile.json), mode 0600 because it holds the session token.
// KEYTURN_SERVER, KEYTURN_CA, KEYTURN_ID and KEYTURN_KEY override its members.
#pragma once

#include <cstdint>
#include <string>

#include "keyturn/result.h"

namespace keyturn::cli {

struct Profile {
  std::string server;   // https://host:port
  std::string ca;       // path of the coordinator's CA certificate (PEM)
  std::string id;       // principal id
  std::string key;      // path of the admin's private key (never its contents)
  std::string tenant;   // learned at login
  std::string session;  // bearer token: a secret, never printed
  std::uint64_t expires = 0;
  // Set by load() when a KEYTURN_* variable changed a member: such a session is kept for
  // this command only, so the variables never leak into the stored profile.
  bool overridden = false;

  // The profile path for this environment; "" when neither XDG_CONFIG_HOME nor HOME is set.
  static std::string path();
  // Reads the profile if there is one (a missing file is an empty profile), then applies
  // the environment overrides. An override of server or id drops the stored session, which
  // belongs to the stored server and principal. Reasons: "io", "malformed",
  // "insecure_permissions" (the file is readable by group or others).
  static Result<Profile> load();
  // Writes the profile atomically with mode 0600, creating the folder 0700.
  Status save() const;
};

}  // namespace keyturn::cli
