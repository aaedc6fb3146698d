// One coordinator with its tenant, set up exactly as docs/coordinator.md tells an
// operator: `keyturn-server init`, keys for alice, bob, carol and dave made with
// `keyturn key new`, a roster naming the data folder's issuer.pub.json, `keyturn bundle
// new` + two `keyturn bundle sign`, the bundle copied into the data folder, then
// `keyturn-server run --port 0`. Every admin has their own HOME and logs in with
// `keyturn login`.
//
// Roster: alice (maa-admins, device-admins), bob (maa-admins, device-approvers),
// carol (auditors: reads every request and the audit log, approves nothing), dave
// (device-approvers). alice (device-admins) may also enroll devices and upload artifacts. Bundle updates: 2 of maa-admins.
// Policy: device.wipe needs 1 approval from device-approvers, device.restart 2.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api_client.h"
#include "program.h"
#include "server_process.h"
#include "temp_dir.h"

namespace keyturn::test {

// What a test may change in the tenant: the policy folder of bundle v1 (default: the
// integration policy above), groups added to the admins' own, and lines appended to the
// coordinator's keyturn-server.properties (e.g. "keyturn.agents.redelivery_s = 5").
struct TenantOptions {
  std::string policies;
  std::map<std::string, std::vector<std::string>> extraGroups;
  std::vector<std::string> serverProperties;
};

class Tenant {
 public:
  explicit Tenant(const TenantOptions& options = {});

  // `keyturn ARGS` as `admin` (their HOME); "" runs with an empty HOME (no profile).
  ProgramRun cli(const std::string& admin, const std::vector<std::string>& args,
                 const std::map<std::string, std::string>& env = {});
  // `keyturn login` for `admin`; REQUIREs success.
  void login(const std::string& admin);
  // `keyturn request submit ...` as `admin`; REQUIREs exit 0 and returns the id.
  std::string submit(const std::string& admin, const std::vector<std::string>& args);

  // The session token from `admin`'s profile (for the raw client).
  std::string session(const std::string& admin);
  ApiClient api() const { return ApiClient(ca, port); }
  std::string url() const { return "https://localhost:" + std::to_string(port); }

  // Enrolls a device through the API (enrollment code from alice, then
  // POST /api/v1/agent/enroll with a fresh P-256 key and these facts); REQUIREs 201.
  void enroll(const std::string& device, const std::string& factsJson);
  // The agent's mutual-TLS client for an enrolled device.
  ApiClient agent(const std::string& device) const;

  std::string key(const std::string& admin) const { return tmp / ("keys/" + admin + ".key"); }
  std::string home(const std::string& admin) const { return tmp / ("home-" + admin); }
  // The roster of bundle v1 (tmp/roster.json) for these admins' groups, as written.
  static std::string roster(const std::string& issuerPub,
                            const std::map<std::string, std::vector<std::string>>& groups);

  TempDir tmp;
  std::string data;
  std::string ca;
  int port = 0;
  std::map<std::string, std::vector<std::string>> groups;  // admin -> groups in v1
  std::unique_ptr<ServerProcess> server;
};

// The parsed JSON object of a CLI's -o json output; REQUIREs it parses.
Poco::JSON::Object::Ptr jsonOf(const ProgramRun& run);

}  // namespace keyturn::test
