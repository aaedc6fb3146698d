#include "bench_server.h"

#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <ctime>
#include <sstream>
#include <stdexcept>

#include "app/auth.h"
#include "app/init_command.h"
#include "keyturn/bundle.h"
#include "keyturn/crypto_util.h"
#include "keyturn/json.h"
#include "store/sqlite_store.h"
#include "tls/tls_key.h"

namespace keyturn::bench {

void insertCorporateDevice(server::Store& store, const std::string& id, std::int64_t at) {
  server::DeviceRecord rec{id, "fp-" + id,
                           "{\"id\":" + json::quote(id) + ",\"ownership\":\"corporate\",\"platform\":\"linux\"}",
                           at, std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt};
  require(bool(store.insertDevice(rec, std::nullopt)), "inserting device " + id);
}

namespace {
std::unique_ptr<server::SqliteStore> openStore(const std::string& path) {
  auto opened = server::SqliteStore::open(path);
  require(bool(opened), "opening the store ", opened ? "" : opened.detail());
  return std::move(opened).value();
}
}  // namespace

ServiceBench::ServiceBench(const keyturn::test::Tenant& tenant, bool notifications)
    : store(openStore(tmp / "keyturn.db")), bundle(tenant.v1()) {
  server::WorkflowOptions wo;
  wo.tenant = "contoso";
  wo.bundleDir = tmp / "bundles";
  wo.notifications = notifications;
  workflow = std::make_unique<server::Workflow>(
      *store, tenant.issuer, wo, [] { return keyturn::test::kNow; },
      [](std::shared_ptr<const AcceptedBundle>) { return Status::ok(); });
}

void require(bool ok, const std::string& what, const std::string& detail) {
  if (!ok) throw std::runtime_error(what + (detail.empty() ? "" : ": " + detail));
}

KeepAliveClient::KeepAliveClient(const std::string& caFile, int port, const std::string& certFile,
                                 const std::string& keyFile)
    : context_(new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, keyFile, certFile,
                                      caFile, Poco::Net::Context::VERIFY_STRICT, 9, false)),
      session_("localhost", static_cast<Poco::UInt16>(port), context_) {
  session_.setKeepAlive(true);
  session_.setTimeout(Poco::Timespan(40, 0));
}

Reply KeepAliveClient::send(const std::string& method, const std::string& path,
                            const std::string& body,
                            const std::map<std::string, std::string>& headers) {
  Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  request.setKeepAlive(true);
  if (!body.empty()) {
    request.setContentType("application/json");
    request.setContentLength(static_cast<std::streamsize>(body.size()));
  }
  for (const auto& [name, value] : headers) request.set(name, value);
  session_.sendRequest(request) << body;
  Poco::Net::HTTPResponse response;
  std::istream& in = session_.receiveResponse(response);
  Reply reply;
  reply.status = static_cast<int>(response.getStatus());
  reply.etag = response.get("ETag", "");
  std::ostringstream text;
  Poco::StreamCopier::copyStream(in, text);
  reply.body = text.str();
  return reply;
}

BenchServer::BenchServer(const std::vector<std::string>& deviceIds) {
  dir = tmp / "data";
  auto c = server::InitCommand::initialize(dir, "contoso", "localhost");
  require(bool(c), "keyturn-server init", c ? "" : c.detail());
  config = c.value();
  config.bind = "127.0.0.1:8443";  // loopback only; the port is replaced by --port 0
  require(bool(config.save(dir)), "saving the configuration");

  auto issuerText = readFile(dir + "/issuer.pub.json", 4096);
  require(bool(issuerText), "reading issuer.pub.json");
  auto issuer = json::parseObject(*issuerText);
  require(bool(issuer), "parsing issuer.pub.json");
  const auto now = static_cast<std::uint64_t>(std::time(nullptr));
  BundleDraft d = tenant.draft(1);
  d.issued = now - 60;
  d.expires = now + 30 * 86400;
  d.issuersX = {issuer.value()->getValue<std::string>("x")};
  d.roles["devices.enroll"] = {"device-admins"};
  d.roles["requests.read_all"] = {"maa-admins"};
  d.roles["artifacts.write"] = {"device-admins"};  // bench_agent artifact
  require(writeFileAtomic(config.bundle, tenant.sign(d, {"alice", "bob"}), 0644).empty(),
          "writing bundle.json");

  {
    auto store = server::SqliteStore::open(config.database);
    require(bool(store), "opening the database", store ? "" : store.detail());
    const auto at = static_cast<std::int64_t>(now);
    for (const auto& [admin, unused] : tenant.admins) {
      std::string token = "bench-session-" + admin;
      sessions[admin] = token;
      require(bool(store.value()->insertSession({server::secretHash(token), admin, at, at + 900})),
              "inserting a session");
    }
    for (const auto& id : deviceIds) {
      insertCorporateDevice(*store.value(), id, at);
    }
  }
  process = std::make_unique<keyturn::test::ServerProcess>(
      std::vector<std::string>{"run", "--data", dir, "--port", "0", "--log-format", "json"});
  std::string line = process->waitForLine("\"listening\"");
  require(!line.empty(), "keyturn-server run", process->stderrText());
  require(line.find("\"bundle_version\":1") != std::string::npos, "bundle v1 not accepted", line);
  port = keyturn::test::portFromLog(line);
  require(port > 0, "no port in", line);
}

BenchServer::~BenchServer() = default;

Agent BenchServer::enroll(const std::string& device) {
  auto admin = client();
  Reply code = admin->send("POST", "/api/v1/devices/enrollment-codes", "{}",
                           {{"Authorization", bearer("alice")}});
  require(code.status == 201, "enrollment code", code.body);
  auto key = tls::TlsKey::generate();
  require(bool(key), "generating a device key");
  Agent a{device, tmp / (device + ".pem"), tmp / (device + ".key")};
  require(bool(key->save(a.keyFile)), "saving the device key");
  std::string body =
      "{\"code\":" + json::quote(json::parseObject(code.body).value()->getValue<std::string>("code")) +
      ",\"device_id\":" + json::quote(device) + ",\"public_key\":" + json::quote(key->publicPem()) +
      ",\"facts\":{\"ownership\":\"corporate\",\"platform\":\"linux\"}}";
  Reply r = admin->send("POST", "/api/v1/agent/enroll", body);
  require(r.status == 201, "enrolling " + device, r.body);
  require(writeFileAtomic(a.certFile,
                          json::parseObject(r.body).value()->getValue<std::string>("certificate"),
                          0644)
              .empty(),
          "writing the device certificate");
  return a;
}

}  // namespace keyturn::bench
