#include "tenant.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>

#include "keyturn/crypto_util.h"
#include "keyturn/json.h"

namespace keyturn::test {
namespace {

constexpr const char* kPolicy = R"(return {
  name = "integration",
  actions = { "device.wipe", "device.restart" },
  evaluate = function(req, device)
    if req.action == "device.restart" then return { approvals = 2, group = "device-approvers" } end
    return { approvals = 1, group = "device-approvers" }
  end,
}
)";

void writeText(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

ProgramRun kit(const std::vector<std::string>& args) {
  return runProgram(KEYTURN_CLI_BINARY, args, {{"HOME", ""}, {"XDG_CONFIG_HOME", ""}});
}

void requireOk(const ProgramRun& r, const std::string& what) {
  INFO(what << "\nstdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(r.exit == 0);
}

}  // namespace

Poco::JSON::Object::Ptr jsonOf(const ProgramRun& run) {
  auto o = json::parseObject(run.out);
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  REQUIRE(o);
  return o.value();
}

std::string Tenant::roster(const std::string& issuerPub,
                           const std::map<std::string, std::vector<std::string>>& groups) {
  std::string principals;
  for (const auto& [admin, list] : groups) {
    std::string g;
    for (const auto& group : list) g += (g.empty() ? "" : ",") + json::quote(group);
    principals += std::string(principals.empty() ? "" : ",") + "{\"id\":" + json::quote(admin) +
                  ",\"groups\":[" + g + "],\"keys\":[\"keys/" + admin + ".pub.json\"]}";
  }
  return "{\"tenant\":\"contoso\",\"issuers\":[" + json::quote(issuerPub) + "],\"principals\":[" +
         principals +
         "],\"update\":{\"group\":\"maa-admins\",\"threshold\":2},"
         "\"roles\":{\"audit.read\":[\"maa-admins\",\"auditors\"],\"devices.enroll\":[\"device-"
         "admins\"],\"requests.read_all\":[\"maa-admins\",\"auditors\"],"
         "\"artifacts.write\":[\"device-admins\"]}}";
}

Tenant::Tenant(const TenantOptions& options) {
  namespace fs = std::filesystem;
  data = tmp / "data";
  requireOk(
      runProgram(KEYTURN_SERVER_BINARY,
                 {"init", "--data", data, "--tenant", "contoso", "--hostname", "localhost"}, {}),
      "keyturn-server init");
  ca = data + "/ca.pem";
  // Loopback only: the test server is never reachable from the network.
  std::string props = readFile(data + "/keyturn-server.properties", 1 << 20).value();
  props = std::regex_replace(props, std::regex("keyturn\\.bind *= *[^\\n]*"),
                             "keyturn.bind = 127.0.0.1:8443");
  for (const std::string& line : options.serverProperties) props += line + "\n";
  writeText(data + "/keyturn-server.properties", props);

  fs::create_directories(tmp / "keys");
  fs::create_directories(tmp / "policies");
  for (const char* admin : {"alice", "bob", "carol", "dave"}) {
    requireOk(kit({"key", "new", "--id", admin, "--out", key(admin)}),
              std::string("key new ") + admin);
    fs::create_directories(home(admin));
  }
  std::string policies = options.policies;
  if (policies.empty()) {
    writeText(tmp / "policies/integration.lua", kPolicy);
    policies = tmp / "policies";
  }
  groups = {{"alice", {"maa-admins", "device-admins"}},
            {"bob", {"maa-admins", "device-approvers"}},
            {"carol", {"auditors"}},
            {"dave", {"device-approvers"}}};
  for (const auto& [admin, more] : options.extraGroups)
    groups[admin].insert(groups[admin].end(), more.begin(), more.end());
  writeText(tmp / "roster.json", roster(data + "/issuer.pub.json", groups));
  std::string bundle = tmp / "bundle-v1.json";
  requireOk(kit({"bundle", "new", "--roster", tmp / "roster.json", "--policies", policies,
                 "--version", "1", "--out", bundle}),
            "bundle new");
  requireOk(kit({"bundle", "sign", "--bundle", bundle, "--key", key("alice")}),
            "bundle sign alice");
  requireOk(kit({"bundle", "sign", "--bundle", bundle, "--key", key("bob")}), "bundle sign bob");
  fs::copy_file(bundle, data + "/bundle.json");

  server = std::make_unique<ServerProcess>(
      std::vector<std::string>{"run", "--data", data, "--port", "0", "--log-format", "json"});
  std::string line = server->waitForLine("\"listening\"");
  INFO(server->stderrText());
  REQUIRE(!line.empty());
  port = portFromLog(line);
  REQUIRE(port > 0);
  REQUIRE(line.find("\"bundle_version\":1") != std::string::npos);
  for (const char* admin : {"alice", "bob", "carol", "dave"}) login(admin);
}

ProgramRun Tenant::cli(const std::string& admin, const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env) {
  std::map<std::string, std::string> e{{"HOME", admin.empty() ? "" : home(admin)},
                                       {"XDG_CONFIG_HOME", ""},
                                       {"KEYTURN_SERVER", ""},
                                       {"KEYTURN_CA", ""},
                                       {"KEYTURN_ID", ""},
                                       {"KEYTURN_KEY", ""}};
  for (const auto& [k, v] : env) e[k] = v;
  return runProgram(KEYTURN_CLI_BINARY, args, e);
}

void Tenant::login(const std::string& admin) {
  auto r = cli(admin, {"login", "--server", url(), "--ca", ca, "--id", admin, "--key", key(admin)});
  requireOk(r, "keyturn login " + admin + "\nserver log: " + server->stderrText());
}

std::string Tenant::submit(const std::string& admin, const std::vector<std::string>& args) {
  std::vector<std::string> full{"request", "submit"};
  full.insert(full.end(), args.begin(), args.end());
  full.insert(full.end(), {"-o", "json"});
  auto r = cli(admin, full);
  requireOk(r, "request submit");
  return jsonOf(r)->getValue<std::string>("id");
}

std::string Tenant::session(const std::string& admin) {
  auto text = readFile(home(admin) + "/.config/keyturn/profile.json", 1 << 20);
  REQUIRE(text);
  return json::parseObject(*text).value()->getValue<std::string>("session");
}

void Tenant::enroll(const std::string& device, const std::string& factsJson) {
  auto code = cli("alice", {"device", "enroll-code", "-o", "json"});
  requireOk(code, "device enroll-code");
  std::string pub = makeDeviceKey(tmp / ("device-" + device + ".key"));
  auto reply = api().send("POST", "/api/v1/agent/enroll",
                          "{\"code\":" + json::quote(jsonOf(code)->getValue<std::string>("code")) +
                              ",\"device_id\":" + json::quote(device) + ",\"public_key\":" +
                              json::quote(pub) + ",\"facts\":" + factsJson + "}");
  INFO(reply.body);
  REQUIRE(reply.status == 201);
  std::ofstream(tmp / ("device-" + device + ".pem"))
      << reply.json->getValue<std::string>("certificate");
}

ApiClient Tenant::agent(const std::string& device) const {
  return ApiClient(ca, port, tmp / ("device-" + device + ".pem"),
                   tmp / ("device-" + device + ".key"));
}

}  // namespace keyturn::test
