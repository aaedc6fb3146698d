// A workflow on a real SQLite store in a temporary folder, under the unit
// tests' deterministic tenant (alice, bob, carol, dave, erin; bundle v1 signed
// by alice and bob), with a settable clock and enrolled devices.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "fixtures.h"
#include "keyturn/base64url.h"
#include "keyturn/json.h"
#include "service/workflow.h"
#include "store/sqlite_store.h"

namespace keyturn::server::test {

using keyturn::test::kNow;

struct Signed {
  std::string protectedB64;
  std::string signatureB64;
};

// A detached signature over a stored payload, the way the CLI makes one.
inline Signed signOver(const Ed25519PrivateKey& key, const std::string& header,
                       const std::string& payloadB64) {
  std::string p = base64url::encode(header);
  Signature sig = key.sign(p + "." + payloadB64);
  return {p, base64url::encode(sig.data(), sig.size())};
}

// "reason: detail" of a failure, "" on success (for INFO).
inline std::string why(const Status& s) { return s ? "" : s.reason() + ": " + s.detail(); }
template <class T>
std::string why(const Result<T>& r) {
  return why(r.status());
}

class WorkflowFixture {
 public:
  WorkflowFixture();
  ~WorkflowFixture();

  keyturn::test::Tenant tenant;
  std::filesystem::path dir;
  std::unique_ptr<SqliteStore> store;
  std::int64_t now = kNow;
  std::shared_ptr<const AcceptedBundle> bundle;  // in force; replaced on publish
  int published = 0;
  std::unique_ptr<Workflow> workflow;

  void enroll(const std::string& id, const std::string& ownership = "corporate");
  // A request JWS signed by `spec.requester` only (created now - 10).
  std::string requestJws(keyturn::test::TokenSpec spec);
  // Submits a device.wipe (or spec.action) over spec.targets.
  Result<std::string> submit(keyturn::test::TokenSpec spec);
  Status approve(const std::string& who, const std::string& id, const std::string& notes);
  Status complete(const std::string& who, const std::string& id);
  std::string payloadOf(const std::string& id);
  std::string stateOf(const std::string& id);
  // Audit entries whose event is `event` and subject `subject`.
  std::vector<AuditEntry> audit(const std::string& event, const std::string& subject);
};

}  // namespace keyturn::server::test
