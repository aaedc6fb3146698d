#include "keyturn/json.h"

#include <Poco/JSON/ParseHandler.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <optional>
#include <set>
#include <sstream>
#include <vector>

namespace keyturn::json {
namespace {

struct StrictError {
  std::string detail;
};

// Refuses what Poco's default handler lets through: duplicate member names, excess
// depth, NUL characters and invalid UTF-8 in names and strings. Integers are stored as
// Int64 so the schema helpers need to know one integer type only.
class StrictHandler : public Poco::JSON::ParseHandler {
 public:
  explicit StrictHandler(std::size_t maxDepth) : ParseHandler(true), maxDepth_(maxDepth) {}

  void reset() override {
    ParseHandler::reset();
    keys_.clear();
    depth_ = 0;
  }
  void startObject() override {
    enter();
    keys_.emplace_back();
    ParseHandler::startObject();
  }
  void endObject() override {
    keys_.pop_back();
    --depth_;
    ParseHandler::endObject();
  }
  void startArray() override {
    enter();
    ParseHandler::startArray();
  }
  void endArray() override {
    --depth_;
    ParseHandler::endArray();
  }
  void key(const std::string& k) override {
    checkText(k, "member name");
    if (!keys_.empty() && !keys_.back().insert(k).second)
      throw StrictError{"duplicate member name \"" + k + "\""};
    ParseHandler::key(k);
  }
  void value(const std::string& s) override {
    checkText(s, "string");
    scalar();
    ParseHandler::value(s);
  }
  void value(int v) override {
    scalar();
    ParseHandler::value(static_cast<Poco::Int64>(v));
  }
  void value(unsigned v) override {
    scalar();
    ParseHandler::value(static_cast<Poco::Int64>(v));
  }
  void value(Poco::Int64 v) override {
    scalar();
    ParseHandler::value(v);
  }
  void value(Poco::UInt64 v) override {
    scalar();
    ParseHandler::value(v);
  }
  void value(double d) override {
    scalar();
    ParseHandler::value(d);
  }
  void value(bool b) override {
    scalar();
    ParseHandler::value(b);
  }
  void null() override {
    scalar();
    ParseHandler::null();
  }

 private:
  void enter() {
    if (++depth_ > maxDepth_)
      throw StrictError{"nesting deeper than " + std::to_string(maxDepth_) + " levels"};
  }
  // A scalar at the top level is depth 1; inside a container it adds one level.
  void scalar() {
    if (depth_ + 1 > maxDepth_)
      throw StrictError{"nesting deeper than " + std::to_string(maxDepth_) + " levels"};
  }
  static void checkText(const std::string& s, const char* what) {
    if (s.find('\0') != std::string::npos) throw StrictError{std::string(what) + " contains a NUL character"};
    if (!validUtf8(s)) throw StrictError{std::string(what) + " is not valid UTF-8"};
  }

  std::size_t maxDepth_;
  std::size_t depth_ = 0;
  std::vector<std::set<std::string>> keys_;
};

// Lexical checks Poco cannot express: a BOM, raw NUL bytes, invalid UTF-8 anywhere, and
// "-0" (the protocol allows no minus sign on integers, and Poco reads -0 as 0).
std::string lexicalCheck(std::string_view text) {
  if (text.size() >= 3 && static_cast<unsigned char>(text[0]) == 0xEF &&
      static_cast<unsigned char>(text[1]) == 0xBB && static_cast<unsigned char>(text[2]) == 0xBF)
    return "a byte order mark is not allowed";
  if (text.find('\0') != std::string_view::npos) return "NUL byte in the document";
  if (!validUtf8(text)) return "the document is not valid UTF-8";
  bool inString = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (inString) {
      if (c == '\\') ++i;
      else if (c == '"') inString = false;
    } else if (c == '"') {
      inString = true;
    } else if (c == '-' && i + 1 < text.size() && text[i + 1] == '0') {
      char n = i + 2 < text.size() ? text[i + 2] : ' ';
      if (n != '.' && n != 'e' && n != 'E') return "negative zero is not allowed";
    }
  }
  return {};
}

std::string typeName(const Poco::Dynamic::Var& v) {
  if (v.isEmpty()) return "null";
  if (v.type() == typeid(Object::Ptr)) return "object";
  if (v.type() == typeid(Array::Ptr)) return "array";
  if (v.isString()) return "string";
  if (v.isBoolean()) return "boolean";
  if (v.type() == typeid(double)) return "fraction";
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
  if (std::string lex = lexicalCheck(text); !lex.empty()) return Result<Poco::Dynamic::Var>::fail("malformed", "JSON: " + lex);
  auto* strict = new StrictHandler(maxDepth);
  Poco::JSON::Handler::Ptr handler(strict);
  Poco::JSON::Parser parser(handler);
  parser.setAllowComments(false);
  parser.setAllowNullByte(false);
  parser.setDepth(maxDepth + 1);  // our handler reports depth with a clearer message
  try {
    parser.parse(std::string(text));
  } catch (const StrictError& e) {
    return Result<Poco::Dynamic::Var>::fail("malformed", "JSON: " + e.detail);
  } catch (const Poco::Exception& e) {
    return Result<Poco::Dynamic::Var>::fail("malformed", "JSON: " + e.displayText());
  } catch (const std::exception& e) {
    return Result<Poco::Dynamic::Var>::fail("malformed", std::string("JSON: ") + e.what());
  }
  return strict->asVar();
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
