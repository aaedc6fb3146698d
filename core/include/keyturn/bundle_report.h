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

// Roster changes from `a` to `b`, one readable line each, in a stable order.
std::vector<std::string> rosterChanges(const TrustBundle& a, const TrustBundle& b);

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
