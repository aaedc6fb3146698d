#include "json_reader.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <cerrno>
#include <cstdlib>
#include <limits>

#include "keyturn/json.h"

namespace keyturn::json {

bool JsonReader::fail(const std::string& what) {
  if (error_.empty()) error_ = what + " at byte " + std::to_string(pos_);
  return false;
}

void JsonReader::skipSpace() {
  while (pos_ < text_.size()) {
    char c = text_[pos_];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    ++pos_;
  }
}

bool JsonReader::read(Poco::Dynamic::Var& out) {
  if (text_.size() >= 3 && text_.substr(0, 3) == "\xEF\xBB\xBF") return fail("a byte order mark is not allowed");
  // Raw bytes are checked once here; string() then only has to handle escapes.
  if (!validUtf8(text_)) return fail("the document is not valid UTF-8");
  skipSpace();
  if (!value(out, 1)) return false;
  skipSpace();
  if (pos_ != text_.size()) return fail("unexpected data after the JSON value");
  return true;
}

bool JsonReader::value(Poco::Dynamic::Var& out, std::size_t depth) {
  if (depth > maxDepth_) return fail("nesting deeper than " + std::to_string(maxDepth_) + " levels");
  if (pos_ >= text_.size()) return fail("unexpected end of the document");
  switch (text_[pos_]) {
    case '{': return object(out, depth);
    case '[': return array(out, depth);
    case '"': {
      std::string s;
      if (!string(s)) return false;
      out = std::move(s);
      return true;
    }
    case 't': out = true; return literal("true");
    case 'f': out = false; return literal("false");
    case 'n': out.empty(); return literal("null");
    default: return number(out);
  }
}

bool JsonReader::literal(std::string_view word) {
  if (text_.substr(pos_, word.size()) != word) return fail("invalid literal");
  pos_ += word.size();
  return true;
}

bool JsonReader::object(Poco::Dynamic::Var& out, std::size_t depth) {
  ++pos_;  // '{'
  Object::Ptr obj = new Object();
  skipSpace();
  if (pos_ < text_.size() && text_[pos_] == '}') {
    ++pos_;
    out = obj;
    return true;
  }
  for (;;) {
    skipSpace();
    if (pos_ >= text_.size() || text_[pos_] != '"') return fail("expected a member name");
    std::string key;
    if (!string(key)) return false;
    if (obj->has(key)) return fail("duplicate member name \"" + key + "\"");
    skipSpace();
    if (pos_ >= text_.size() || text_[pos_] != ':') return fail("expected ':'");
    ++pos_;
    skipSpace();
    Poco::Dynamic::Var v;
    if (!value(v, depth + 1)) return false;
    obj->set(key, v);
    skipSpace();
    if (pos_ >= text_.size()) return fail("unexpected end of the document");
    if (text_[pos_] == ',') {
      ++pos_;
      continue;
    }
    if (text_[pos_] == '}') {
      ++pos_;
      out = obj;
      return true;
    }
    return fail("expected ',' or '}'");
  }
}

bool JsonReader::array(Poco::Dynamic::Var& out, std::size_t depth) {
  ++pos_;  // '['
  Array::Ptr arr = new Array();
  skipSpace();
  if (pos_ < text_.size() && text_[pos_] == ']') {
    ++pos_;
    out = arr;
    return true;
  }
  for (;;) {
    skipSpace();
    Poco::Dynamic::Var v;
    if (!value(v, depth + 1)) return false;
    arr->add(v);
    skipSpace();
    if (pos_ >= text_.size()) return fail("unexpected end of the document");
    if (text_[pos_] == ',') {
      ++pos_;
      continue;
    }
    if (text_[pos_] == ']') {
      ++pos_;
      out = arr;
      return true;
    }
    return fail("expected ',' or ']'");
  }
}

bool JsonReader::hex4(unsigned& out) {
  if (pos_ + 4 > text_.size()) return fail("truncated \\u escape");
  out = 0;
  for (int i = 0; i < 4; ++i) {
    char c = text_[pos_++];
    out <<= 4;
    if (c >= '0' && c <= '9') out |= static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f') out |= static_cast<unsigned>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') out |= static_cast<unsigned>(c - 'A' + 10);
    else return fail("invalid \\u escape");
  }
  return true;
}

