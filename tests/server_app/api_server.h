// A running `keyturn-server` with bundle v1 in force, for the API tests:
// deterministic Ed25519 keys for alice (maa-admins, device-admins), bob
// (maa-admins) and carol (no group with a role); roles devices.enroll ->
// device-admins, audit.read -> maa-admins, artifacts.write -> device-admins. Helpers log in through the real
// challenge–response and enroll agents with real certificates, so every test
// talks to the server the way the CLI and the agent do.
#pragma once

#include <Poco/JSON/Object.h>

#include <functional>
#include <memory>
#include <string>

#include "app/server_config.h"
#include "https_client.h"
#include "keyturn/ed25519.h"
#include "server_process.h"
#include "store/sqlite_store.h"
#include "temp_dir.h"

namespace keyturn::test {

// keyturn.artifacts.max_bytes of the test server (small, so the limit is testable).
inline constexpr std::uint64_t kArtifactMaxBytes = 1024 * 1024;

// The same key every run: seed = 32 copies of `n`.
Ed25519PrivateKey testKey(std::uint8_t n);

struct EnrolledAgent {
  std::string device;
  std::string certFile; // PEM files in the test's temp folder
  std::string keyFile;
};

class ApiServer {
public:
  // `configure` may change the configuration init wrote before the server starts.
  explicit ApiServer(const std::function<void(server::ServerConfig &)> &configure = {});
  ~ApiServer();

  // Plain HTTPS (no client certificate) and with a session.
  HttpReply send(const std::string &method, const std::string &path,
                 const std::string &body = "", const Headers &headers = {});
  HttpReply sendAs(const std::string &session, const std::string &method,
                   const std::string &path, const std::string &body = "");
  // Mutual TLS as an enrolled agent.
  HttpReply agent(const EnrolledAgent &a, const std::string &method,
                  const std::string &path, const std::string &body = "",
                  const Headers &headers = {});

  // Challenge, signLogin with `key`, login; returns the session (REQUIREs 200).
  std::string login(const std::string &principal, const Ed25519PrivateKey &key);
  // A fresh enrollment code made by alice.
  std::string enrollmentCode();
  // Generates a P-256 key, enrolls with a fresh code as `deviceId` (facts
  // optional).
  EnrolledAgent enroll(const std::string &deviceId,
                       const std::string &factsJson = "");
  // A second connection to the server's database, for arranging rows the API
  // cannot.
  std::unique_ptr<server::SqliteStore> openStore();

  TempDir tmp;
  std::string dir;
  server::ServerConfig config;
  std::unique_ptr<ServerProcess> process;
  int port = 0;
  std::string aliceSession;
};

Poco::JSON::Object::Ptr parseBody(const HttpReply &reply);

} // namespace keyturn::test
