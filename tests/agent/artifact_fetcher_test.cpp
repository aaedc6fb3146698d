// The agent's artifact download against a scripted coordinator: what is kept is exactly
// the signed size and hash, in a private folder; anything else is refused with the
// reason the coordinator will see, and transient failures are retried, not final.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "artifact_fetcher.h"
#include "keyturn/crypto_util.h"
#include "temp_folder.h"

using namespace keyturn;
using namespace keyturn::agent;
using keyturn::test::TempFolder;
namespace fs = std::filesystem;

namespace {

const std::string kBytes = "a package of exactly forty-two bytes......";

struct Script {
  // One entry per download call: the status (0 = network failure) and the body sent.
  std::vector<std::pair<int, std::string>> replies;
  std::size_t calls = 0;
  std::size_t bytesOffered = 0;  // how much the sink accepted, over all calls
  std::vector<std::string> paths;
};

struct Fixture {
  explicit Fixture(std::int64_t retrySeconds = ArtifactFetcher::kDefaultRetrySeconds)
      : fetcher(
            dir / "artifacts",
            [this](const std::string& path, const CoordinatorClient::Sink& sink) -> Result<Reply> {
              script.paths.push_back(path);
              auto [status, body] = script.replies.at(std::min(script.calls, script.replies.size() - 1));
              ++script.calls;
              if (status == 0) return Result<Reply>::fail("unreachable", "connection reset");
              Reply r;
              r.status = status;
              if (status != 200) {
                r.body = body;
                return r;
              }
              // Sent in 8-byte pieces, the way a socket delivers it.
              for (std::size_t at = 0; at < body.size(); at += 8) {
                std::string piece = body.substr(at, 8);
                if (!sink(piece.data(), piece.size())) break;
                script.bytesOffered += piece.size();
              }
              return r;
            },
            [this](std::int64_t ms) {
              slept.push_back(ms);
              now += (ms + 999) / 1000;
              return true;
            },
            [this] { return now; }, log, retrySeconds) {}

  std::size_t files() const {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir / "artifacts")) ++n;
    return n;
  }

  TempFolder dir;
  Script script;
  std::vector<std::int64_t> slept;
  std::int64_t now = 1000;
  std::ostringstream logText;
  AgentLog log{logText, false};
  ArtifactFetcher fetcher;
  const std::string sha = toHex(sha256(kBytes));
};

}  // namespace

