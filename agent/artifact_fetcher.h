// Downloads the artifact an app.install token names (params source "artifact") before
// the plugin runs (PROTOCOL.md §8 app.install; docs/agent.md "Artifacts").
//
// The file goes to a private folder of the state directory (mode 0700, owned by the
// agent), written through a new file opened O_CREAT|O_EXCL|O_NOFOLLOW, so nobody else can
// create, replace or write it between the check here and the plugin's own re-check. The
// download stops at params.size + 1 bytes; size and SHA-256 are checked against the
// signed params. Transient failures (network, 5xx) are retried with backoff within the
// token's window and at most the retry window (agent.artifacts.retry_s, default 120 s);
// past it, with the token's window still open, the caller is told to try again later
// (kRetryLater: the token waits, docs/agent.md "Artifacts"). A refusal by the
// coordinator is final, and so is the token's window closing.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "agent_log.h"
#include "coordinator_client.h"
#include "keyturn/result.h"

namespace keyturn::agent {

class ArtifactFetcher {
 public:
  // GET the path, streaming a 200 body to the sink (CoordinatorClient::download).
  using Download = std::function<Result<Reply>(const std::string& path, const CoordinatorClient::Sink& sink)>;
  // Waits `ms`; false when the agent is stopping (the fetch then gives up).
  using Sleep = std::function<bool(std::int64_t ms)>;
  using Clock = std::function<std::int64_t()>;
  static constexpr std::int64_t kDefaultRetrySeconds = 120;
  // The reason fetch() gives when transient failures outlasted the retry window while
  // the token's window is still open: not a verdict on the token, try again later.
  static constexpr const char* kRetryLater = "retry_later";

  // `retrySeconds` (>= 1): how long one fetch() retries transient failures.
  ArtifactFetcher(std::string dir, Download download, Sleep sleep, Clock clock, AgentLog& log,
                  std::int64_t retrySeconds = kDefaultRetrySeconds);

  // Creates the folder 0700 (or tightens it) and removes files a crash left in it.
  // "io" when it cannot, or when it is a link or not owned by this user.
  Status prepare() const;

  // The path of a verified copy of artifact `sha256` (64 lowercase hex) of exactly
  // `size` bytes. Reasons: "artifact_mismatch" (larger, shorter or another hash than the
  // signed params say; nothing kept), "artifact_unavailable" (the coordinator refuses or
  // has no such artifact, or the token's window closed: `windowEnd` is passed, or
  // transient failures lasted until it), kRetryLater (transient failures outlasted the
  // retry window before `windowEnd`), "io".
  Result<std::string> fetch(const std::string& sha256, std::uint64_t size, std::int64_t windowEnd);

  // Removes a file fetch() returned.
  void release(const std::string& path) const;

  const std::string& dir() const { return dir_; }

 private:
  enum class Attempt { kDone, kRetry, kFinal };
  Attempt attempt(const std::string& sha256, std::uint64_t size, std::string& path, Error& error);

  std::string dir_;
  Download download_;
  Sleep sleep_;
  Clock clock_;
  AgentLog& log_;
  std::int64_t retrySeconds_;
};

}  // namespace keyturn::agent
