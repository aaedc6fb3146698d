// A real `keyturn-server run` process for the coordinator benchmarks, set up the way
// tests/server_app does it (InitCommand, then the binary on an ephemeral loopback port)
// but under the unit tests' deterministic tenant (tests/unit/fixtures.h: alice, bob,
// carol, dave, erin and the default test policies, where a corporate wipe needs one
// device-approver). Sessions are arranged in the database before the server starts;
// agents enroll through the real API and get real client certificates.
//
// Setup failures throw std::runtime_error: a benchmark has no test framework to report to.
#pragma once

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPSClientSession.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "app/server_config.h"
#include "service/workflow.h"
#include "store/sqlite_store.h"
#include "fixtures.h"
#include "server_process.h"
#include "temp_dir.h"

namespace keyturn::bench {

// One reply over a kept-alive connection.
struct Reply {
  int status = 0;
  std::string etag;
  std::string body;
};

// A persistent HTTPS connection (Poco::Net::HTTPSClientSession, keep-alive) trusting only
// `caFile`; with `certFile`/`keyFile` it presents that client certificate (an agent).
class KeepAliveClient {
 public:
  KeepAliveClient(const std::string& caFile, int port, const std::string& certFile = "",
                  const std::string& keyFile = "");
  Reply send(const std::string& method, const std::string& path, const std::string& body = "",
             const std::map<std::string, std::string>& headers = {});

 private:
  Poco::Net::Context::Ptr context_;
  Poco::Net::HTTPSClientSession session_;
};

struct Agent {
  std::string device;
  std::string certFile;
  std::string keyFile;
};

class BenchServer {
 public:
  // Inits a data folder, writes bundle v1 (fixture tenant, signed by alice and bob, the
  // data folder's issuer, role devices.enroll for device-admins), opens a session for
  // every admin, inserts `deviceIds` as corporate linux devices, starts the server.
  explicit BenchServer(const std::vector<std::string>& deviceIds = {});
  ~BenchServer();

  // Enrolls `device` through POST /api/v1/agent/enroll with a fresh P-256 key.
  Agent enroll(const std::string& device);
  std::unique_ptr<KeepAliveClient> client() const {
    return std::make_unique<KeepAliveClient>(config.caCertificate, port);
  }
  std::unique_ptr<KeepAliveClient> agentClient(const Agent& a) const {
    return std::make_unique<KeepAliveClient>(config.caCertificate, port, a.certFile, a.keyFile);
  }
  std::string bearer(const std::string& admin) const { return "Bearer " + sessions.at(admin); }

  keyturn::test::Tenant tenant;
  keyturn::test::TempDir tmp;
  std::string dir;
  server::ServerConfig config;
  std::map<std::string, std::string> sessions;  // admin -> session token
  std::unique_ptr<keyturn::test::ServerProcess> process;
  int port = 0;
};

// A Workflow over a fresh durable SqliteStore in a temporary folder, as the service-layer
// benchmarks (lifecycle, fanout, notify) measure it; publishing a bundle is a no-op.
struct ServiceBench {
  explicit ServiceBench(const keyturn::test::Tenant& tenant, bool notifications = true);
  keyturn::test::TempDir tmp;
  std::unique_ptr<server::SqliteStore> store;
  const AcceptedBundle bundle;
  std::unique_ptr<server::Workflow> workflow;
};

// Inserts `id` as an enrolled corporate linux device, enrolled at `at`.
void insertCorporateDevice(server::Store& store, const std::string& id, std::int64_t at);

// Throws std::runtime_error(what + detail) unless `ok`.
void require(bool ok, const std::string& what, const std::string& detail = "");

}  // namespace keyturn::bench
