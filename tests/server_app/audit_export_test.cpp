// Continuous audit export (issue 7): a JSON-lines file that `keyturn audit verify --file`
// accepts and that continues across restarts without a gap or a repeat; RFC 5424 syslog
// over TCP (octet counting), TLS and UDP to socket listeners on loopback, each record
// carrying its chain link, the copies verifying too.
#include <Poco/Net/Context.h>
#include <Poco/Net/DatagramSocket.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Util/MapConfiguration.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "app/audit_export.h"
#include "app/init_command.h"
#include "keyturn/audit_chain.h"
#include "keyturn/crypto_util.h"
#include "store/sqlite_store.h"
#include "temp_dir.h"

using namespace keyturn;
using namespace keyturn::server;
using namespace keyturn::test;

namespace {

void append(SqliteStore& store, int from, int to) {
  for (int i = from; i < to; ++i)
    REQUIRE(store.appendAudit({"alice", "request.approved", "r-" + std::to_string(i),
                               "{\"notes\":\"line " + std::to_string(i) + " \\\"quoted\\\"\"}"},
                              1'800'000'000 + i));
}

Result<AuditExportConfig> configOf(const std::map<std::string, std::string>& props,
                                   const std::string& dir) {
  Poco::AutoPtr<Poco::Util::MapConfiguration> p(new Poco::Util::MapConfiguration);
  for (const auto& [k, v] : props) p->setString(k, v);
  return AuditExportConfig::load(*p, dir, "kt.example");
}

// `keyturn audit verify --file` (the real CLI): its exit status.
int cliVerify(const std::string& file) {
  int rc = std::system((std::string(KEYTURN_CLI_BINARY) + " audit verify --file " + file +
                        " > /dev/null 2>&1")
                           .c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// The JSON lines inside syslog messages, written to `file`.
void jsonOfMessages(const std::vector<std::string>& messages, const std::string& file) {
  std::ofstream out(file);
  for (const auto& m : messages) {
    auto at = m.find("] {");
    REQUIRE(at != std::string::npos);
    out << m.substr(at + 2) << "\n";
  }
}

// Reads RFC 6587 octet-counted frames from `in` until `count` messages arrived.
std::vector<std::string> readFrames(Poco::Net::StreamSocket& in, std::size_t count) {
  std::vector<std::string> out;
  std::string buf;
  char chunk[4096];
  in.setReceiveTimeout(Poco::Timespan(10, 0));
  while (out.size() < count) {
    std::size_t sp = buf.find(' ');
    if (sp != std::string::npos) {
      std::size_t len = std::stoul(buf.substr(0, sp));
      if (buf.size() >= sp + 1 + len) {
        out.push_back(buf.substr(sp + 1, len));
        buf.erase(0, sp + 1 + len);
        continue;
      }
    }
    int n = in.receiveBytes(chunk, sizeof chunk);
    if (n <= 0) break;
    buf.append(chunk, static_cast<std::size_t>(n));
  }
  return out;
}

}  // namespace

TEST_CASE("audit export to a file verifies and continues across restarts without repeats",
          "[audit][export]") {
  TempDir tmp;
  auto opened = SqliteStore::open(tmp / "k.db");
  REQUIRE(opened);
  auto& store = *opened.value();
  std::ostringstream logText;
  LogSink log(LogSink::Format::kText, logText);
  append(store, 0, 5);
  const std::string file = tmp / "siem.jsonl";
  auto config = configOf({{"keyturn.audit.export.file", file}}, tmp.path.string());
  REQUIRE(config);
  {
    AuditExporter exporter(store, log, config.value());
    REQUIRE(exporter.runOnce());
  }
  auto report = audit::verifyJsonLinesFile(file);
  REQUIRE(report);
  CHECK(report->ok());
  CHECK(report->entries == 5);
  // "Restart": a new exporter continues from the file's last line.
  append(store, 5, 12);
  {
    AuditExporter exporter(store, log, config.value());
    REQUIRE(exporter.runOnce());
    REQUIRE(exporter.runOnce());  // nothing new: nothing written
  }
  report = audit::verifyJsonLinesFile(file);
  REQUIRE(report);
  CHECK(report->ok());
  CHECK(report->entries == 12);
  CHECK(cliVerify(file) == 0);

  // A file from another chain is never appended to.
  TempDir other;
  auto otherStore = SqliteStore::open(other / "k.db");
  REQUIRE(otherStore);
  append(*otherStore.value(), 100, 103);
  AuditExporter wrong(*otherStore.value(), log, config.value());
  Status s = wrong.runOnce();
  CHECK(s.reason() == "broken");
  CHECK(audit::verifyJsonLinesFile(file)->entries == 12);
  // Bad configuration names the key.
  auto bad = configOf({{"keyturn.audit.export.syslog", "http://x:1"}}, tmp.path.string());
  CHECK_THAT(bad.detail(), Catch::Contains("keyturn.audit.export.syslog"));
  bad = configOf({{"keyturn.audit.export.file", "relative.jsonl"}}, tmp.path.string());
  CHECK_THAT(bad.detail(), Catch::Contains("keyturn.audit.export.file"));
}

TEST_CASE("audit export as RFC 5424 syslog over TCP and UDP carries the chain link",
          "[audit][export][syslog]") {
  TempDir tmp;
  auto opened = SqliteStore::open(tmp / "k.db");
  REQUIRE(opened);
  auto& store = *opened.value();
  std::ostringstream logText;
  LogSink log(LogSink::Format::kText, logText);
  append(store, 0, 6);

  Poco::Net::ServerSocket tcp(Poco::Net::SocketAddress("127.0.0.1:0"));
  auto config = configOf({{"keyturn.audit.export.syslog",
                           "tcp://127.0.0.1:" + std::to_string(tcp.address().port())}},
                         tmp.path.string());
  REQUIRE(config);
  std::vector<std::string> messages;
  std::thread reader([&] {
    if (!tcp.poll(Poco::Timespan(20, 0), Poco::Net::Socket::SELECT_READ)) return;
    Poco::Net::StreamSocket in = tcp.acceptConnection();
    messages = readFrames(in, 9);
  });
  Status first, second;
  {
    AuditExporter exporter(store, log, config.value());
    first = exporter.runOnce();
    append(store, 6, 9);
    second = exporter.runOnce();
  }
  reader.join();
  REQUIRE(first);
  REQUIRE(second);
  REQUIRE(messages.size() == 9);
  CHECK(messages[0].rfind("<109>1 2027-01-15T08:00:00Z kt.example keyturn-server ", 0) == 0);
  CHECK_THAT(messages[0], Catch::Contains(" request.approved [keyturn@32473 seq=\"1\" prev=\"" +
                                          std::string(64, '0') + "\" hash=\""));
  jsonOfMessages(messages, tmp / "from-syslog.jsonl");
  auto report = audit::verifyJsonLinesFile(tmp / "from-syslog.jsonl");
  REQUIRE(report);
  CHECK(report->ok());
  CHECK(report->entries == 9);
  CHECK(cliVerify(tmp / "from-syslog.jsonl") == 0);
  // The cursor survived: a new exporter sends nothing already sent.
  CHECK(readFile(tmp / "audit-export.syslog", 64).value() == "9\n");

  Poco::Net::DatagramSocket udp(Poco::Net::SocketAddress("127.0.0.1:0"), true);
  udp.setReceiveTimeout(Poco::Timespan(10, 0));
  TempDir udpState;
  auto udpConfig = configOf({{"keyturn.audit.export.syslog",
                              "udp://127.0.0.1:" + std::to_string(udp.address().port())}},
                            udpState.path.string());
  REQUIRE(udpConfig);
  AuditExporter udpExporter(store, log, udpConfig.value());
  REQUIRE(udpExporter.runOnce());
  std::vector<std::string> datagrams;
  char buf[65536];
  for (int i = 0; i < 9; ++i) {
    int n = udp.receiveBytes(buf, sizeof buf);
    REQUIRE(n > 0);
    datagrams.emplace_back(buf, static_cast<std::size_t>(n));
  }
  jsonOfMessages(datagrams, tmp / "from-udp.jsonl");
  CHECK(audit::verifyJsonLinesFile(tmp / "from-udp.jsonl")->ok());
}

TEST_CASE("audit export over syslog TLS verifies the collector's certificate",
          "[audit][export][syslog]") {
  Poco::Net::initializeSSL();
  TempDir tmp;
  auto pki = InitCommand::initialize(tmp / "data", "contoso", "localhost");
  REQUIRE(pki);
  auto opened = SqliteStore::open(tmp / "k.db");
  REQUIRE(opened);
  auto& store = *opened.value();
  std::ostringstream logText;
  LogSink log(LogSink::Format::kText, logText);
  append(store, 0, 3);
  Poco::Net::Context::Ptr serverContext = new Poco::Net::Context(
      Poco::Net::Context::TLS_SERVER_USE, pki->tlsKey, pki->tlsCertificate, "",
      Poco::Net::Context::VERIFY_NONE);
  Poco::Net::SecureServerSocket tls(Poco::Net::SocketAddress("127.0.0.1:0"), 64, serverContext);
  const std::string url = "tls://localhost:" + std::to_string(tls.address().port());
  std::vector<std::string> messages;
  std::thread reader([&] {
    try {
      if (!tls.poll(Poco::Timespan(20, 0), Poco::Net::Socket::SELECT_READ)) return;
      Poco::Net::StreamSocket in = tls.acceptConnection();
      messages = readFrames(in, 3);
    } catch (const Poco::Exception&) {
    }
  });
  Status s;
  {
    auto config = configOf({{"keyturn.audit.export.syslog", url},
                            {"keyturn.audit.export.syslog.ca_file", pki->caCertificate}},
                           tmp.path.string());
    REQUIRE(config);
    AuditExporter exporter(store, log, config.value());
    s = exporter.runOnce();
  }
  reader.join();
  INFO((s ? "" : s.detail()));
  REQUIRE(s);
  REQUIRE(messages.size() == 3);
  jsonOfMessages(messages, tmp / "from-tls.jsonl");
  CHECK(audit::verifyJsonLinesFile(tmp / "from-tls.jsonl")->ok());

  // Without the collector's CA the handshake fails and nothing is marked sent.
  TempDir state;
  auto untrusted = configOf({{"keyturn.audit.export.syslog", url}}, state.path.string());
  REQUIRE(untrusted);
  std::thread refuse([&] {
    try {
      if (!tls.poll(Poco::Timespan(20, 0), Poco::Net::Socket::SELECT_READ)) return;
      Poco::Net::StreamSocket in = tls.acceptConnection();
      char b[16];
      in.receiveBytes(b, sizeof b);
    } catch (...) {
    }
  });
  AuditExporter bad(store, log, untrusted.value());
  CHECK_FALSE(bad.runOnce());
  refuse.join();
  CHECK_FALSE(std::filesystem::exists(state / "audit-export.syslog"));
}
