// `keyturn-agent enroll`: makes the device key here (it never leaves), asks the
// coordinator for a client certificate with a one-time code, and takes the first trust
// bundle on the terms of `trust init` (spec section 3), then the rest of the chain one
// version at a time. Only when all of that passed is the configuration written.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>

#include "agent_config.h"
#include "command_args.h"
#include "commands.h"
#include "coordinator_client.h"
#include "device_facts.h"
#include "facts_file.h"
#include "keyturn/crypto_util.h"
#include "keyturn/json.h"
#include "keyturn/trust_store.h"

namespace keyturn::agent {

using tools::ArgSpec;
using tools::CommandArgs;
using tools::usageError;
namespace fs = std::filesystem;

namespace {

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;

std::string bioText(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

// A fresh P-256 key: every TLS stack we meet accepts it for client certificates.
Result<std::pair<std::string, std::string>> newDeviceKey() {
  Key key(EVP_EC_gen("P-256"));
  if (!key) return Result<std::pair<std::string, std::string>>::fail("io", "cannot generate the device key");
  std::unique_ptr<BIO, BioFree> priv(BIO_new(BIO_s_mem())), pub(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(priv.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) ||
      !PEM_write_bio_PUBKEY(pub.get(), key.get()))
    return Result<std::pair<std::string, std::string>>::fail("io", "cannot encode the device key");
  return std::make_pair(bioText(priv.get()), bioText(pub.get()));
}

// The SPKI PEM of the certificate's key, to check the coordinator certified our key.
std::string certificateKey(const std::string& pem) {
  std::unique_ptr<BIO, BioFree> in(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr));
  if (!cert) return "";
  Key key(X509_get_pubkey(cert.get()));
  std::unique_ptr<BIO, BioFree> out(BIO_new(BIO_s_mem()));
  if (!key || !PEM_write_bio_PUBKEY(out.get(), key.get())) return "";
  return bioText(out.get());
}

int reject(const std::string& reason, const std::string& detail) {
  std::cout << "{\"decision\":\"reject\",\"reason\":" << json::quote(reason) << ",\"detail\":" << json::quote(detail)
            << "}" << std::endl;
  std::cerr << "keyturn-agent enroll: " << reason << ": " << detail << "\n";
  return 1;
}

Status writeFile(const std::string& path, const std::string& data, unsigned mode) {
  if (std::string err = writeFileAtomic(path, data, mode); !err.empty()) return Status::fail("io", err);
  return Status::ok();
}

}  // namespace

int enrollCommand(int argc, char** argv) {
  auto args = CommandArgs::parse(
      argc, argv, 2,
      ArgSpec{{"server", "ca", "code", "facts", "expect-bundle-sha256", "config", "state", "device-id", "plugins"}, {}, {}});
  if (!args) return usageError(args.error());
  auto server = args->require("server");
  if (!server) return usageError(server.error());
  auto caPath = args->require("ca");
  if (!caPath) return usageError(caPath.error());
  auto code = args->require("code");
  if (!code) return usageError(code.error());
  if (auto hex = args->get("expect-bundle-sha256"); hex && (!fromHex(*hex) || hex->size() != 64))
    return usageError(Error{"usage", "--expect-bundle-sha256 must be 64 hex digits"});

  AgentConfig config;
  config.path = args->get("config").value_or(kDefaultConfigPath);
  config.server = server.value();
  while (!config.server.empty() && config.server.back() == '/') config.server.pop_back();
  config.stateDir = fs::absolute(args->get("state").value_or(kDefaultStateDir)).lexically_normal().string();
  config.pluginDir = args->get("plugins").value_or(kDefaultPluginDir);
  std::string requestedId = args->get("device-id").value_or("");
  if (auto factsPath = args->get("facts")) {
    auto facts = readFactsFile(*factsPath);
    if (!facts) return usageError(facts.error());
    if (!requestedId.empty() && requestedId != facts->id)
      return usageError(Error{"usage", "--device-id and the facts file's id differ"});
    requestedId = facts->id;
    config.ownership = facts->ownership;
    config.groups = facts->groups;
    config.tags = facts->tags;
    for (const auto& g : config.groups)
      if (g.find_first_of(",\n") != std::string::npos)
        return usageError(Error{"usage", "a group name in the facts file contains a comma or a line break"});
    for (const auto& [k, v] : config.tags)
      if ((k + v).find_first_of(",=\n") != std::string::npos)
        return usageError(Error{"usage", "a tag in the facts file contains a comma, '=' or a line break"});
  }
  std::error_code ec;
  if (fs::exists(config.path, ec))
    return reject("already_enrolled", config.path + " exists; this machine is enrolled (remove it to enroll again)");
  auto ca = readFile(caPath.value(), 1 << 20);
  if (!ca) return usageError(Error{"io", "cannot read --ca " + caPath.value() + ": " + std::strerror(errno)});

  auto trust = TrustStore::open(config.stateDir);
  if (!trust) return usageError(trust.error());
  if (trust->initialized())
    return reject("already_enrolled", config.stateDir + " already trusts a bundle; use an empty state folder");

  // The key is made here and written 0600 before anything is sent.
  auto key = newDeviceKey();
  if (!key) return usageError(key.error());
  if (Status s = writeFile(config.keyFile(), key->first, 0600); !s) return usageError(s.error());

  DetectedFacts detected = detectFacts();
  config.deviceId = requestedId;
  std::string body = "{\"code\":" + json::quote(code.value()) + ",\"public_key\":" + json::quote(key->second) +
                     (requestedId.empty() ? "" : ",\"device_id\":" + json::quote(requestedId)) +
                     ",\"facts\":" + factsReportJson(agentFacts(config, detected), detected.hostname) + "}";
  CoordinatorClient client(config.server, caPath.value());
  auto reply = client.send("POST", "/api/v1/agent/enroll", body);
  if (!reply) return reject(reply.reason(), reply.detail());
  auto answer = json::parseObject(reply->body);
  if (reply->status != 201) {
    std::string error = answer ? answer.value()->optValue<std::string>("error", "") : "";
    std::string detail = answer ? answer.value()->optValue<std::string>("detail", "") : reply->body;
    return reject(error.empty() ? "http_" + std::to_string(reply->status) : error, detail);
  }
  if (!answer) return reject("malformed", "the enrollment answer is not a JSON object");
  auto device = json::getString(*answer.value(), "device", "enrollment answer");
  auto certificate = json::getString(*answer.value(), "certificate", "enrollment answer");
  auto bundles = json::getArray(*answer.value(), "bundles", "enrollment answer");
  if (!device || !certificate || !bundles) return reject("malformed", "the enrollment answer lacks device, certificate or bundles");
  if (!requestedId.empty() && device.value() != requestedId)
    return reject("malformed", "the coordinator enrolled " + device.value() + ", not " + requestedId);
  if (certificateKey(certificate.value()) != key->second)
    return reject("malformed", "the certificate from the coordinator is not for this device's key");
  if (bundles.value()->size() == 0) return reject("malformed", "the coordinator sent no trust bundle");

  // The first bundle on the terms of `trust init`, then the chain one version at a time.
  std::int64_t now = std::time(nullptr);
  auto first = trust->init(json::stringify(bundles.value()->get(0)), args->get("expect-bundle-sha256"), now);
  if (!first) return reject(first.reason(), "first trust bundle: " + first.detail());
  std::uint64_t version = first.value();
  for (std::size_t i = 1; i < bundles.value()->size(); ++i) {
    auto next = trust->update(json::stringify(bundles.value()->get(static_cast<unsigned>(i))), now);
    if (!next) return reject(next.reason(), "trust bundle chain after v" + std::to_string(version) + ": " + next.detail());
    version = next.value();
  }

  config.deviceId = device.value();
  if (Status s = writeFile(config.certificateFile(), certificate.value(), 0644); !s) return usageError(s.error());
  if (Status s = writeFile(config.caFile(), ca.value(), 0644); !s) return usageError(s.error());
  fs::create_directories(fs::path(config.path).parent_path(), ec);
  if (Status s = writeFile(config.path, agentConfigText(config), 0600); !s) return usageError(s.error());
  std::cout << "{\"decision\":\"accept\",\"device\":" << json::quote(config.deviceId) << ",\"version\":" << version
            << ",\"config\":" << json::quote(config.path) << ",\"state\":" << json::quote(config.stateDir) << "}"
            << std::endl;
  return 0;
}

}  // namespace keyturn::agent
