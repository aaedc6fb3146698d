// The frames the policy engine and its worker process exchange over their socket.
//
// The encoding is private to one build of Keyturn (both ends are the same binary, the
// worker is forked, not exec'd), so it is compact rather than self-describing:
// little-endian integers and length-prefixed strings. The worker never trusts a frame
// to be well formed: a Reader that runs past the end turns into a failed Reader.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "keyturn/policy_engine.h"

namespace keyturn::policywire {

// Tags of the value tree a request's params are sent as (converted from JSON by the
// caller, turned into Lua tables by the worker).
enum ValueTag : std::uint8_t {
  kNull = 'n',
  kFalse = 'f',
  kTrue = 't',
  kInteger = 'i',
  kNumber = 'd',
  kString = 's',
  kArray = 'a',
  kObject = 'o',
};

class Writer {
 public:
  void u8(std::uint8_t v) { buf_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v);
  void i64(std::int64_t v);
  void f64(double v);
  void str(std::string_view s);
  void raw(std::string_view s) { buf_.append(s); }
  const std::string& data() const { return buf_; }
  std::string take() { return std::move(buf_); }

 private:
  std::string buf_;
};

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  std::uint8_t u8();
  std::uint32_t u32();
  std::int64_t i64();
  double f64();
  std::string_view str();
  // Skips one encoded value (see ValueTag) and returns its bytes; fails past depth 64.
  std::string_view value(int depth = 0);
  bool ok() const { return ok_; }
  bool atEnd() const { return pos_ == data_.size(); }

 private:
  bool need(std::size_t n);
  std::string_view data_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

// One evaluation as the worker receives it.
struct EvalRequest {
  PolicyRequest req;
  DeviceFacts device;
  std::string params;                   // encoded value tree (ValueTag), an object
  std::vector<std::uint32_t> policies;  // bundle indices to evaluate, in order
};

std::string encodeEvalRequest(const PolicyRequest& req, const DeviceFacts& device,
                              std::string_view params, const std::vector<std::uint32_t>& policies);
// False when the frame is malformed.
bool decodeEvalRequest(std::string_view frame, EvalRequest& out);

// The worker's answer: one outcome per requested policy (policy/file left empty).
std::string encodeOutcomes(const std::vector<PolicyOutcome>& outcomes);
bool decodeOutcomes(std::string_view frame, std::vector<PolicyOutcome>& out);

// The worker's report on loading one source: ok with name and actions, or an error.
std::string encodeLoadReport(bool ok, const PolicyInfo& info, std::string_view error);
bool decodeLoadReport(std::string_view frame, bool& ok, PolicyInfo& info, std::string& error);

}  // namespace keyturn::policywire
