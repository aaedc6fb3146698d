#include "app/audit_export.h"
#include "keyturn/time_format.h"

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/DatagramSocket.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/NumberParser.h>
#include <Poco/String.h>
#include <Poco/URI.h>
#include <Poco/Util/AbstractConfiguration.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "keyturn/audit_chain.h"
#include "keyturn/crypto_util.h"

namespace keyturn::server {
namespace {

constexpr std::int64_t kBatch = 500;

std::string rfc3339(std::int64_t t) { return utcTimestamp(t); }

// The last non-empty line of a file, or "" when it has none.
std::string lastLine(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return "";
  std::streamoff end = in.tellg();
  std::string tail;
  std::streamoff pos = end;
  const std::streamoff chunk = 64 * 1024;
  while (pos > 0) {
    std::streamoff from = std::max<std::streamoff>(0, pos - chunk);
    std::string buf(static_cast<std::size_t>(pos - from), '\0');
    in.seekg(from);
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    tail = buf + tail;
    pos = from;
    std::size_t trimmed = tail.find_last_not_of('\n');
    if (trimmed == std::string::npos) continue;
    std::size_t nl = tail.rfind('\n', trimmed);
    if (nl != std::string::npos) return tail.substr(nl + 1, trimmed - nl);
  }
  std::size_t trimmed = tail.find_last_not_of('\n');
  return trimmed == std::string::npos ? "" : tail.substr(0, trimmed + 1);
}

}  // namespace

struct AuditExporter::Sink {
  enum class Kind { kFile, kStdout, kUdp, kTcp, kTls } kind = Kind::kFile;
  std::string name;        // for the log
  std::string path;        // kFile
  std::string cursorFile;  // kStdout, syslog
  std::string host;
  int port = 0;
  std::string caFile;
  std::int64_t cursor = -1;  // last exported seq; -1 until known
  bool broken = false;       // a file from another chain: never written
  std::unique_ptr<Poco::Net::StreamSocket> stream;
  std::unique_ptr<Poco::Net::DatagramSocket> udp;
};

Result<AuditExportConfig> AuditExportConfig::load(const Poco::Util::AbstractConfiguration& p,
                                                  const std::string& dataDir,
                                                  const std::string& hostname) {
  using R = Result<AuditExportConfig>;
  AuditExportConfig c;
  c.file = Poco::trim(p.getString("keyturn.audit.export.file", ""));
  c.syslog = Poco::trim(p.getString("keyturn.audit.export.syslog", ""));
  c.syslogCaFile = Poco::trim(p.getString("keyturn.audit.export.syslog.ca_file", ""));
  c.hostname = hostname.empty() ? "-" : hostname;
  c.stateDir = dataDir;
  if (!c.file.empty() && c.file != "-" && c.file.front() != '/')
    return R::fail("malformed", "keyturn.audit.export.file must be an absolute path or -");
  if (!c.syslog.empty()) {
    try {
      Poco::URI uri(c.syslog);
      const std::string s = uri.getScheme();
      if ((s != "udp" && s != "tcp" && s != "tls") || uri.getHost().empty() || uri.getPort() == 0)
        throw Poco::SyntaxException("scheme or port");
    } catch (const Poco::Exception&) {
      return R::fail("malformed", "keyturn.audit.export.syslog must be udp://HOST:PORT, "
                                  "tcp://HOST:PORT or tls://HOST:PORT, got \"" + c.syslog + "\"");
    }
  }
  return c;
}

std::string syslogMessage(const AuditEntry& e, const std::string& hostname) {
  std::string msgid = e.event.substr(0, 32);
  for (char& ch : msgid)
    if (ch <= 32 || ch >= 127) ch = '_';
  // PRI 109 = facility 13 (log audit) * 8 + severity 5 (notice).
  return "<109>1 " + rfc3339(e.at) + " " + hostname + " keyturn-server " +
         std::to_string(::getpid()) + " " + (msgid.empty() ? "-" : msgid) +
         " [keyturn@32473 seq=\"" + std::to_string(e.seq) + "\" prev=\"" + e.prevHash +
         "\" hash=\"" + e.hash + "\"] " + audit::toJsonLine(e);
}

AuditExporter::AuditExporter(Store& store, LogSink& log, AuditExportConfig config)
    : store_(store), log_(log), config_(std::move(config)) {
  auto stateFile = [&](const char* name) {
    return (std::filesystem::path(config_.stateDir) / name).string();
  };
  if (config_.file == "-") {
    auto s = std::make_unique<Sink>();
    s->kind = Sink::Kind::kStdout;
    s->name = "stdout";
    s->cursorFile = stateFile("audit-export.stdout");
    sinks_.push_back(std::move(s));
  } else if (!config_.file.empty()) {
    auto s = std::make_unique<Sink>();
    s->kind = Sink::Kind::kFile;
    s->name = config_.file;
    s->path = config_.file;
    sinks_.push_back(std::move(s));
  }
  if (!config_.syslog.empty()) {
    Poco::URI uri(config_.syslog);
    auto s = std::make_unique<Sink>();
    s->kind = uri.getScheme() == "udp"   ? Sink::Kind::kUdp
              : uri.getScheme() == "tcp" ? Sink::Kind::kTcp
                                         : Sink::Kind::kTls;
    s->name = config_.syslog;
    s->host = uri.getHost();
    s->port = uri.getPort();
    s->caFile = config_.syslogCaFile;
    s->cursorFile = stateFile("audit-export.syslog");
    sinks_.push_back(std::move(s));
  }
}

AuditExporter::~AuditExporter() { stop(); }

void AuditExporter::start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] {
    for (;;) {
      (void)runOnce();
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
      if (stopping_) return;
    }
  });
}