bool JsonReader::string(std::string& out) {
  ++pos_;  // opening quote
  std::size_t runStart = pos_;
  for (;;) {
    if (pos_ >= text_.size()) return fail("unterminated string");
    unsigned char c = static_cast<unsigned char>(text_[pos_]);
    if (c == '"') {
      out.append(text_.data() + runStart, pos_ - runStart);
      ++pos_;
      return true;
    }
    if (c < 0x20) return fail("a control character inside a string");
    if (c != '\\') {
      ++pos_;
      continue;
    }
    out.append(text_.data() + runStart, pos_ - runStart);
    ++pos_;
    if (pos_ >= text_.size()) return fail("unterminated string");
    char e = text_[pos_++];
    switch (e) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        unsigned cp;
        if (!hex4(cp)) return false;
        if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("a lone UTF-16 low surrogate");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          unsigned low;
          if (text_.substr(pos_, 2) != "\\u") return fail("a lone UTF-16 high surrogate");
          pos_ += 2;
          if (!hex4(low)) return false;
          if (low < 0xDC00 || low > 0xDFFF) return fail("a lone UTF-16 high surrogate");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        if (cp == 0) return fail("a NUL character inside a string");
        if (cp < 0x80) {
          out += static_cast<char>(cp);
        } else if (cp < 0x800) {
          out += static_cast<char>(0xC0 | (cp >> 6));
          out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
          out += static_cast<char>(0xE0 | (cp >> 12));
          out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
          out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
          out += static_cast<char>(0xF0 | (cp >> 18));
          out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
          out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
          out += static_cast<char>(0x80 | (cp & 0x3F));
        }
        break;
      }
      default: return fail("an invalid escape in a string");
    }
    runStart = pos_;
  }
}

bool JsonReader::number(Poco::Dynamic::Var& out) {
  std::size_t start = pos_;
  bool negative = false;
  if (pos_ < text_.size() && text_[pos_] == '-') {
    negative = true;
    ++pos_;
  }
  auto digits = [&] {
    std::size_t from = pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    return pos_ - from;
  };
  if (pos_ >= text_.size() || text_[pos_] < '0' || text_[pos_] > '9') return fail("invalid value");
  std::size_t intStart = pos_;
  std::size_t intDigits = digits();
  if (intDigits > 1 && text_[intStart] == '0') return fail("a number with a leading zero");
  bool integral = true;
  if (pos_ < text_.size() && text_[pos_] == '.') {
    ++pos_;
    if (digits() == 0) return fail("a number without digits after '.'");
    integral = false;
  }
  if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
    ++pos_;
    if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
    if (digits() == 0) return fail("a number without exponent digits");
    integral = false;
  }
  std::string literal(text_.substr(start, pos_ - start));
  if (integral) {
    // Poco would read "-0" as 0; the protocol allows no minus sign on an integer.
    if (negative && intDigits == 1 && text_[intStart] == '0') return fail("negative zero is not allowed");
    errno = 0;
    char* end = nullptr;
    if (negative) {
      long long v = std::strtoll(literal.c_str(), &end, 10);
      if (errno == 0) {
        out = static_cast<Poco::Int64>(v);
        return true;
      }
    } else {
      unsigned long long v = std::strtoull(literal.c_str(), &end, 10);
      if (errno == 0) {
        if (v <= static_cast<unsigned long long>(std::numeric_limits<Poco::Int64>::max()))
          out = static_cast<Poco::Int64>(v);
        else
          out = static_cast<Poco::UInt64>(v);
        return true;
      }
    }
    // Beyond 64 bits: kept as a double, which no integer member accepts.
  }
  out = std::strtod(literal.c_str(), nullptr);
  return true;
}

}  // namespace keyturn::json
