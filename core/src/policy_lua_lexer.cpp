#include "policy_lua_lexer.h"

#include <cctype>
#include <set>

namespace keyturn::policykit {

namespace {

const std::set<std::string, std::less<>> kKeywords = {
    "and", "break", "do",  "else", "elseif", "end",    "false",  "for",  "function", "goto",  "if",
    "in",  "local", "nil", "not",  "or",     "repeat", "return", "then", "true",     "until", "while"};

bool nameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool nameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  std::vector<LuaToken> run() {
    while (i_ < s_.size()) step();
    return std::move(out_);
  }

 private:
  char at(std::size_t k) const { return k < s_.size() ? s_[k] : '\0'; }

  // At '[': the level of a long bracket "[==[", or -1 when it is not one.
  int longBracketLevel(std::size_t k) const {
    if (at(k) != '[') return -1;
    int level = 0;
    ++k;
    while (at(k) == '=') ++level, ++k;
    return at(k) == '[' ? level : -1;
  }

  // Skips a long bracket of `level` starting at i_; returns its contents.
  std::string longBracket(int level) {
    i_ += static_cast<std::size_t>(level) + 2;
    std::string close = "]" + std::string(static_cast<std::size_t>(level), '=') + "]";
    std::size_t end = s_.find(close, i_);
    if (end == std::string_view::npos) end = s_.size();
    std::string body(s_.substr(i_, end - i_));
    for (char c : body) line_ += c == '\n';
    i_ = std::min(s_.size(), end + close.size());
    return body;
  }

  void step() {
    char c = s_[i_];
    if (c == '\n') {
      ++line_, ++i_;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      ++i_;
    } else if (c == '-' && at(i_ + 1) == '-') {
      i_ += 2;
      int level = longBracketLevel(i_);
      if (level >= 0) {
        longBracket(level);
      } else {
        while (i_ < s_.size() && s_[i_] != '\n') ++i_;
      }
    } else if (nameStart(c)) {
      std::size_t b = i_;
      while (i_ < s_.size() && nameChar(s_[i_])) ++i_;
      std::string word(s_.substr(b, i_ - b));
      auto kind = kKeywords.count(word) ? LuaToken::Kind::kKeyword : LuaToken::Kind::kName;
      out_.push_back({kind, std::move(word), line_});
    } else if (std::isdigit(static_cast<unsigned char>(c)) ||
               (c == '.' && std::isdigit(static_cast<unsigned char>(at(i_ + 1))))) {
      std::size_t b = i_;
      while (i_ < s_.size() && (nameChar(s_[i_]) || s_[i_] == '.' ||
                                ((s_[i_] == '+' || s_[i_] == '-') &&
                                 (std::tolower(s_[i_ - 1]) == 'e' || std::tolower(s_[i_ - 1]) == 'p'))))
        ++i_;
      out_.push_back({LuaToken::Kind::kNumber, std::string(s_.substr(b, i_ - b)), line_});
    } else if (c == '"' || c == '\'') {
      int startLine = line_;
      std::string body;
      ++i_;
      while (i_ < s_.size() && s_[i_] != c && s_[i_] != '\n') {
        if (s_[i_] == '\\' && i_ + 1 < s_.size()) {
          if (s_[i_ + 1] == '\n') ++line_;
          body += s_[i_++];
        }
        body += s_[i_++];
      }
      ++i_;
      out_.push_back({LuaToken::Kind::kString, std::move(body), startLine});
    } else if (int level = longBracketLevel(i_); level >= 0) {
      int startLine = line_;
      out_.push_back({LuaToken::Kind::kString, longBracket(level), startLine});
    } else {
      static const char* kLong[] = {"...", "..", "==", "~=", "<=", ">=", "//", "::", "<<", ">>"};
      for (const char* op : kLong) {
        std::string_view v(op);
        if (s_.substr(i_, v.size()) == v) {
          out_.push_back({LuaToken::Kind::kSymbol, std::string(v), line_});
          i_ += v.size();
          return;
        }
      }
      out_.push_back({LuaToken::Kind::kSymbol, std::string(1, c), line_});
      ++i_;
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
  int line_ = 1;
  std::vector<LuaToken> out_;
};

}  // namespace

std::vector<LuaToken> tokenizeLua(std::string_view src) { return Lexer(src).run(); }

}  // namespace keyturn::policykit
