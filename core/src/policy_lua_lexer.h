// A Lua 5.4 tokenizer for the policy linter: names, keywords, strings, numbers and
// symbols with their line numbers, comments and long brackets skipped. It never runs
// anything and never fails: malformed text yields whatever tokens it can (the sandbox
// load reports the syntax error itself).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace keyturn::policykit {

struct LuaToken {
  enum class Kind { kName, kKeyword, kString, kNumber, kSymbol };
  Kind kind;
  std::string text;  // for kString: the contents without quotes (escapes left as written)
  int line;
};

std::vector<LuaToken> tokenizeLua(std::string_view src);

}  // namespace keyturn::policykit