TEST_CASE("a matching artifact is kept in a 0700 folder and removed on release", "[agent][artifacts]") {
  Fixture f;
  f.script.replies = {{200, kBytes}};
  auto path = f.fetcher.fetch(f.sha, kBytes.size(), f.now + 3600);
  REQUIRE(path);
  CHECK(f.script.paths.at(0) == "/api/v1/agent/artifacts/" + f.sha);
  CHECK(readFile(path.value(), 1 << 20).value_or("") == kBytes);
  CHECK(fs::path(path.value()).parent_path() == fs::path(f.dir / "artifacts"));
  struct stat st{};
  REQUIRE(::stat((f.dir / "artifacts").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  REQUIRE(::stat(path.value().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  f.fetcher.release(path.value());
  CHECK(f.files() == 0);
}

TEST_CASE("a larger artifact is refused without reading past params.size", "[agent][artifacts]") {
  Fixture f;
  f.script.replies = {{200, kBytes + std::string(1 << 16, 'x')}};
  auto path = f.fetcher.fetch(f.sha, kBytes.size(), f.now + 3600);
  REQUIRE_FALSE(path);
  CHECK(path.reason() == "artifact_mismatch");
  CHECK_THAT(path.detail(), Catch::Contains("more than params.size"));
  CHECK(f.script.bytesOffered <= kBytes.size());
  CHECK(f.script.calls == 1);  // final, not retried
  CHECK(f.files() == 0);
}

TEST_CASE("a shorter artifact or one with another hash is refused and nothing is kept", "[agent][artifacts]") {
  Fixture f;
  SECTION("shorter") {
    f.script.replies = {{200, kBytes.substr(0, 10)}};
    auto path = f.fetcher.fetch(f.sha, kBytes.size(), f.now + 3600);
    REQUIRE_FALSE(path);
    CHECK(path.reason() == "artifact_mismatch");
    CHECK_THAT(path.detail(), Catch::Contains("10 bytes"));
  }
  SECTION("same size, other bytes") {
    std::string other = kBytes;
    other[0] = 'A';
    f.script.replies = {{200, other}};
    auto path = f.fetcher.fetch(f.sha, kBytes.size(), f.now + 3600);
    REQUIRE_FALSE(path);
    CHECK(path.reason() == "artifact_mismatch");
    CHECK_THAT(path.detail(), Catch::Contains("SHA-256"));
  }
  CHECK(f.script.calls == 1);
  CHECK(f.files() == 0);
}

TEST_CASE("network failures and 5xx are retried with backoff, a 403 or 404 is final", "[agent][artifacts]") {
  Fixture f;
  SECTION("transient then served") {
    f.script.replies = {{0, ""}, {503, "{\"error\":\"storage\"}"}, {200, kBytes}};
    auto path = f.fetcher.fetch(f.sha, kBytes.size(), f.now + 3600);
    REQUIRE(path);
    CHECK(f.script.calls == 3);
    CHECK(f.slept == std::vector<std::int64_t>{1000, 2000});
    f.fetcher.release(path.value());
  }
  SECTION("refused") {
    f.script.replies = {{403, "{\"error\":\"forbidden\",\"detail\":\"no token\"}"}};
    auto path = f.fetcher.fetch(f.sha, kBytes.size(), f.now + 3600);
    REQUIRE_FALSE(path);
    CHECK(path.reason() == "artifact_unavailable");
    CHECK_THAT(path.detail(), Catch::Contains("403 forbidden: no token"));
    CHECK(f.script.calls == 1);
  }
  SECTION("never reachable: gives up by the token's window") {
    f.script.replies = {{0, ""}};
    auto path = f.fetcher.fetch(f.sha, kBytes.size(), f.now + 20);
    REQUIRE_FALSE(path);
    CHECK(path.reason() == "artifact_unavailable");
    CHECK_THAT(path.detail(), Catch::Contains("gave up"));
    CHECK(f.now <= 1000 + 20);
    CHECK(f.script.calls >= 3);
  }
  CHECK(f.files() == 0);
}

TEST_CASE("transient failures outlasting the retry window while the token's window is open mean try again later",
          "[agent][artifacts]") {
  Fixture f(10);
  f.script.replies = {{0, ""}, {503, "{\"error\":\"storage\"}"}};
  auto path = f.fetcher.fetch(f.sha, kBytes.size(), f.now + 3600);
  REQUIRE_FALSE(path);
  CHECK(path.reason() == ArtifactFetcher::kRetryLater);
  CHECK_THAT(path.detail(), Catch::Contains("503 storage") && Catch::Contains("trying again later"));
  CHECK(f.script.calls >= 2);
  CHECK(f.now <= 1000 + 10);  // the retry window, not the token's hour
  CHECK(f.files() == 0);
  // The coordinator is back: the next call downloads it.
  f.script.replies = {{200, kBytes}};
  f.script.calls = 0;
  auto again = f.fetcher.fetch(f.sha, kBytes.size(), f.now + 3600);
  REQUIRE(again);
  f.fetcher.release(again.value());
}

TEST_CASE("a fetch asked after the token's window closed is refused without a download", "[agent][artifacts]") {
  Fixture f;
  f.script.replies = {{200, kBytes}};
  auto path = f.fetcher.fetch(f.sha, kBytes.size(), f.now);
  REQUIRE_FALSE(path);
  CHECK(path.reason() == "artifact_unavailable");
  CHECK_THAT(path.detail(), Catch::Contains("window closed"));
  CHECK(f.script.calls == 0);
}

TEST_CASE("files an interrupted run left in the artifact folder are removed at start", "[agent][artifacts]") {
  Fixture f;
  fs::create_directories(f.dir / "artifacts");
  std::ofstream(f.dir / "artifacts/artifact-leftover") << "partial";
  fs::permissions(f.dir / "artifacts", fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
  REQUIRE(f.fetcher.prepare());
  CHECK(f.files() == 0);
  struct stat st{};
  REQUIRE(::stat((f.dir / "artifacts").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
}

TEST_CASE("an artifact folder that is a symbolic link is refused", "[agent][artifacts]") {
  Fixture f;
  fs::create_directories(f.dir / "elsewhere");
  fs::create_directory_symlink(f.dir / "elsewhere", f.dir / "artifacts");
  auto prepared = f.fetcher.prepare();
  REQUIRE_FALSE(prepared);
  CHECK(prepared.reason() == "io");
  f.script.replies = {{200, kBytes}};
  auto path = f.fetcher.fetch(f.sha, kBytes.size(), f.now + 3600);
  CHECK_FALSE(path);
  CHECK(f.script.calls == 0);
}
