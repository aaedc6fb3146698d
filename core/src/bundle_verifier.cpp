#include "keyturn/bundle_verifier.h"

#include <set>

#include "keyturn/crypto_util.h"

namespace keyturn {
namespace {

using R = Result<AcceptedBundle>;

// The keyrings a signature may be resolved in: for init the bundle itself, for update
// the current bundle or the new one. Issuer keys never count.
const Ed25519PublicKey* resolve(const std::string& kid, const TrustBundle& a, const TrustBundle* b) {
  if (const auto* k = a.principalKey(kid)) return k;
  return b ? b->principalKey(kid) : nullptr;
}

Status checkKeysAndSignatures(const TrustBundle& candidate, const TrustBundle& first, const TrustBundle* second) {
  for (const auto& s : candidate.signatures) {
    if (!resolve(s.kid, first, second))
      return Status::fail("unknown_key", "bundle signature " + std::to_string(s.entry) + " uses kid " + s.kid +
                                             ", which is not a principal key of the bundle that must count it");
  }
  for (const auto& s : candidate.signatures) {
    const auto& js = candidate.envelope.signatures[s.entry];
    const Ed25519PublicKey* key = resolve(s.kid, first, second);
    if (!key->verify(candidate.envelope.signingInput(js), js.signature.data(), js.signature.size()))
      return Status::fail("bad_signature", "bundle signature " + std::to_string(s.entry) + " (kid " + s.kid +
                                               ") does not verify");
  }
  return Status::ok();
}

// Distinct principals of `keyring`'s update group whose key signed `candidate`. A
// principal's several keys count once.
std::size_t countSigners(const TrustBundle& candidate, const TrustBundle& keyring) {
  std::set<std::string> principals;
  for (const auto& s : candidate.signatures) {
    const BundlePrincipal* p = keyring.principalByKid(s.kid);
    if (p && p->inGroup(keyring.updateGroup)) principals.insert(p->id);
  }
  return principals.size();
}

Status checkThreshold(const TrustBundle& candidate, const TrustBundle& keyring, const char* which) {
  std::size_t n = countSigners(candidate, keyring);
  if (n < keyring.threshold)
    return Status::fail("threshold_not_met", std::string(which) + " bundle (version " + std::to_string(keyring.version) +
                                                 ") requires " + std::to_string(keyring.threshold) +
                                                 " distinct principals of \"" + keyring.updateGroup + "\"; " +
                                                 std::to_string(n) + " signed");
  return Status::ok();
}

R finish(TrustBundle b, const AcceptOptions& options) {
  if (options.checkExpiry && !(options.now < static_cast<std::int64_t>(b.expires)))
    return R::fail("bundle_expired", "bundle version " + std::to_string(b.version) + " expired at " +
                                         std::to_string(b.expires) + " (now " + std::to_string(options.now) + ")");
  // Only now, after every signature and threshold passed, does any Lua run.
  auto engine = PolicyEngine::load(b.policies, options.limits);
  if (!engine) return R::fail("policy_error", engine.detail());
  return AcceptedBundle{std::move(b), std::move(engine).value()};
}

}  // namespace

Result<AcceptedBundle> acceptInitialBundle(std::string_view fileBytes,
                                           const std::optional<std::string>& expectSha256Hex,
                                           const AcceptOptions& options) {
  if (expectSha256Hex) {
    auto want = fromHex(*expectSha256Hex);
    Digest got = sha256(fileBytes);
    if (!want || want->size() != 32 || !constantTimeEqual(want->data(), got.data(), 32))
      return R::fail("digest_mismatch", "the bundle file's SHA-256 is " + toHex(got) + ", not the expected " +
                                            *expectSha256Hex);
  }
  auto parsed = TrustBundle::parse(fileBytes);
  if (!parsed) return parsed.error();
  TrustBundle& b = parsed.value();
  if (Status s = checkKeysAndSignatures(b, b, nullptr); !s) return s.error();
  if (Status s = checkThreshold(b, b, "the"); !s) return s.error();
  return finish(std::move(b), options);
}

Result<AcceptedBundle> acceptBundleUpdate(const TrustBundle& current, std::string_view fileBytes,
                                          const AcceptOptions& options) {
  auto parsed = TrustBundle::parse(fileBytes);
  if (!parsed) return parsed.error();
  TrustBundle& b = parsed.value();
  if (b.tenant != current.tenant)
    return R::fail("wrong_tenant", "the bundle is for tenant \"" + b.tenant + "\", this device trusts \"" +
                                       current.tenant + "\"");
  if (b.version <= current.version)
    return R::fail("rollback", "bundle version " + std::to_string(b.version) + " is not newer than the current " +
                                   std::to_string(current.version));
  if (b.version != current.version + 1)
    return R::fail("version_gap", "bundle version " + std::to_string(b.version) + " skips versions after " +
                                      std::to_string(current.version) + "; apply them in order");
  if (Status s = checkKeysAndSignatures(b, current, &b); !s) return s.error();
  if (Status s = checkThreshold(b, current, "the current"); !s) return s.error();
  if (Status s = checkThreshold(b, b, "the new"); !s) return s.error();
  return finish(std::move(b), options);
}

}  // namespace keyturn
