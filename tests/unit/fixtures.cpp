#include "fixtures.h"

#include <stdexcept>

#include "keyturn/json.h"

namespace keyturn::test {

std::vector<PolicySource> defaultTestPolicies() {
  return {
      {"device_actions.lua",
       "return { name = 'device-wipe', actions = { 'device.wipe', 'device.retire' },\n"
       "  evaluate = function(req, device)\n"
       "    if device.ownership == 'personal' then return { approvals = 2, group = 'hr-wipe-approvers' } end\n"
       "    return { approvals = 1, group = 'device-approvers' }\n"
       "  end }\n"},
      {"deny.lua",
       "return { name = 'deny-test', actions = { 'test.deny' },\n"
       "  evaluate = function(req, device) return { deny = 'tests deny this' } end }\n"},
      {"boom.lua",
       "return { name = 'boom', actions = { 'test.boom' },\n"
       "  evaluate = function(req, device) error('boom') end }\n"},
  };
}

Ed25519PrivateKey fixedKey(const std::string& name) { return Ed25519PrivateKey::fromSeed(sha256(name)); }

Tenant::Tenant() : issuer(fixedKey("issuer")) {
  auto add = [&](const std::string& id, std::vector<std::string> groups, int nkeys = 1) {
    Admin a{id, std::move(groups), {}};
    for (int i = 0; i < nkeys; ++i) a.keys.push_back(fixedKey(id + "#" + std::to_string(i)));
    admins.emplace(id, std::move(a));
  };
  add("alice", {"maa-admins", "device-admins"}, 2);
  add("bob", {"maa-admins", "device-approvers"});
  add("carol", {"maa-admins", "hr-wipe-approvers", "device-approvers"});
  add("dave", {"hr-wipe-approvers"});
  add("erin", {"auditors"});
}

const Ed25519PrivateKey& Tenant::key(const std::string& admin, std::size_t i) const {
  return admins.at(admin).keys.at(i);
}

BundleDraft Tenant::draft(std::uint64_t version, std::vector<PolicySource> policies) const {
  BundleDraft d;
  d.tenant = "contoso";
  d.version = version;
  d.issued = kNow - 86400;
  d.expires = kNow + 90 * 86400;
  d.issuersX = {issuer.publicKey().x()};
  for (const auto& [id, a] : admins) {
    BundleDraft::Principal p{id, a.groups, {}};
    for (const auto& k : a.keys) p.keysX.push_back(k.publicKey().x());
    d.principals.push_back(std::move(p));
  }
  d.updateGroup = "maa-admins";
  d.threshold = 2;
  d.roles = {{"audit.read", {"auditors", "maa-admins"}}};
  d.policies = std::move(policies);
  return d;
}

std::string Tenant::signPayload(const std::string& payload, const std::vector<std::string>& signers) const {
  JwsEnvelope jws = newJws(payload);
  for (const auto& s : signers) {
    const auto& k = key(s);
    appendSignature(jws, k, bundleSignatureHeader(k.publicKey().kid(), kNow - 100));
  }
  return jws.serialize();
}

std::string Tenant::sign(const BundleDraft& d, const std::vector<std::string>& signers) const {
  return signPayload(bundlePayloadJson(d), signers);
}

AcceptedBundle Tenant::v1() const {
  auto r = acceptInitialBundle(sign(draft(1), {"alice", "bob"}), std::nullopt, AcceptOptions{kNow, true, {}});
  if (!r) throw std::runtime_error("fixture bundle refused: " + r.reason() + ": " + r.detail());
  return std::move(r).value();
}

namespace {
const Ed25519PrivateKey& signerKey(const Tenant& t, const std::string& name) {
  auto hash = name.find('#');
  if (hash == std::string::npos) return t.key(name);
  return t.key(name.substr(0, hash), std::stoul(name.substr(hash + 1)));
}
}  // namespace

std::string makeToken(const Tenant& t, const TokenSpec& s) {
  RequestDraft d{s.tenant, s.id, s.action, s.paramsJson, s.targets, s.requester, s.justification,
                 s.created, s.expires, s.bundle};
  auto payload = requestPayloadJson(d);
  if (!payload) throw std::runtime_error("fixture payload refused: " + payload.detail());
  JwsEnvelope jws = newJws(payload.value());
  const auto& req = signerKey(t, s.requesterSigner.empty() ? s.requester : s.requesterSigner);
  appendSignature(jws, req, requesterHeader(req.publicKey().kid(), s.requesterAt ? s.requesterAt : s.created + 10));
  std::uint64_t at = s.approverAt ? s.approverAt : s.created + 20;
  for (const auto& a : s.approvers) {
    const auto& k = signerKey(t, a);
    appendSignature(jws, k, approverHeader(k.publicKey().kid(), at++));
  }
  if (s.completed) {
    const auto& c = signerKey(t, s.completerSigner.empty() ? s.requester : s.completerSigner);
    appendSignature(jws, c, completerHeader(c.publicKey().kid(), s.completerAt ? s.completerAt : at + 10));
  }
  if (s.issued) {
    auto sorted = canonicalTargets(s.targets).value();
    MerkleTree tree(sorted);
    std::size_t index = 0;
    while (index < sorted.size() && sorted[index] != s.device) ++index;
    if (index == sorted.size()) index = 0;  // a device outside the targets: the proof of leaf 0
    appendSignature(jws, t.issuer,
                    issuerHeader(t.issuer.publicKey().kid(), s.nbf, s.device, index, tree.auditPath(index), s.nbf, s.exp));
  }
  return jws.serialize();
}

std::string withPayload(const std::string& token, const std::string& payloadJson) {
  auto env = parseJws(token, 64).value();
  env.payload = payloadJson;
  env.payloadB64 = newJws(payloadJson).payloadB64;
  return env.serialize();
}

std::string addSignature(const std::string& token, const Ed25519PrivateKey& key, const std::string& header) {
  auto env = parseJws(token, 64).value();
  appendSignature(env, key, header);
  return env.serialize();
}

DeviceFacts device(const std::string& id, const std::string& ownership) {
  DeviceFacts f;
  f.id = id;
  f.ownership = ownership;
  f.platform = "linux";
  return f;
}

}  // namespace keyturn::test