void AuditExporter::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (!thread_.joinable()) return;
  thread_.join();
  (void)runOnce();  // what was written up to the stop goes out too
}

Status AuditExporter::runOnce() {
  Status first = Status::ok();
  for (auto& sink : sinks_) {
    Status s = exportTo(*sink);
    if (!s) {
      log_.warn("audit export failed", {LogField::str("sink", sink->name),
                                        LogField::str("reason", s.reason()),
                                        LogField::str("detail", s.detail())});
      if (first) first = s;
    }
  }
  return first;
}

Status AuditExporter::exportTo(Sink& sink) {
  if (sink.broken) return Status::fail("broken", sink.name + " holds another chain");
  if (sink.cursor < 0) {
    if (sink.kind == Sink::Kind::kFile) {
      std::string line = lastLine(sink.path);
      if (line.empty()) {
        sink.cursor = 0;
      } else {
        auto last = audit::parseJsonLine(line);
        auto db = last ? store_.listAudit(last->seq, 1) : Result<std::vector<AuditEntry>>(last.error());
        if (!last || !db || db->empty() || db->front().hash != last->hash) {
          sink.broken = true;
          return Status::fail("broken", sink.path +
                                            ": its last line is not this coordinator's audit "
                                            "entry; move the file away to start a new export");
        }
        sink.cursor = last->seq;
      }
    } else {
      auto text = readFile(sink.cursorFile, 64);
      Poco::Int64 n = 0;
      sink.cursor = text && Poco::NumberParser::tryParse64(Poco::trim(*text), n) && n >= 0 ? n : 0;
    }
  }
  for (;;) {
    auto entries = store_.listAudit(sink.cursor + 1, kBatch);
    if (!entries) return entries.status();
    if (entries->empty()) return Status::ok();
    try {
      switch (sink.kind) {
        case Sink::Kind::kFile: {
          std::ofstream out(sink.path, std::ios::app | std::ios::binary);
          for (const auto& e : entries.value()) out << audit::toJsonLine(e) << "\n";
          out.flush();
          if (!out) return Status::fail("io", "cannot append to " + sink.path);
          break;
        }
        case Sink::Kind::kStdout:
          for (const auto& e : entries.value()) std::cout << audit::toJsonLine(e) << "\n";
          std::cout.flush();
          break;
        case Sink::Kind::kUdp: {
          if (!sink.udp) sink.udp = std::make_unique<Poco::Net::DatagramSocket>();
          Poco::Net::SocketAddress to(sink.host, static_cast<Poco::UInt16>(sink.port));
          for (const auto& e : entries.value()) {
            std::string m = syslogMessage(e, config_.hostname);
            sink.udp->sendTo(m.data(), static_cast<int>(m.size()), to);
          }
          break;
        }
        case Sink::Kind::kTcp:
        case Sink::Kind::kTls: {
          if (!sink.stream) {
            Poco::Net::SocketAddress to(sink.host, static_cast<Poco::UInt16>(sink.port));
            if (sink.kind == Sink::Kind::kTcp) {
              sink.stream = std::make_unique<Poco::Net::StreamSocket>();
              sink.stream->connect(to, Poco::Timespan(10, 0));
            } else {
              Poco::Net::Context::Params params;
              params.caLocation = sink.caFile;
              params.loadDefaultCAs = true;
              params.verificationMode = Poco::Net::Context::VERIFY_RELAXED;
              Poco::Net::Context::Ptr ctx =
                  new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
              ctx->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
              // Connect and set the timeouts first, so the handshake cannot hang.
              Poco::Net::StreamSocket plain;
              plain.connect(to, Poco::Timespan(10, 0));
              plain.setReceiveTimeout(Poco::Timespan(10, 0));
              plain.setSendTimeout(Poco::Timespan(10, 0));
              sink.stream = std::make_unique<Poco::Net::SecureStreamSocket>(
                  Poco::Net::SecureStreamSocket::attach(plain, sink.host, ctx));
            }
            sink.stream->setSendTimeout(Poco::Timespan(10, 0));
          }
          std::string batch;
          for (const auto& e : entries.value()) {
            std::string m = syslogMessage(e, config_.hostname);
            batch += std::to_string(m.size()) + " " + m;  // RFC 6587 octet counting
          }
          std::size_t sent = 0;
          while (sent < batch.size()) {
            int n = sink.stream->sendBytes(batch.data() + sent, static_cast<int>(batch.size() - sent));
            if (n <= 0) throw Poco::IOException("connection closed");
            sent += static_cast<std::size_t>(n);
          }
          break;
        }
      }
    } catch (const Poco::Exception& e) {
      sink.stream.reset();
      sink.udp.reset();
      return Status::fail("io", sink.name + ": " + e.displayText());
    } catch (const std::exception& e) {
      sink.stream.reset();
      sink.udp.reset();
      return Status::fail("io", sink.name + ": " + e.what());
    }
    sink.cursor = entries->back().seq;
    if (!sink.cursorFile.empty())
      if (std::string err = writeFileAtomic(sink.cursorFile, std::to_string(sink.cursor) + "\n", 0600);
          !err.empty())
        return Status::fail("io", err);
  }
}

}  // namespace keyturn::server
