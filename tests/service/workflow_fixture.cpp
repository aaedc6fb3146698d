#include "workflow_fixture.h"

#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>

#include "keyturn/token.h"

namespace keyturn::server::test {

WorkflowFixture::WorkflowFixture() {
  static std::atomic<int> n{0};
  dir = std::filesystem::temp_directory_path() /
        ("kt-wf-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto s = SqliteStore::open((dir / "keyturn.db").string());
  REQUIRE(s);
  store = std::move(s).value();
  bundle = std::make_shared<const AcceptedBundle>(tenant.v1());
  WorkflowOptions options;
  options.tenant = "contoso";
  options.bundleDir = (dir / "bundles").string();
  options.policyExamplesDir = (dir / "policy-examples").string();  // absent unless a test writes it
  workflow = std::make_unique<Workflow>(
      *store, tenant.issuer, options, [this] { return now; },
      [this](std::shared_ptr<const AcceptedBundle> next) {
        bundle = std::move(next);
        ++published;
        return Status::ok();
      });
}

WorkflowFixture::~WorkflowFixture() {
  workflow.reset();
  store.reset();
  std::filesystem::remove_all(dir);
}

void WorkflowFixture::enroll(const std::string& id, const std::string& ownership) {
  DeviceRecord d;
  d.id = id;
  d.certFingerprint = "fp-" + id;
  d.factsJson = "{\"id\":" + json::quote(id) + ",\"ownership\":" + json::quote(ownership) +
                ",\"platform\":\"linux\"}";
  d.enrolledAt = now;
  REQUIRE(store->insertDevice(d, std::nullopt));
}

std::string WorkflowFixture::requestJws(keyturn::test::TokenSpec spec) {
  spec.approvers.clear();
  spec.completed = false;
  spec.issued = false;
  spec.bundle = bundle->bundle.version;
  spec.created = static_cast<std::uint64_t>(now - 10);
  spec.expires = spec.created + 30 * 86400;
  return keyturn::test::makeToken(tenant, spec);
}

Result<std::string> WorkflowFixture::submit(keyturn::test::TokenSpec spec) {
  std::string caller = spec.requester;
  std::vector<std::string> targets = spec.targets;
  return workflow->submit(*bundle, caller, requestJws(std::move(spec)), targets);
}

Status WorkflowFixture::approve(const std::string& who, const std::string& id,
                                const std::string& notes) {
  const auto& key = tenant.key(who);
  Signed s = signOver(key, approverHeader(key.publicKey().kid(), static_cast<std::uint64_t>(now)),
                      payloadOf(id));
  return workflow->approve(*bundle, who, id, s.protectedB64, s.signatureB64, notes);
}

Status WorkflowFixture::complete(const std::string& who, const std::string& id) {
  const auto& key = tenant.key(who);
  Signed s = signOver(key, completerHeader(key.publicKey().kid(), static_cast<std::uint64_t>(now)),
                      payloadOf(id));
  return workflow->complete(*bundle, who, id, s.protectedB64, s.signatureB64);
}

std::string WorkflowFixture::payloadOf(const std::string& id) {
  auto r = store->getRequest(id);
  return r ? r->payloadB64 : "";
}

std::string WorkflowFixture::stateOf(const std::string& id) {
  auto r = store->getRequest(id);
  return r ? r->state : "missing";
}

std::vector<AuditEntry> WorkflowFixture::audit(const std::string& event,
                                               const std::string& subject) {
  std::vector<AuditEntry> out;
  auto all = store->listAudit(1, 100000);
  REQUIRE(all);
  for (const auto& e : all.value())
    if (e.event == event && e.subject == subject) out.push_back(e);
  return out;
}

}  // namespace keyturn::server::test
