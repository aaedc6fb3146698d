// keyturn policy diff OLD NEW: keyturn/policy_diff.h, printed.
#include <filesystem>
#include <iostream>

#include "keyturn/json.h"
#include "keyturn/policy_diff.h"
#include "policy_cli.h"

namespace keyturn::cli {

namespace {

constexpr const char* kDiffHelp =
    "usage: keyturn policy diff OLD NEW [--examples DIR] [-o json]\n"
    "  OLD and NEW are each a trust bundle file or a policy folder. Lists the policies added,\n"
    "  removed or modified (by name), then evaluates every saved example request of DIR\n"
    "  (default: NEW/examples when NEW is a folder, else ./policies/examples; *.json, each\n"
    "  {\"name\",\"request\":{\"action\",\"params\",\"requester\",\"groups\",\"targets\",\"now\",...},\n"
    "  \"device\":{facts}}) under both, listing every example whose decision changes.\n"
    "  Exit 0 (a report, whatever it says), 2 on a usage or I/O error.\n";

std::string defaultExamples(const std::string& newPath) {
  std::error_code ec;
  if (std::filesystem::is_directory(newPath, ec) && std::filesystem::is_directory(newPath + "/examples", ec))
    return newPath + "/examples";
  return "policies/examples";
}

std::string changeJson(const policykit::PolicyChange& c) {
  return "{\"name\":" + json::quote(c.name) + ",\"change\":" + json::quote(c.change) +
         ",\"old_file\":" + json::quote(c.oldFile) + ",\"new_file\":" + json::quote(c.newFile) +
         ",\"old_actions\":" + jsonStrings(c.oldActions) + ",\"new_actions\":" + jsonStrings(c.newActions) + "}";
}

}  // namespace

int policyDiff(int argc, char** argv) {
  auto p = parsePolicyCommand(argc, argv, {{"examples"}, {}, {}}, kDiffHelp, 2);
  if (!p) return p.reason() == "help" ? 0 : 2;
  const Output& out = p->parsed.out;
  if (p->positional.size() != 2) return out.fail(Error{"usage", "policy diff needs OLD and NEW"});
  auto oldSet = policykit::loadPolicySet(p->positional[0]);
  if (!oldSet) return out.fail(oldSet.error());
  auto newSet = policykit::loadPolicySet(p->positional[1]);
  if (!newSet) return out.fail(newSet.error());
  std::string examplesDir = p->parsed.args.get("examples").value_or(defaultExamples(p->positional[1]));
  auto examples = policykit::loadExamples(examplesDir);
  if (!examples) {
    Error e = examples.error();
    if (e.reason == "malformed") e.reason = "usage";
    return out.fail(e);
  }
  auto r = policykit::diffPolicySets(oldSet.value(), newSet.value(), examples.value());

  std::string text = "policies: " + std::to_string(r.policies.size()) + " changed\n";
  std::string changes, changed;
  for (const auto& c : r.policies) {
    text += "  " + c.change + std::string(10 - std::min<std::size_t>(9, c.change.size()), ' ') + c.name + " (" +
            (c.newFile.empty() ? c.oldFile : c.newFile) + ")\n";
    changes += (changes.empty() ? "" : ",") + changeJson(c);
  }
  if (!r.oldLoadError.empty()) text += "  OLD does not load: " + r.oldLoadError + "\n";
  if (!r.newLoadError.empty()) text += "  NEW does not load: " + r.newLoadError + "\n";
  text += "examples: " + std::to_string(r.examples) + " evaluated from " + examplesDir + ", " +
          std::to_string(r.changed.size()) + " change\n";
  for (const auto& c : r.changed) {
    text += "  " + c.name + " (" + c.file + ")\n    before: " + c.before + "\n    after:  " + c.after + "\n";
    changed += (changed.empty() ? "" : ",") + std::string("{\"name\":") + json::quote(c.name) +
               ",\"file\":" + json::quote(c.file) + ",\"before\":" + json::quote(c.before) +
               ",\"after\":" + json::quote(c.after) + "}";
  }
  return out.done(text, "{\"policies\":[" + changes + "],\"old_load_error\":" + json::quote(r.oldLoadError) +
                            ",\"new_load_error\":" + json::quote(r.newLoadError) +
                            ",\"examples\":" + std::to_string(r.examples) +
                            ",\"examples_dir\":" + json::quote(examplesDir) + ",\"changed\":[" + changed + "]}");
}

}  // namespace keyturn::cli
