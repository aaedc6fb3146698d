// Pruning of unused artifacts (ArtifactLibrary::prune, docs/coordinator.md "Artifacts")
// on a real SQLite store and a real artifact folder: an artifact is deleted — row and
// file, audited — only once no open app.install request names it and nothing used it
// for the retention period; anything still possibly needed by a device stays.
#include <catch2/catch.hpp>
#include <filesystem>
#include <sstream>

#include "keyturn/crypto_util.h"
#include "keyturn/json.h"
#include "service/artifact_library.h"
#include "workflow_fixture.h"

using namespace keyturn;
using namespace keyturn::server;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kRetention = 30 * kDay;
constexpr std::int64_t kT = 1'800'000'000;  // upload time

struct PruneFixture {
  PruneFixture() : library(*f.store, (f.dir / "artifacts").string(), 1 << 20) {
    REQUIRE(library.prepare());
  }

  std::string upload(const std::string& bytes, std::int64_t at = kT) {
    std::istringstream in(bytes);
    auto stored = library.upload(in, "tool.deb", "alice", at);
    REQUIRE(stored);
    return stored->record.sha256;
  }

  // An app.install request of `sha256` in state `state`, created and last changed `at`.
  void request(const std::string& id, const std::string& sha256, const std::string& state, std::int64_t at) {
    RequestRecord r;
    r.id = id;
    r.tenant = "contoso";
    r.action = "app.install";
    r.paramsJson = "{\"name\":\"tool\",\"source\":\"artifact\",\"sha256\":" + json::quote(sha256) + ",\"size\":4}";
    r.requester = "alice";
    r.justification = "test";
    r.created = at;
    r.expires = at + 30 * kDay;
    r.bundleVersion = 1;
    r.targetCount = 1;
    r.targetRoot = "root-" + id;
    r.payloadB64 = "e30";
    r.state = state == state::kCompleted ? state::kApproved : state;
    r.requirementsJson = "[]";
    r.updated = at;
    SignatureRecord requester{id, "requester", "alice", "k", at, "cA", "cw", ""};
    REQUIRE(f.store->insertRequest(r, {"dev-1"}, requester, std::nullopt));
    if (state == state::kCompleted) {
      SignatureRecord completer{id, "completer", "alice", "k", at, "cA", "cw", ""};
      REQUIRE(f.store->completeRequest(completer, {{"dev-1", "{\"payload\":\"e30\",\"signatures\":[]}"}},
                                       std::nullopt));
    }
  }

  bool fileExists(const std::string& sha256) const { return fs::exists(f.dir / "artifacts" / sha256); }
  bool rowExists(const std::string& sha256) { return bool(f.store->getArtifact(sha256)); }

  std::vector<AuditEntry> audit(const std::string& event) {
    std::vector<AuditEntry> out;
    REQUIRE(f.store->forEachAudit([&](const AuditEntry& e) {
      if (e.event == event) out.push_back(e);
      return true;
    }));
    return out;
  }

  keyturn::server::test::WorkflowFixture f;
  ArtifactLibrary library;
};

}  // namespace

TEST_CASE("an artifact no request names is pruned after the retention period: row, file and an audit entry",
          "[service][artifacts]") {
  PruneFixture p;
  const std::string sha = p.upload("abcd");
  auto early = p.library.prune(kT + kRetention - 1, kRetention);
  REQUIRE(early);
  CHECK(early->empty());
  CHECK(p.rowExists(sha));
  CHECK(p.fileExists(sha));

  auto pruned = p.library.prune(kT + kRetention + 1, kRetention);
  REQUIRE(pruned);
  CHECK(pruned.value() == std::vector<std::string>{sha});
  CHECK_FALSE(p.rowExists(sha));
  CHECK_FALSE(p.fileExists(sha));
  auto entries = p.audit("artifact.pruned");
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].actor == "coordinator");
  CHECK(entries[0].subject == sha);
  CHECK_THAT(entries[0].detailJson, Catch::Contains("\"size\":4") && Catch::Contains("\"retention_s\":2592000"));
  // Uploaded again, it is a new artifact with a new retention period.
  CHECK(p.upload("abcd", kT + kRetention + 2) == sha);
  CHECK(p.library.prune(kT + kRetention + 3, kRetention)->empty());
  CHECK(p.fileExists(sha));
}

TEST_CASE("an artifact an open app.install request names is kept however old it is", "[service][artifacts]") {
  PruneFixture p;
  const std::string pending = p.upload("pending"), approved = p.upload("approved"), queued = p.upload("queued");
  p.request("r-pending", pending, state::kNeedsApproval, kT);
  p.request("r-approved", approved, state::kApproved, kT);
  p.request("r-queued", queued, state::kCompleted, kT);  // its token waits for the device
  auto pruned = p.library.prune(kT + 10 * kRetention, kRetention);
  REQUIRE(pruned);
  CHECK(pruned->empty());
  for (const auto& sha : {pending, approved, queued}) {
    CHECK(p.rowExists(sha));
    CHECK(p.fileExists(sha));
  }
}

TEST_CASE("an artifact is kept for the retention period after its last request closed, then pruned",
          "[service][artifacts]") {
  PruneFixture p;
  const std::string cancelled = p.upload("cancelled"), installed = p.upload("installed");
  p.request("r-cancelled", cancelled, state::kApproved, kT);
  REQUIRE(p.f.store->setState("r-cancelled", state::kApproved, state::kCancelled, kT + 5 * kDay, std::nullopt));
  p.request("r-installed", installed, state::kCompleted, kT + 5 * kDay);
  REQUIRE(p.f.store->recordResult("r-installed", "dev-1", state::kSucceeded, "{\"exit_code\":0}", kT + 6 * kDay,
                                  std::nullopt));
  // Uploaded more than the retention ago, but used 5 days after the upload.
  auto kept = p.library.prune(kT + 5 * kDay + kRetention - 1, kRetention);
  REQUIRE(kept);
  CHECK(kept->empty());
  auto pruned = p.library.prune(kT + 5 * kDay + kRetention + 1, kRetention);
  REQUIRE(pruned);
  CHECK(pruned->size() == 2);
  CHECK_FALSE(p.rowExists(cancelled));
  CHECK_FALSE(p.rowExists(installed));
  CHECK(p.audit("artifact.pruned").size() == 2);
}

TEST_CASE("an artifact whose app.install requests changed after the check is not deleted on that pass",
          "[service][artifacts]") {
  PruneFixture p;
  const std::string sha = p.upload("abcd");
  const std::int64_t checkedAt = kT + kRetention + 1;
  // A request naming it arrives after the pass read the requests (updated >= checkedAt).
  p.request("r-late", sha, state::kNeedsApproval, checkedAt);
  Status s = p.f.store->deleteArtifact(sha, "app.install", checkedAt,
                                       AuditEvent{"coordinator", "artifact.pruned", sha, "{}"});
  REQUIRE_FALSE(s);
  CHECK(s.reason() == "conflict");
  CHECK(p.rowExists(sha));
  CHECK(p.audit("artifact.pruned").empty());
  // And the next pass sees the open request.
  CHECK(p.library.prune(checkedAt + 1, kRetention)->empty());
  CHECK(p.fileExists(sha));
}
