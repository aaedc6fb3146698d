// The policy authoring kit (issue 8): reading what `keyturn policy test|simulate|lint|diff`
// work on — a folder of policies, a bundle's policies, device facts — and saying what an
// outcome or a decision means in one line. The commands themselves only wire and print;
// every choice about what a policy set is and how outcomes read lives here.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "keyturn/bundle.h"
#include "keyturn/policy_engine.h"
#include "keyturn/result.h"

namespace keyturn::policykit {

// Files larger than this are refused when a folder is read (a bundle is capped anyway).
constexpr std::size_t kMaxPolicyFileBytes = 1024u * 1024u;
constexpr std::size_t kMaxFactsFileBytes = 1024u * 1024u;

// True for the file names a policy folder's policies have: "*.lua" but not "*_test.lua".
bool isPolicyFileName(const std::string& name);

// Every policy file of `dir` (not its subfolders), in name order — the same choice as
// `keyturn bundle new --policies`. Fails "io" when `dir` is not a readable folder.
// An empty folder is an empty list, not an error.
Result<std::vector<PolicySource>> loadPolicyFolder(const std::string& dir);

// A set of policies to simulate or compare: a policy folder, or a trust bundle file
// (its structure is checked, its signatures are not: a draft can be simulated before
// anyone signs it). `bundle` is set only for a bundle file.
struct PolicySet {
  std::string origin;  // the path it came from
  std::vector<PolicySource> sources;
  std::shared_ptr<TrustBundle> bundle;
};
// Reads `path` as a folder when it is one, else as a bundle file. Fails "io" when it
// cannot be read and "malformed" when the bundle does not parse.
Result<PolicySet> loadPolicySet(const std::string& path);
// A bundle's policies from the bundle's bytes (fetched from a coordinator, say); `origin`
// names where they came from in messages. Fails "malformed" when the bundle does not
// parse. Signatures are not checked: this is for simulation and diffs, never for trust.
Result<PolicySet> policySetFromBundle(std::string_view bundleText, const std::string& origin);

// Device facts as the agent reads them (PROTOCOL.md section 8):
// {"id","ownership","platform","os_version","groups":[..],"tags":{..}}, only `id`
// required. Fails "malformed" naming the member, prefixed with `where`.
Result<DeviceFacts> parseDeviceFacts(std::string_view text, const std::string& where);
// One facts file, or every *.json file of a folder in name order. Fails "io" when
// unreadable (or a folder without facts files) and "malformed" on the first bad file.
Result<std::vector<DeviceFacts>> loadDeviceFacts(const std::string& path);

// "unprotected", "requirement", "deny", "error".
const char* outcomeKind(PolicyOutcome::Kind kind);
// "2 approvals from hr-wipe-approvers", "denied: needs a justification", "error: ...",
// "no requirement".
std::string describeOutcome(const PolicyOutcome& o);
// One line for a whole decision: "requires 1 from device-approvers, 2 from maa-admins",
// "no approvals needed", "denied: ...", "policy_error: ...".
std::string describeDecision(const PolicyDecision& d);
// "1 from device-approvers, 2 from maa-admins" or "no approvals needed".
std::string describeRequirements(const std::vector<Requirement>& requirements);

}  // namespace keyturn::policykit
