#include "app/init_command.h"

#include "store/sqlite_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <ostream>

#include "keyturn/crypto_util.h"
#include "keyturn/ed25519.h"
#include "keyturn/json.h"
#include "tls/certificate_authority.h"

namespace keyturn::server {
namespace {

namespace fs = std::filesystem;

constexpr const char* kUsage =
    "usage: keyturn-server init --data DIR --tenant NAME [--hostname H]\n"
    "  Creates DIR (0700) with the issuer key, a private CA, a server certificate for H\n"
    "  (default: this machine's name) and keyturn-server.properties.\n";

bool validTenant(const std::string& t) {
  return !t.empty() && t.size() <= 64 && std::all_of(t.begin(), t.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '_' || c == '-';
  });
}

std::string defaultHostname() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0 || !tls::validHostname(buf)) return "localhost";
  return buf;
}

// Creates the folder 0700, or tightens an existing one to 0700 (it will hold keys).
Status makePrivateDir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::fail("io", "cannot create " + dir + ": " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0)
    return Status::fail("io", "cannot chmod 700 " + dir + ": " + std::strerror(errno));
  return Status::ok();
}

}  // namespace

Result<ServerConfig> InitCommand::initialize(const std::string& dataDir, const std::string& tenant,
                                             const std::string& hostname) {
  using R = Result<ServerConfig>;
  if (!validTenant(tenant)) return R::fail("usage", "--tenant must match [A-Za-z0-9._-]{1,64}");
  if (!tls::validHostname(hostname))
    return R::fail("usage", "--hostname is not a valid DNS name or IP address: " + hostname);
  ServerConfig config = ServerConfig::defaultsFor(dataDir, tenant, hostname);
  std::string issuerPub = (fs::path(config.issuerKey).parent_path() / "issuer.pub.json").string();
  for (const std::string& path : {configPath(dataDir), config.issuerKey, issuerPub, config.caKey,
                                  config.caCertificate, config.tlsKey, config.tlsCertificate}) {
    if (fs::exists(path))
      return R::fail("already_initialized",
                     path + " already exists; this folder was initialized before");
  }
  if (Status s = makePrivateDir(dataDir); !s) return R(s.error());

  Ed25519PrivateKey issuer = Ed25519PrivateKey::generate();
  if (Status s = issuer.save(config.issuerKey); !s) return R(s.error());
  const Ed25519PublicKey& pub = issuer.publicKey();
  std::string pubJson = "{\"id\":\"issuer\",\"kid\":" + json::quote(pub.kid()) +
                        ",\"x\":" + json::quote(pub.x()) + "}\n";
  if (std::string err = writeFileAtomic(issuerPub, pubJson, 0644); !err.empty())
    return R::fail("io", err);

  auto ca = tls::CertificateAuthority::create("Keyturn CA " + tenant);
  if (!ca) return R(ca.error());
  if (Status s = ca->save(config.caKey, config.caCertificate); !s) return R(s.error());
  auto serverKey = tls::TlsKey::generate();
  if (!serverKey) return R(serverKey.error());
  auto serverCert = ca->issueServerCertificate(serverKey.value(), hostname);
  if (!serverCert) return R(serverCert.error());
  if (Status s = serverKey->save(config.tlsKey); !s) return R(s.error());
  if (Status s = serverCert->save(config.tlsCertificate); !s) return R(s.error());
  // The config goes last: its presence is what marks the folder as initialized.
  // The database last: its schema is migrated now, so `run` starts on a known version.
  if (auto store = SqliteStore::open(config.database); !store) return R(store.error());
  if (Status s = config.save(dataDir); !s) return R(s.error());
  return config;
}

int InitCommand::run(int argc, char** argv, std::ostream& out, std::ostream& err) {
  std::string data, tenant, hostname;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      out << kUsage;
      return 0;
    }
    std::string* target = arg == "--data"       ? &data
                          : arg == "--tenant"   ? &tenant
                          : arg == "--hostname" ? &hostname
                                                : nullptr;
    if (target == nullptr || i + 1 >= argc) {
      err << "keyturn-server init: " << (target ? "missing value for " : "unknown option ") << arg
          << "\n"
          << kUsage;
      return 2;
    }
    *target = argv[++i];
  }
  if (data.empty() || tenant.empty()) {
    err << "keyturn-server init: --data and --tenant are required\n" << kUsage;
    return 2;
  }
  if (hostname.empty()) hostname = defaultHostname();
  auto config = initialize(data, tenant, hostname);
  if (!config) {
    err << "keyturn-server init: " << config.reason() << ": " << config.detail() << "\n";
    return config.reason() == "usage" ? 2 : 1;
  }
  auto fingerprint = tls::Certificate::load(config->caCertificate);
  fs::path dir = fs::path(config->bundle).parent_path();
  out << "Initialized " << dir.string() << " for tenant " << tenant << " (hostname " << hostname
      << ").\n"
      << "  issuer key      " << config->issuerKey << " (public: issuer.pub.json)\n"
      << "  CA certificate  " << config->caCertificate << " (SHA-256 "
      << (fingerprint ? fingerprint->fingerprintSha256() : "?") << ")\n"
      << "  server cert     " << config->tlsCertificate << "\n"
      << "  config          " << configPath(data) << "\n\n"
      << "Next, the bundle ceremony (the server refuses admins and agents until it is done):\n"
      << "  1. each initial admin runs `keyturn key new --id NAME` and hands over NAME.pub.json\n"
      << "  2. write roster.json with those keys and " << dir.string() << "/issuer.pub.json\n"
      << "  3. keyturn bundle new --roster roster.json --policies policies/ --version 1 "
         "--out bundle.json\n"
      << "  4. the threshold of admins each run `keyturn bundle sign --bundle bundle.json "
         "--key NAME.key`\n"
      << "  5. cp bundle.json " << config->bundle << "\n"
      << "  6. keyturn-server run --data " << dir.string() << "\n"
      << "Give admins and agents ca.pem (or its SHA-256 above) to trust this server.\n";
  return 0;
}

}  // namespace keyturn::server
