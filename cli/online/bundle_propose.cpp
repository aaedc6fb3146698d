// keyturn bundle propose: a trust bundle change submitted as a maa.bundle.update
// request. The report shown first is the one `keyturn policy diff` prints (core
// policy_diff) plus what changed in the roster: principals, groups, keys, roles, the
// update rule. The proposed bundle travels in the request's params, signed by the
// requester like any request; approvers sign the bundle itself.
#include <Poco/JSON/Array.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <sstream>

#include "cli_output.h"
#include "keyturn/bundle.h"
#include "keyturn/crypto_util.h"
#include "keyturn/json.h"
#include "keyturn/bundle_report.h"
#include "keyturn/policy_kit.h"
#include "keyturn/token.h"
#include "online/online_client.h"
#include "online/online_commands.h"
#include "policy_cli.h"

namespace keyturn::cli {
namespace {

// Where proposals go (docs/openapi.yaml).
constexpr const char* kProposeRoute = "/api/v1/bundle-proposals";

constexpr const char* kHelp =
    "usage: keyturn bundle propose --bundle NEW.json [--current CURRENT.json] --justification TEXT\n"
    "         [--examples DIR] [--dry-run] [-o json]\n"
    "  Shows what NEW changes against the bundle in force (fetched from the coordinator, or\n"
    "  CURRENT when given: principals, groups, keys, roles, update rule, and the policy diff\n"
    "  with its example requests, the report of keyturn policy diff), then submits\n"
    "  it as a maa.bundle.update request: this admin signs NEW (the unsigned draft of keyturn\n"
    "  bundle new), approvers add their bundle signatures with keyturn request approve, and\n"
    "  keyturn request complete publishes it. --dry-run only shows the diff.\n"
    "  Exit 0 submitted (or shown), 1 refused, 2 usage or I/O, 3 unreachable.\n";

}  // namespace

int bundlePropose(int argc, char** argv) {
  auto p = parseCommand(
      argc, argv, {{"bundle", "current", "justification", "examples"}, {}, {"dry-run"}}, kHelp);
  if (!p) return p.reason() == "help" ? 0 : 2;
  const Output& out = p->out;
  auto newPath = p->args.require("bundle");
  if (!newPath) return out.fail(newPath.error());
  auto curPath = p->args.get("current");
  bool dryRun = p->args.flag("dry-run");
  auto justification = p->args.require("justification");
  if (!dryRun && !justification) return out.fail(justification.error());
  // The bundle in force: from --current, else from the coordinator (one connection,
  // reused to submit).
  std::unique_ptr<OnlineClient> client;
  std::string texts[2], origins[2] = {"", newPath.value()};
  if (curPath) {
    auto text = readFile(*curPath, kMaxBundleBytes);
    if (!text) return out.fail(Error{"io", "cannot read " + *curPath + ": " + std::strerror(errno)});
    texts[0] = std::move(*text);
    origins[0] = *curPath;
  } else {
    auto opened = OnlineClient::open();
    if (!opened) return out.fail(opened.error());
    client = std::move(opened).value();
    auto fetched = fetchBundleInForce(*client);
    if (!fetched) return out.fail(fetched.error());
    texts[0] = std::move(fetched).value();
    origins[0] = "the coordinator's bundle in force";
  }
  auto newText = readFile(newPath.value(), kMaxBundleBytes);
  if (!newText) return out.fail(Error{"io", "cannot read " + newPath.value() + ": " + std::strerror(errno)});
  texts[1] = std::move(*newText);
  auto report = policykit::bundleChangeReport(texts[0], origins[0], texts[1], origins[1],
                                              p->args.get("examples").value_or("policies/examples"));
  if (!report) return out.fail(report.error());
  const std::string text = policykit::reportText(report.value());
  const std::string reportJson = policykit::reportJson(report.value());
  if (dryRun) return out.done(text, reportJson);
  auto next = TrustBundle::parse(texts[1]).value();  // parsed by the report already

  // The proposal is the new bundle carrying exactly one signature: this admin's own
  // bundle signature, which also counts toward the update threshold.
  if (!next.signatures.empty())
    return out.fail(Error{
        "usage", newPath.value() + " is already signed; propose the unsigned draft from "
                                   "keyturn bundle new (approvers sign it through the request)"});
  if (!client) {
    auto opened = OnlineClient::open();
    if (!opened) return out.fail(opened.error());
    client = std::move(opened).value();
  }
  OnlineClient& c = *client;
  auto key = c.key();
  if (!key) return out.fail(key.error());
  std::cerr << text;
  JwsEnvelope env = next.envelope;
  appendSignature(env, *key.value(),
                  bundleSignatureHeader(key.value()->publicKey().kid(), nowSeconds()));
  auto stored = c.call("POST", kProposeRoute,
                       "{\"bundle\":" + env.serialize() +
                           ",\"justification\":" + json::quote(justification.value()) + "}");
  if (!stored) return out.fail(stored.error());
  std::string id = stored.value()->optValue<std::string>("id", "");
  return out.done(id + "\nbundle v" + std::to_string(next.version) + " proposed as request " + id +
                      ": " + stored.value()->optValue<std::string>("state", "?") +
                      "; approvers: keyturn request approve " + id + " --notes TEXT",
                  "{\"report\":" + reportJson + ",\"request\":" + json::stringify(stored.value()) + "}");
}

}  // namespace keyturn::cli
