// Continuous audit export for SIEMs (issue 7): every audit entry, in order, as the JSON
// line `keyturn audit export` writes (seq, at, actor, event, subject, detail_json,
// prev_hash, hash), so the copy verifies with `keyturn audit verify --file`.
//
// Sinks (keyturn.audit.export.*, docs/notifications.md#audit-export):
//  - file: appended, flushed after every batch; the cursor is the file's own last line,
//    so a restart continues where the file ends (and refuses a file whose last line is
//    not the database's entry at that seq: it belongs to another chain).
//  - stdout ("-"): one line per entry; the cursor is kept in DATA/audit-export.stdout.
//  - syslog: RFC 5424 messages over UDP, TCP or TLS (RFC 5425), TCP and TLS framed by
//    octet counting (RFC 6587); the message is the JSON line, and the structured data
//    [keyturn@32473 seq= prev= hash=] repeats the chain link. The cursor is kept in
//    DATA/audit-export.syslog and only moves after a batch was written to the socket
//    (UDP can still lose datagrams: use TCP or TLS where the copy must be complete).
// One thread, never on a request's path; a sink that fails is retried every second.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "app/log_sink.h"
#include "keyturn/result.h"
#include "store/store.h"

namespace Poco::Util {
class AbstractConfiguration;
}

namespace keyturn::server {

struct AuditExportConfig {
  std::string file;           // path, "-" for stdout, empty: off
  std::string syslog;         // udp://HOST:PORT | tcp://HOST:PORT | tls://HOST:PORT, empty: off
  std::string syslogCaFile;   // trust for tls:// (default: the system's)
  std::string hostname = "-"; // HOSTNAME of the syslog header (keyturn.hostname)
  std::string stateDir;       // where cursors are kept (the data folder)

  bool enabled() const { return !file.empty() || !syslog.empty(); }
  // "malformed" naming the key.
  static Result<AuditExportConfig> load(const Poco::Util::AbstractConfiguration& p,
                                        const std::string& dataDir, const std::string& hostname);
};

// One RFC 5424 message (without framing) for `entry`: facility log audit (13), severity
// notice (5), timestamp from the entry, MSGID the event (at most 32 characters).
std::string syslogMessage(const AuditEntry& entry, const std::string& hostname);

class AuditExporter {
 public:
  AuditExporter(Store& store, LogSink& log, AuditExportConfig config);
  ~AuditExporter();
  AuditExporter(const AuditExporter&) = delete;
  AuditExporter& operator=(const AuditExporter&) = delete;

  void start();
  void stop();
  // Exports everything new to every sink; what start() runs each second.
  Status runOnce();

 private:
  struct Sink;
  Status exportTo(Sink& sink);

  Store& store_;
  LogSink& log_;
  AuditExportConfig config_;
  std::vector<std::unique_ptr<Sink>> sinks_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace keyturn::server
