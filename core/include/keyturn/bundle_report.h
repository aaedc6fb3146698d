// What a proposed trust bundle changes, as approvers are shown it before they sign:
// the roster (principals, groups, keys, roles, issuers, update rule, expiry) and the
// policy diff with its re-run example requests (keyturn/policy_diff.h). One report,
// built here, printed by `keyturn bundle propose` and returned by the coordinator with a
// maa.bundle.update request (`report`), so the CLI and the web console show the same.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "keyturn/bundle.h"
#include "keyturn/policy_diff.h"
#include "keyturn/result.h"

namespace keyturn::policykit {

// What changes in the roster from `a` to `b`, structured: the one comparison behind both
// the readable lines below (CLI, report text) and the coordinator's structured `diff`
// (web console). Principals in `b`'s order (added or modified), then removed ones in
// `a`'s order; roles by name; kid lists sorted.
struct PrincipalChange {
  std::string id;
  std::string change;               // "added", "modified" or "removed"
  std::vector<std::string> groups;  // the principal's groups (in `b`, or in `a` when removed)
  std::vector<std::string> keys;    // the principal's kids (in `b`, or in `a` when removed)
  std::vector<std::string> groupsAdded, groupsRemoved, keysAdded, keysRemoved;  // modified only
};
struct RoleChange {
  std::string role;
  bool before = false, after = false;  // granted in `a`, in `b`
  std::vector<std::string> beforeGroups, afterGroups;
};
struct RosterDiff {
  std::vector<PrincipalChange> principals;
  std::vector<RoleChange> roles;
  std::vector<std::string> issuersAdded, issuersRemoved;
  std::string updateGroupBefore, updateGroupAfter;
  std::uint64_t thresholdBefore = 0, thresholdAfter = 0;
  std::uint64_t expiresBefore = 0, expiresAfter = 0;
};
RosterDiff rosterDiff(const TrustBundle& a, const TrustBundle& b);

// Roster changes from `a` to `b`, one readable line each, in a stable order.
std::vector<std::string> rosterChanges(const TrustBundle& a, const TrustBundle& b);
std::vector<std::string> rosterLines(const RosterDiff& d);

struct BundleChangeReport {
  std::uint64_t fromVersion = 0, toVersion = 0;
  std::string tenant;
  std::string sha256;  // hex, of the proposed bundle's bytes as given
  std::vector<std::string> roster;
  DiffReport policies;
  std::string examplesFrom;   // the folder the examples came from; empty = none found
  std::string examplesError;  // the folder exists but an example does not load: shown, never hidden
};

// Both texts are bundles (JWS JSON); signatures are not checked — this explains a
// change, it never trusts one. Fails "malformed" naming the origin of a bad bundle.
// Examples are read from `examplesDir` (loadExamples): an empty or missing folder means
// none; a folder whose examples do not load is reported in `examplesError`.
Result<BundleChangeReport> bundleChangeReport(std::string_view currentText, const std::string& currentOrigin,
                                              std::string_view proposedText, const std::string& proposedOrigin,
                                              const std::string& examplesDir);

// The report as lines for a terminal (what `keyturn bundle propose` prints) and as one
// JSON object: {"from","to","tenant","sha256","roster":[..],"policies":[{"name","change"}],
// "old_load_error","new_load_error","examples","examples_from","examples_error","examples_changed":
// [{"name","file","before","after"}],"text"}.
std::string reportText(const BundleChangeReport& r);
std::string reportJson(const BundleChangeReport& r);

}  // namespace keyturn::policykit
