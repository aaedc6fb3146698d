// Artifacts for app.install with source "artifact" (issue 4): admins upload the bytes,
// the coordinator keeps them content-addressed (the file name is the SHA-256) in a
// private folder of its data directory, and a device fetches one only while it holds an
// issued token that names it. The agent checks size and SHA-256 against its signed token
// before anything is installed, so the coordinator does not re-hash on each download: a
// file changed on disk is caught by every agent (and refused as artifact_mismatch).
//
// Every method returns a Result/Status and never throws. Reasons: "too_large" (body over
// the configured limit), "malformed" (a bad sha256 or name), "not_found" (no such
// artifact), "forbidden" (the device holds no open token naming it), "io", "storage".
#pragma once

#include <mutex>

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "keyturn/result.h"
#include "store/store.h"

namespace keyturn::server {

inline constexpr std::size_t kMaxArtifactName = 128;

struct StoredArtifact {
  ArtifactRecord record;
  bool created = false;  // false: the same bytes were uploaded before (nothing changed)
};

class ArtifactLibrary {
 public:
  // Borrows `store`. `dir` is the artifact folder (absolute); `maxBytes` caps an upload.
  ArtifactLibrary(Store& store, std::string dir, std::uint64_t maxBytes);

  // Creates the folder (mode 0700) or tightens an existing one to 0700; "io" when it
  // cannot, or when it is a symbolic link or not owned by this user.
  Status prepare() const;

  // Streams `body` (at most maxBytes; "too_large" beyond, the partial file removed) to a
  // temporary file while hashing it, then renames it to its SHA-256 and records it with
  // an "artifact.uploaded" audit entry. `name` (display only) must be 1..128 printable
  // ASCII characters without '/'.
  Result<StoredArtifact> upload(std::istream& body, const std::string& name,
                                const std::string& uploader, std::int64_t now);

  Result<std::vector<ArtifactRecord>> list();

  // The file to send `deviceId` for `sha256`: "malformed" for a sha256 that is not 64
  // lowercase hex, "not_found" for an unknown artifact, "forbidden" when no token issued
  // to the device and still without a result is an app.install of this artifact. Each
  // answer is audited (artifact.fetched / artifact.refused).
  Result<std::string> pathForDevice(const std::string& deviceId, const std::string& sha256,
                                    std::int64_t now);

  // Deletes (row, then file; audited "artifact.pruned" by "coordinator") every artifact
  // that no open app.install request names and that nothing used for `retentionSeconds`:
  // uploaded before now - retention, and every request naming it closed and unchanged
  // since then. An artifact whose requests changed meanwhile is left for the next call.
  // Returns the SHA-256 of each artifact deleted; "storage" when the store fails, "io"
  // when a file cannot be removed (its row is already gone: the file is an orphan, never
  // served). docs/coordinator.md "Artifacts".
  Result<std::vector<std::string>> prune(std::int64_t now, std::int64_t retentionSeconds);

  std::uint64_t maxBytes() const { return maxBytes_; }
  const std::string& dir() const { return dir_; }

 private:
  Status refuse(const std::string& deviceId, const std::string& sha256, const std::string& reason,
                const std::string& detail, std::int64_t now);

  Store& store_;
  std::string dir_;
  std::uint64_t maxBytes_;
  std::mutex filesMu_;  // an upload's rename + row against a prune's row + unlink
};

// True for 64 lowercase hex characters.
bool isSha256Hex(const std::string& text);

}  // namespace keyturn::server
