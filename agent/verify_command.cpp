#include <cerrno>
#include <cstring>
#include <iostream>
#include <sstream>

#include "command_args.h"
#include "commands.h"
#include "facts_file.h"
#include "keyturn/crypto_util.h"
#include "keyturn/json.h"
#include "keyturn/replay_journal.h"
#include "keyturn/token_gate.h"
#include "keyturn/trust_store.h"

namespace keyturn::agent {

using tools::ArgSpec;
using tools::CommandArgs;
using tools::usageError;
namespace {

int reject(const std::string& reason, const std::string& detail) {
  std::cout << "{\"decision\":\"reject\",\"reason\":" << json::quote(reason) << ",\"detail\":" << json::quote(detail)
            << "}" << std::endl;
  return 1;
}

int accept(const GateAccept& a) {
  std::ostringstream out;
  out << "{\"decision\":\"accept\",\"request\":" << json::quote(a.token.payload.id)
      << ",\"action\":" << json::quote(a.token.payload.action) << ",\"approvers\":[";
  for (std::size_t i = 0; i < a.approvers.size(); ++i) out << (i ? "," : "") << json::quote(a.approvers[i]);
  out << "],\"requirements\":[";
  for (std::size_t i = 0; i < a.requirements.size(); ++i)
    out << (i ? "," : "") << "{\"group\":" << json::quote(a.requirements[i].group)
        << ",\"approvals\":" << a.requirements[i].approvals << "}";
  out << "]}";
  std::cout << out.str() << std::endl;
  return 0;
}

}  // namespace

int verifyCommand(int argc, char** argv) {
  auto args = CommandArgs::parse(argc, argv, 2, ArgSpec{{"state", "token", "facts", "now"}, {}, {"consume"}});
  if (!args) return usageError(args.error());
  auto state = args->require("state");
  if (!state) return usageError(state.error());
  auto tokenPath = args->require("token");
  if (!tokenPath) return usageError(tokenPath.error());
  auto factsPath = args->require("facts");
  if (!factsPath) return usageError(factsPath.error());
  auto now = args->now();
  if (!now) return usageError(now.error());
  auto facts = readFactsFile(factsPath.value());
  if (!facts) return usageError(facts.error());

  // One byte over the limit is enough for the gate to refuse the size as malformed.
  auto token = readFile(tokenPath.value(), kMaxTokenBytes + 1);
  if (!token) {
    if (errno == EFBIG) return reject("malformed", "the token exceeds 64 KiB");
    return usageError(Error{"io", "cannot read token " + tokenPath.value() + ": " + std::strerror(errno)});
  }

  auto store = TrustStore::open(state.value());
  if (!store) return usageError(store.error());
  // Step 3 fails closed: a missing or no longer verifiable local bundle is no bundle.
  auto bundle = store->load(now.value());
  if (!bundle) return reject("bundle_expired", "no valid local trust bundle: " + bundle.detail());
  auto journal = ReplayJournal::open(store->journalPath());
  if (!journal) return usageError(journal.error());

  TokenGate gate(bundle->bundle, *bundle->engine, journal.value().get());
  auto result = gate.check(token.value(), facts.value(), now.value());
  if (!result) return reject(result.reason(), result.detail());
  if (args->flag("consume")) {
    Status consumed = journal.value()->consume(result->token.payload.id, result->token.payload.action, now.value());
    if (!consumed && consumed.reason() == "replayed") return reject("replayed", consumed.detail());
    if (!consumed) return usageError(consumed.error());
  }
  return accept(result.value());
}

}  // namespace keyturn::agent
