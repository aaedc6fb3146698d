#include "request_file.h"

#include <cerrno>
#include <cstring>

#include "keyturn/crypto_util.h"
#include "keyturn/json.h"
#include "keyturn/merkle.h"

namespace keyturn::cli {

Result<RequestFile> readRequestFile(const std::string& path) {
  using R = Result<RequestFile>;
  auto text = readFile(path, 64 * 1024 * 1024);
  if (!text) return R::fail("io", "cannot read " + path + ": " + std::strerror(errno));
  auto root = json::parseObject(*text);
  if (!root) return R::fail("malformed", path + ": " + root.detail());
  const auto& o = *root.value();
  if (Status s = json::onlyMembers(o, {"kt", "token", "targets"}, "request file"); !s)
    return s.error();
  auto kt = json::getString(o, "kt", "request file");
  if (!kt || kt.value() != "request-file/1")
    return R::fail("malformed", path + " is not a request file (kt)");
  auto token = json::getObject(o, "token", "request file");
  if (!token) return token.error();
  auto parsed = parseToken(json::stringify(token.value()));
  if (!parsed) return R::fail(parsed.reason(), "the request's token: " + parsed.detail());
  auto targets = json::getArray(o, "targets", "request file");
  if (!targets) return targets.error();
  RequestFile f{std::move(parsed).value(), {}};
  for (std::size_t i = 0; i < targets.value()->size(); ++i) {
    auto id = json::asString(targets.value()->get(static_cast<unsigned>(i)),
                             "targets[" + std::to_string(i) + "]");
    if (!id) return id.error();
    f.targets.push_back(id.value());
  }
  return f;
}

Status writeRequestFile(const std::string& path, const JwsEnvelope& token,
                        const std::vector<std::string>& targets) {
  std::string out = "{\"kt\":\"request-file/1\",\"token\":" + token.serialize() + ",\"targets\":[";
  for (std::size_t i = 0; i < targets.size(); ++i) out += (i ? "," : "") + json::quote(targets[i]);
  out += "]}\n";
  if (std::string err = writeFileAtomic(path, out, 0644); !err.empty())
    return Status::fail("io", err);
  return Status::ok();
}

Status checkTargets(const RequestFile& f) {
  auto sorted = canonicalTargets(f.targets);
  if (!sorted)
    return Status::fail("targets_mismatch", "the target list is not valid: " + sorted.detail());
  const auto& p = f.token.payload;
  if (sorted->size() != p.targetCount)
    return Status::fail("targets_mismatch", "the file lists " + std::to_string(sorted->size()) +
                                                " targets; the signed request covers " +
                                                std::to_string(p.targetCount));
  MerkleTree tree(sorted.value());
  if (tree.root() != p.targetRoot)
    return Status::fail("targets_mismatch",
                        "the target list does not hash to the request's Merkle root: "
                        "it is not the list the requester signed");
  return Status::ok();
}

}  // namespace keyturn::cli
