// Result types used at every module boundary of the core library.
//
// A failure always carries a machine-readable reason (for the agent and the trust
// commands these are exactly the reason codes of PROTOCOL.md) and a detail sentence
// for people. Nothing in core returns a bare bool for a security decision.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace keyturn {

struct Error {
  std::string reason;  // spec reason code, e.g. "malformed", "bad_signature"
  std::string detail;  // human-readable, names the field or check that failed
};

// Status: success, or an Error. Cheap to construct on the success path.
class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status ok() { return Status(); }
  static Status fail(std::string reason, std::string detail) {
    return Status(Error{std::move(reason), std::move(detail)});
  }
  Status(Error e) : error_(std::move(e)) {}  // NOLINT: implicit on purpose

  bool isOk() const { return !error_.has_value(); }
  explicit operator bool() const { return isOk(); }
  // On success: an Error with empty reason and detail (never undefined behaviour).
  const Error& error() const { return error_ ? *error_ : none(); }
  const std::string& reason() const { return error().reason; }
  const std::string& detail() const { return error().detail; }

 private:
  static const Error& none() {
    static const Error kNone;
    return kNone;
  }
  std::optional<Error> error_;
};

// Result<T>: a value, or an Error. Access value() only after checking isOk().
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit on purpose
  Result(Error e) : v_(std::move(e)) {}      // NOLINT: implicit on purpose
  Result(Status s) : v_(s.error()) {}        // only from a failed Status
  static Result fail(std::string reason, std::string detail) {
    return Result(Error{std::move(reason), std::move(detail)});
  }

  bool isOk() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return isOk(); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &std::get<T>(v_); }
  const T* operator->() const { return &std::get<T>(v_); }
  const Error& error() const { return std::get<Error>(v_); }
  const std::string& reason() const { return error().reason; }
  const std::string& detail() const { return error().detail; }
  Status status() const { return isOk() ? Status() : Status(error()); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace keyturn
