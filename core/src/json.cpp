#include "keyturn/json.h"

#include "json_reader.h"

#include <Poco/JSON/Stringifier.h>

#include <optional>
#include <set>
#include <sstream>
#include <vector>

namespace keyturn::json {
namespace {

std::string typeName(const Poco::Dynamic::Var& v) {
  if (v.isEmpty()) return "null";
  if (v.type() == typeid(Object::Ptr)) return "object";
  if (v.type() == typeid(Array::Ptr)) return "array";
  if (v.isString()) return "string";
  if (v.isBoolean()) return "boolean";
  if (v.type() == typeid(double)) return "number with a fraction, an exponent or over 64 bits";
  return "number";
}

std::string memberPath(std::string_view where, const std::string& key) {
  std::string s(where);
  s += '.';
  s += key;
  return s;
}

}  // namespace

bool validUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t n = s.size(), i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) { ++i; continue; }
    std::size_t len;
    std::uint32_t cp;
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
    else return false;
    if (i + len > n) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

std::string quote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          out += kHex[(c >> 4) & 15];
          out += kHex[c & 15];
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::size_t codePoints(std::string_view utf8) {
  std::size_t n = 0;
  for (unsigned char c : utf8)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

Result<Poco::Dynamic::Var> parse(std::string_view text, std::size_t maxDepth) {
  JsonReader reader(text, maxDepth);
  Poco::Dynamic::Var out;
  if (!reader.read(out)) return Result<Poco::Dynamic::Var>::fail("malformed", "JSON: " + reader.error());
  return out;
}

Result<Object::Ptr> parseObject(std::string_view text, std::size_t maxDepth) {
  auto v = parse(text, maxDepth);
  if (!v) return v.error();
  if (v.value().type() != typeid(Object::Ptr))
    return Result<Object::Ptr>::fail("malformed", "JSON: expected an object, got " + typeName(v.value()));
  return v.value().extract<Object::Ptr>();
}

std::string stringify(const Poco::Dynamic::Var& v) {
  std::ostringstream out;
  Poco::JSON::Stringifier::condense(v, out);
  return out.str();
}

std::string stringify(const Object::Ptr& o) {
  std::ostringstream out;
  o->stringify(out);
  return out.str();
}

Status onlyMembers(const Object& o, std::initializer_list<std::string_view> allowed,
                   std::string_view where) {
  for (const auto& [name, value] : o) {
    bool known = false;
    for (auto a : allowed) {
      if (name == a) { known = true; break; }
    }
    if (!known) return Status::fail("malformed", std::string(where) + ": unknown member \"" + name + "\"");
  }
  return Status::ok();
}

Result<std::string> asString(const Poco::Dynamic::Var& v, std::string_view where) {
  if (!v.isString() || v.isEmpty())
    return Result<std::string>::fail("malformed", std::string(where) + " must be a string, got " + typeName(v));
  return v.extract<std::string>();
}

Result<std::uint64_t> asInteger(const Poco::Dynamic::Var& v, std::string_view where) {
  auto bad = [&](const std::string& why) {
    return Result<std::uint64_t>::fail("malformed", std::string(where) + " " + why);
  };
  if (v.type() == typeid(Poco::Int64)) {
    Poco::Int64 n = v.extract<Poco::Int64>();
    if (n < 0) return bad("must not be negative");
    if (static_cast<std::uint64_t>(n) > kMaxInteger) return bad("exceeds 2^53");
    return static_cast<std::uint64_t>(n);
  }
  if (v.type() == typeid(Poco::UInt64)) return bad("exceeds 2^53");
  return bad("must be a plain integer, got " + typeName(v));
}

Result<Object::Ptr> asObject(const Poco::Dynamic::Var& v, std::string_view where) {
  if (v.type() != typeid(Object::Ptr))
    return Result<Object::Ptr>::fail("malformed", std::string(where) + " must be an object, got " + typeName(v));
  return v.extract<Object::Ptr>();
}

namespace {
// Object::get copies the value; a lookup by reference keeps the schema checks cheap.
std::optional<Poco::Dynamic::Var> find(const Object& o, const std::string& key) {
  if (!o.has(key)) return std::nullopt;
  return o.get(key);
}
}  // namespace

Result<std::string> getString(const Object& o, const std::string& key, std::string_view where) {
  auto v = find(o, key);
  if (!v) return Result<std::string>::fail("malformed", memberPath(where, key) + " is missing");
  return asString(*v, memberPath(where, key));
}

Result<std::uint64_t> getInteger(const Object& o, const std::string& key, std::string_view where) {
  auto v = find(o, key);
  if (!v) return Result<std::uint64_t>::fail("malformed", memberPath(where, key) + " is missing");
  return asInteger(*v, memberPath(where, key));
}

Result<Object::Ptr> getObject(const Object& o, const std::string& key, std::string_view where) {
  auto v = find(o, key);
  if (!v) return Result<Object::Ptr>::fail("malformed", memberPath(where, key) + " is missing");
  return asObject(*v, memberPath(where, key));
}

Result<Array::Ptr> getArray(const Object& o, const std::string& key, std::string_view where) {
  auto v = find(o, key);
  if (!v) return Result<Array::Ptr>::fail("malformed", memberPath(where, key) + " is missing");
  if (v->type() != typeid(Array::Ptr))
    return Result<Array::Ptr>::fail("malformed", memberPath(where, key) + " must be an array, got " + typeName(*v));
  return v->extract<Array::Ptr>();
}

Result<bool> getBool(const Object& o, const std::string& key, std::string_view where) {
  auto v = find(o, key);
  if (!v) return Result<bool>::fail("malformed", memberPath(where, key) + " is missing");
  if (v->type() != typeid(bool))
    return Result<bool>::fail("malformed", memberPath(where, key) + " must be a boolean, got " + typeName(*v));
  return v->extract<bool>();
}

}  // namespace keyturn::json
