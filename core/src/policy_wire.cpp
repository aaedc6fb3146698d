#include "keyturn/policy_wire.h"

#include <cstring>

namespace keyturn::policywire {

void Writer::u32(std::uint32_t v) {
  for (int i = 0; i < 4; ++i) u8(static_cast<std::uint8_t>(v >> (8 * i)));
}

void Writer::i64(std::int64_t v) {
  auto u = static_cast<std::uint64_t>(v);
  for (int i = 0; i < 8; ++i) u8(static_cast<std::uint8_t>(u >> (8 * i)));
}

void Writer::f64(double v) {
  std::uint64_t u = 0;
  std::memcpy(&u, &v, sizeof u);
  i64(static_cast<std::int64_t>(u));
}

void Writer::str(std::string_view s) {
  u32(static_cast<std::uint32_t>(s.size()));
  buf_.append(s);
}

bool Reader::need(std::size_t n) {
  if (!ok_ || data_.size() - pos_ < n) ok_ = false;
  return ok_;
}

std::uint8_t Reader::u8() {
  if (!need(1)) return 0;
  return static_cast<std::uint8_t>(data_[pos_++]);
}

std::uint32_t Reader::u32() {
  if (!need(4)) return 0;
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t{u8()} << (8 * i);
  return v;
}

std::int64_t Reader::i64() {
  if (!need(8)) return 0;
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t{u8()} << (8 * i);
  return static_cast<std::int64_t>(v);
}

double Reader::f64() {
  auto u = static_cast<std::uint64_t>(i64());
  double v = 0;
  std::memcpy(&v, &u, sizeof v);
  return v;
}

std::string_view Reader::str() {
  std::uint32_t n = u32();
  if (!need(n)) return {};
  std::string_view s = data_.substr(pos_, n);
  pos_ += n;
  return s;
}

std::string_view Reader::value(int depth) {
  std::size_t start = pos_;
  if (depth > 64) ok_ = false;
  switch (u8()) {
    case kNull:
    case kFalse:
    case kTrue:
      break;
    case kInteger:
      i64();
      break;
    case kNumber:
      f64();
      break;
    case kString:
      str();
      break;
    case kArray:
      for (std::uint32_t n = u32(); ok_ && n > 0; --n) value(depth + 1);
      break;
    case kObject:
      for (std::uint32_t n = u32(); ok_ && n > 0; --n) {
        str();
        value(depth + 1);
      }
      break;
    default:
      ok_ = false;
  }
  if (!ok_) return {};
  return data_.substr(start, pos_ - start);
}

namespace {

void writeList(Writer& w, const std::vector<std::string>& items) {
  w.u32(static_cast<std::uint32_t>(items.size()));
  for (const auto& s : items) w.str(s);
}

void readList(Reader& r, std::vector<std::string>& items) {
  items.clear();
  for (std::uint32_t n = r.u32(); r.ok() && n > 0; --n) items.emplace_back(r.str());
}

}  // namespace

std::string encodeEvalRequest(const PolicyRequest& req, const DeviceFacts& device,
                              std::string_view params, const std::vector<std::uint32_t>& policies) {
  Writer w;
  w.str(req.id);
  w.str(req.action);
  w.str(req.requesterId);
  writeList(w, req.requesterGroups);
  w.str(req.justification);
  w.i64(static_cast<std::int64_t>(req.targetCount));
  w.i64(req.created);
  w.i64(req.expires);
  w.i64(req.now);
  w.str(device.id);
  w.str(device.ownership);
  w.str(device.platform);
  w.str(device.osVersion);
  writeList(w, device.groups);
  w.u32(static_cast<std::uint32_t>(device.tags.size()));
  for (const auto& [k, v] : device.tags) {
    w.str(k);
    w.str(v);
  }
  w.raw(params);
  w.u32(static_cast<std::uint32_t>(policies.size()));
  for (auto i : policies) w.u32(i);
  return w.take();
}

bool decodeEvalRequest(std::string_view frame, EvalRequest& out) {
  Reader r(frame);
  out.req.id = r.str();
  out.req.action = r.str();
  out.req.requesterId = r.str();
  readList(r, out.req.requesterGroups);
  out.req.justification = r.str();
  out.req.targetCount = static_cast<std::uint64_t>(r.i64());
  out.req.created = r.i64();
  out.req.expires = r.i64();
  out.req.now = r.i64();
  out.device.id = r.str();
  out.device.ownership = r.str();
  out.device.platform = r.str();
  out.device.osVersion = r.str();
  readList(r, out.device.groups);
  out.device.tags.clear();
  for (std::uint32_t n = r.u32(); r.ok() && n > 0; --n) {
    std::string k(r.str());
    out.device.tags[k] = std::string(r.str());
  }
  out.params = r.value();
  out.policies.clear();
  for (std::uint32_t n = r.u32(); r.ok() && n > 0; --n) out.policies.push_back(r.u32());
  return r.ok() && r.atEnd() && !out.params.empty() && out.params[0] == kObject;
}

std::string encodeOutcomes(const std::vector<PolicyOutcome>& outcomes) {
  Writer w;
  w.u32(static_cast<std::uint32_t>(outcomes.size()));
  for (const auto& o : outcomes) {
    w.u8(static_cast<std::uint8_t>(o.kind));
    w.i64(o.approvals);
    w.str(o.group);
    w.str(o.message);
  }
  return w.take();
}

bool decodeOutcomes(std::string_view frame, std::vector<PolicyOutcome>& out) {
  Reader r(frame);
  out.clear();
  for (std::uint32_t n = r.u32(); r.ok() && n > 0; --n) {
    PolicyOutcome o;
    std::uint8_t kind = r.u8();
    if (kind > static_cast<std::uint8_t>(PolicyOutcome::Kind::kError)) return false;
    o.kind = static_cast<PolicyOutcome::Kind>(kind);
    o.approvals = static_cast<int>(r.i64());
    o.group = r.str();
    o.message = r.str();
    out.push_back(std::move(o));
  }
  return r.ok() && r.atEnd();
}

std::string encodeLoadReport(bool ok, const PolicyInfo& info, std::string_view error) {
  Writer w;
  w.u8(ok ? 1 : 0);
  w.str(info.name);
  w.u32(static_cast<std::uint32_t>(info.actions.size()));
  for (const auto& a : info.actions) w.str(a);
  w.str(error);
  return w.take();
}

bool decodeLoadReport(std::string_view frame, bool& ok, PolicyInfo& info, std::string& error) {
  Reader r(frame);
  ok = r.u8() == 1;
  info.name = r.str();
  info.actions.clear();
  for (std::uint32_t n = r.u32(); r.ok() && n > 0; --n) info.actions.emplace_back(r.str());
  error = r.str();
  return r.ok() && r.atEnd();
}

}  // namespace keyturn::policywire
