// Strict JSON reading (PROTOCOL.md section 2) into Poco JSON values, and the small
// schema helpers every signed object is validated with.
//
// The reader is RFC 8259 JSON and nothing more: it refuses duplicate member names (which
// Poco's own parser silently resolves to the last one), a BOM, invalid UTF-8, lone
// surrogate escapes, NUL characters, control characters in strings, comments, trailing
// data, nesting deeper than the limit (the outermost value is depth 1) and "-0".
// Integers are kept as Int64 (UInt64 above INT64_MAX) and anything with a fraction or
// exponent as double, so the schema helpers can tell a plain integer literal from
// anything else. docs/decisions.md says why this is our own reader and not Poco's.
#pragma once

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "keyturn/result.h"

namespace keyturn::json {

using Poco::JSON::Array;
using Poco::JSON::Object;

constexpr std::size_t kMaxDepth = 32;
constexpr std::uint64_t kMaxInteger = 1ull << 53;

// Parses `text` strictly. Fails with reason "malformed" and a detail.
Result<Poco::Dynamic::Var> parse(std::string_view text, std::size_t maxDepth = kMaxDepth);
// As parse(), and the outermost value must be an object.
Result<Object::Ptr> parseObject(std::string_view text, std::size_t maxDepth = kMaxDepth);

// Compact serialisation (no spaces), members in insertion order where Poco keeps it.
std::string stringify(const Poco::Dynamic::Var& v);
std::string stringify(const Object::Ptr& o);

// A JSON string literal (with quotes) for `s`, escaping quotes, backslashes and
// control characters; used when a header or payload is written member by member.
std::string quote(std::string_view s);

// Number of Unicode code points in valid UTF-8 text.
std::size_t codePoints(std::string_view utf8);
// True when `s` is valid UTF-8 (no overlongs, surrogates or values above U+10FFFF).
bool validUtf8(std::string_view s);

// Schema helpers. `where` names the object in error details ("payload", "signatures[2]
// protected header"). All fail with reason "malformed" naming the member.
Status onlyMembers(const Object& o, std::initializer_list<std::string_view> allowed,
                   std::string_view where);
Result<std::string> getString(const Object& o, const std::string& key, std::string_view where);
Result<std::uint64_t> getInteger(const Object& o, const std::string& key,
                                 std::string_view where);
Result<Object::Ptr> getObject(const Object& o, const std::string& key, std::string_view where);
Result<Array::Ptr> getArray(const Object& o, const std::string& key, std::string_view where);
Result<bool> getBool(const Object& o, const std::string& key, std::string_view where);

// Same checks for a bare value (array elements).
Result<std::string> asString(const Poco::Dynamic::Var& v, std::string_view where);
Result<std::uint64_t> asInteger(const Poco::Dynamic::Var& v, std::string_view where);
Result<Object::Ptr> asObject(const Poco::Dynamic::Var& v, std::string_view where);

}  // namespace keyturn::json
