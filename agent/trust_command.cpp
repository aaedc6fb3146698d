#include <cerrno>
#include <cstring>
#include <iostream>
#include <sstream>

#include "command_args.h"
#include "commands.h"
#include "keyturn/base64url.h"
#include "keyturn/bundle.h"
#include "keyturn/crypto_util.h"
#include "keyturn/json.h"
#include "keyturn/trust_store.h"

namespace keyturn::agent {

using tools::ArgSpec;
using tools::CommandArgs;
using tools::usageError;
namespace {

int acceptLine(std::uint64_t version) {
  std::cout << "{\"decision\":\"accept\",\"version\":" << version << "}" << std::endl;
  return 0;
}

int rejectLine(const Error& e, std::uint64_t version) {
  std::cout << "{\"decision\":\"reject\",\"reason\":" << json::quote(e.reason) << ",\"detail\":" << json::quote(e.detail)
            << ",\"version\":" << version << "}" << std::endl;
  return 1;
}

// Bundle reason codes reject (exit 1); state problems are I/O errors (exit 2).
int report(const Error& e, std::uint64_t version) {
  if (e.reason == "io") return usageError(e);
  return rejectLine(e, version);
}

Result<std::string> readBundleFile(const std::string& path) {
  // One byte more than the limit, so that an oversized file is refused as malformed.
  auto bytes = readFile(path, kMaxBundleBytes + 1);
  if (!bytes) {
    if (errno == EFBIG) return std::string(kMaxBundleBytes + 1, ' ');
    return Result<std::string>::fail("io", "cannot read bundle " + path + ": " + std::strerror(errno));
  }
  return *bytes;
}

int init(const CommandArgs& args, TrustStore& store, std::int64_t now) {
  auto path = args.require("bundle");
  if (!path) return usageError(path.error());
  if (args.all("bundle").size() != 1) return usageError(Error{"usage", "trust init takes exactly one --bundle"});
  if (store.initialized())
    return rejectLine(Error{"already_initialized", "the state folder already trusts a bundle; use trust update"},
                      store.currentVersion());
  auto bytes = readBundleFile(path.value());
  if (!bytes) return usageError(bytes.error());
  auto version = store.init(bytes.value(), args.get("expect-sha256"), now);
  if (!version) return report(version.error(), store.currentVersion());
  return acceptLine(version.value());
}

int update(const CommandArgs& args, TrustStore& store, std::int64_t now) {
  const auto& files = args.all("bundle");
  if (files.empty()) return usageError(Error{"usage", "--bundle is required"});
  for (const auto& file : files) {
    auto bytes = readBundleFile(file);
    if (!bytes) return usageError(bytes.error());
    auto version = store.update(bytes.value(), now);
    if (!version) {
      Error e = version.error();
      if (files.size() > 1) e.detail = file + ": " + e.detail;
      return report(e, store.currentVersion());
    }
  }
  return acceptLine(store.currentVersion());
}

int show(TrustStore& store, std::int64_t now) {
  auto loaded = store.load(now);
  if (!loaded) return report(loaded.error(), store.currentVersion());
  const TrustBundle& b = loaded->bundle;
  std::ostringstream out;
  out << "{\"decision\":\"accept\",\"version\":" << b.version << ",\"tenant\":" << json::quote(b.tenant)
      << ",\"issued\":" << b.issued << ",\"expires\":" << b.expires
      << ",\"expired\":" << (now < static_cast<std::int64_t>(b.expires) ? "false" : "true")
      << ",\"sha256\":\"" << toHex(b.fileSha256) << "\",\"issuers\":[";
  for (std::size_t i = 0; i < b.issuers.size(); ++i) out << (i ? "," : "") << json::quote(b.issuers[i].kid());
  out << "],\"principals\":[";
  for (std::size_t i = 0; i < b.principals.size(); ++i) {
    out << (i ? "," : "") << "{\"id\":" << json::quote(b.principals[i].id) << ",\"groups\":[";
    for (std::size_t g = 0; g < b.principals[i].groups.size(); ++g)
      out << (g ? "," : "") << json::quote(b.principals[i].groups[g]);
    out << "]}";
  }
  out << "],\"update\":{\"group\":" << json::quote(b.updateGroup) << ",\"threshold\":" << b.threshold
      << "},\"policies\":[";
  for (std::size_t i = 0; i < b.policies.size(); ++i) out << (i ? "," : "") << json::quote(b.policies[i].name);
  out << "]}";
  std::cout << out.str() << std::endl;
  return 0;
}

}  // namespace

int trustCommand(int argc, char** argv) {
  std::string sub = argc > 2 ? argv[2] : "";
  ArgSpec spec{{"state", "now"}, {}, {}};
  if (sub == "init") spec.single.insert({"bundle", "expect-sha256"});
  else if (sub == "update") spec.multiple.insert("bundle");
  else if (sub != "show") return usageError(Error{"usage", "trust needs init, update or show"});
  auto args = CommandArgs::parse(argc, argv, 3, spec);
  if (!args) return usageError(args.error());
  auto state = args->require("state");
  if (!state) return usageError(state.error());
  auto now = args->now();
  if (!now) return usageError(now.error());
  if (auto hex = args->get("expect-sha256"); hex && (!fromHex(*hex) || hex->size() != 64))
    return usageError(Error{"usage", "--expect-sha256 must be 64 hex digits"});
  auto store = TrustStore::open(state.value());
  if (!store) return usageError(store.error());
  if (sub == "init") return init(args.value(), store.value(), now.value());
  if (sub == "update") return update(args.value(), store.value(), now.value());
  return show(store.value(), now.value());
}

}  // namespace keyturn::agent
