#include "keyturn/policy_lint.h"

#include <algorithm>
#include <map>

#include "keyturn/token_gate.h"
#include "policy_lua_lexer.h"

namespace keyturn::policykit {

namespace {

using Kind = LuaToken::Kind;
using Severity = LintFinding::Severity;

// Globals a policy cannot reach (PROTOCOL.md section 6): referencing one is a run-time
// error on the agent, which fails closed, so the request can never run.
const std::set<std::string> kForbiddenGlobals = {
    "_ENV",   "_G",       "collectgarbage", "coroutine", "debug",        "dofile",  "getfenv", "getmetatable", "io",
    "load",   "loadfile", "loadstring",     "module",    "os",           "package", "print",   "rawequal",     "rawget",
    "rawlen", "rawset",   "require",        "setfenv",   "setmetatable", "unpack",  "xpcall"};
const std::map<std::string, std::set<std::string>> kForbiddenMembers = {{"string", {"dump"}},
                                                                        {"math", {"random", "randomseed"}}};
const std::vector<std::string> kFields = {"name", "actions", "evaluate"};

bool isSym(const LuaToken& t, std::string_view s) { return t.kind == Kind::kSymbol && t.text == s; }
bool isKw(const LuaToken& t, std::string_view s) { return t.kind == Kind::kKeyword && t.text == s; }

int blockDelta(const LuaToken& t) {
  if (t.kind != Kind::kKeyword) return 0;
  if (t.text == "function" || t.text == "if" || t.text == "do" || t.text == "repeat") return 1;
  if (t.text == "end" || t.text == "until") return -1;
  return 0;
}

// The index of the token closing the block opened at `open`, or tokens.size().
std::size_t blockEnd(const std::vector<LuaToken>& toks, std::size_t open) {
  int depth = 0;
  for (std::size_t i = open; i < toks.size(); ++i) {
    depth += blockDelta(toks[i]);
    if (depth == 0) return i;
  }
  return toks.size();
}

std::size_t editDistance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

class SourceLinter {
 public:
  SourceLinter(const PolicySource& src, std::vector<LintFinding>& out)
      : src_(src), toks_(tokenizeLua(src.source)), out_(out) {}

  void run() {
    collectLocals();
    checkGlobals();
    checkReturnedTable();
    checkLoops();
  }

 private:
  void add(int line, Severity sev, const char* check, std::string message) {
    out_.push_back({src_.name, line, sev, check, std::move(message)});
  }

  // Names declared local, as parameters or as loop variables anywhere in the file: a
  // lexical over-approximation, so a shadowed `print` is never reported.
  void collectLocals() {
    for (std::size_t i = 0; i < toks_.size(); ++i) {
      const auto& t = toks_[i];
      if (isKw(t, "local") || isKw(t, "for")) {
        for (std::size_t j = i + 1; j < toks_.size(); ++j) {
          if (isKw(toks_[j], "function")) continue;
          if (toks_[j].kind == Kind::kName)
            locals_.insert(toks_[j].text);
          else if (!isSym(toks_[j], ",") && !isSym(toks_[j], "<") && !isSym(toks_[j], ">"))
            break;
        }
      } else if (isKw(t, "function")) {
        std::size_t j = i + 1;
        while (j < toks_.size() && !isSym(toks_[j], "(")) ++j;
        for (++j; j < toks_.size() && !isSym(toks_[j], ")"); ++j)
          if (toks_[j].kind == Kind::kName) locals_.insert(toks_[j].text);
      }
    }
  }

  void checkGlobals() {
    std::set<std::string> reported;
    int braces = 0;
    for (std::size_t i = 0; i < toks_.size(); ++i) {
      const auto& t = toks_[i];
      if (isSym(t, "{")) ++braces;
      if (isSym(t, "}")) --braces;
      if (t.kind != Kind::kName || locals_.count(t.text)) continue;
      const LuaToken* prev = i > 0 ? &toks_[i - 1] : nullptr;
      const LuaToken* next = i + 1 < toks_.size() ? &toks_[i + 1] : nullptr;
      if (prev && (isSym(*prev, ".") || isSym(*prev, ":"))) continue;  // a field, not a global
      bool tableKey = braces > 0 && next && isSym(*next, "=") && prev &&
                      (isSym(*prev, "{") || isSym(*prev, ",") || isSym(*prev, ";"));
      if (tableKey) continue;
      std::string what;
      if (kForbiddenGlobals.count(t.text)) {
        what = t.text;
      } else if (auto m = kForbiddenMembers.find(t.text); m != kForbiddenMembers.end() && next && isSym(*next, ".") &&
                                                          i + 2 < toks_.size() && m->second.count(toks_[i + 2].text)) {
        what = t.text + "." + toks_[i + 2].text;
      }
      if (what.empty() || !reported.insert(what).second) continue;
      add(t.line, Severity::kError, "global",
          "'" + what + "' is not available in the policy sandbox (a call is a policy_error on every agent)");
    }
  }

  // The table after the file's top-level `return`: its keys, and evaluate's body.
  void checkReturnedTable() {
    int depth = 0;
    std::size_t ret = toks_.size();
    for (std::size_t i = 0; i < toks_.size(); ++i) {
      if (depth == 0 && isKw(toks_[i], "return") && i + 1 < toks_.size() && isSym(toks_[i + 1], "{")) ret = i;
      depth += blockDelta(toks_[i]);
    }
    if (ret == toks_.size()) return;  // the sandbox load reports what it returns instead
    int nest = 0, block = 0;
    for (std::size_t i = ret + 1; i < toks_.size(); ++i) {
      const auto& t = toks_[i];
      if (isSym(t, "{") || isSym(t, "(") || isSym(t, "[")) ++nest;
      if (isSym(t, "}") || isSym(t, ")") || isSym(t, "]")) {
        if (--nest == 0) break;
      }
      block += blockDelta(t);
      if (nest != 1 || block != 0 || t.kind != Kind::kName || i + 1 >= toks_.size() || !isSym(toks_[i + 1], "=") ||
          !(isSym(toks_[i - 1], "{") || isSym(toks_[i - 1], ",") || isSym(toks_[i - 1], ";")))
        continue;
      checkField(t);
      if (t.text == "evaluate" && i + 2 < toks_.size() && isKw(toks_[i + 2], "function")) checkEvaluate(i + 2);
    }
  }

  void checkField(const LuaToken& key) {
    if (std::find(kFields.begin(), kFields.end(), key.text) != kFields.end()) {
      if (!seenFields_.insert(key.text).second)
        add(key.line, Severity::kError, "field", "field '" + key.text + "' is set twice; the last one wins");
      return;
    }
    for (const auto& f : kFields) {
      if (editDistance(key.text, f) <= 2) {
        add(key.line, Severity::kError, "field", "unknown field '" + key.text + "': did you mean '" + f + "'?");
        return;
      }
    }
    add(key.line, Severity::kWarning, "field",
        "unknown field '" + key.text + "' is ignored by the engine (a policy has name, actions and evaluate)");
  }

  void checkEvaluate(std::size_t fn) {
    std::size_t end = blockEnd(toks_, fn);
    bool returns = false;
    for (std::size_t i = fn; i < end && !returns; ++i) returns = isKw(toks_[i], "return");
    if (!returns)
      add(toks_[fn].line, Severity::kError, "return",
          "evaluate has no return: it returns nil for every request, so it never protects anything");
  }

  // `while true do` and `repeat ... until false` with no way out: every evaluation runs
  // into the time limit and the agent refuses.
  void checkLoops() {
    for (std::size_t i = 0; i + 2 < toks_.size(); ++i) {
      std::size_t open = 0, end = 0;
      if (isKw(toks_[i], "while") && isKw(toks_[i + 1], "true") && isKw(toks_[i + 2], "do")) {
        open = i + 2;
        end = blockEnd(toks_, open);
      } else if (isKw(toks_[i], "repeat")) {
        open = i;
        end = blockEnd(toks_, open);
        if (end + 1 >= toks_.size() || !(isKw(toks_[end + 1], "false") || isKw(toks_[end + 1], "nil"))) continue;
      } else {
        continue;
      }
      bool exits = false;
      for (std::size_t k = open + 1; k < end && !exits; ++k) {
        const auto& t = toks_[k];
        exits =
            isKw(t, "break") || isKw(t, "return") || isKw(t, "goto") || (t.kind == Kind::kName && t.text == "error");
      }
      if (!exits)
        add(toks_[i].line, Severity::kError, "return",
            "this loop has no break, return or error: the policy can never return (time limit, policy_error)");
    }
  }

  const PolicySource& src_;
  std::vector<LuaToken> toks_;
  std::vector<LintFinding>& out_;
  std::set<std::string> locals_;
  std::set<std::string> seenFields_;
};

int lineOfString(const PolicySource& src, const std::string& value) {
  for (const auto& t : tokenizeLua(src.source))
    if (t.kind == Kind::kString && t.text == value) return t.line;
  return 0;
}

// "policy x.lua does not compile: x.lua:3: '}' expected" -> 3.
int lineOfLoadError(const std::string& file, const std::string& detail) {
  auto at = detail.find(file + ":");
  if (at == std::string::npos) return 0;
  std::size_t k = at + file.size() + 1;
  int line = 0;
  while (k < detail.size() && std::isdigit(static_cast<unsigned char>(detail[k])) && line < 1'000'000)
    line = line * 10 + (detail[k++] - '0');
  return k < detail.size() && detail[k] == ':' ? line : 0;
}

bool knownAction(const std::string& pattern, const std::set<std::string>& extra) {
  auto any = [&](const std::set<std::string>& s) {
    return std::any_of(s.begin(), s.end(), [&](const std::string& a) { return policyActionMatches(pattern, a); });
  };
  return any(builtinActions()) || any(extra);
}

}  // namespace

std::vector<LintFinding> lintSource(const PolicySource& source) {
  std::vector<LintFinding> out;
  SourceLinter(source, out).run();
  return out;
}

std::vector<LintFinding> lintPolicies(const std::vector<PolicySource>& sources, const LintOptions& options) {
  std::vector<LintFinding> out;
  std::map<std::string, std::string> names;  // policy name -> first file
  std::string catalogue;
  for (const auto* set : {&builtinActions(), &options.extraActions})
    for (const auto& a : *set) catalogue += (catalogue.empty() ? "" : ", ") + a;
  for (const auto& src : sources) {
    auto lexical = lintSource(src);
    out.insert(out.end(), lexical.begin(), lexical.end());
    auto engine = PolicyEngine::load({src}, options.limits);
    if (!engine) {
      out.push_back({src.name, lineOfLoadError(src.name, engine.detail()), Severity::kError, "load",
                     engine.reason() + ": " + engine.detail()});
      continue;
    }
    const PolicyInfo& info = engine.value()->policies().front();
    if (auto [it, fresh] = names.emplace(info.name, src.name); !fresh)
      out.push_back({src.name, lineOfString(src, info.name), Severity::kError, "duplicate",
                     "policy name \"" + info.name + "\" is also the name of " + it->second});
    for (const auto& pattern : info.actions) {
      if (knownAction(pattern, options.extraActions)) continue;
      out.push_back({src.name, lineOfString(src, pattern), Severity::kError, "action",
                     "action pattern \"" + pattern + "\" matches no known action (known: " + catalogue + ")"});
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const LintFinding& a, const LintFinding& b) {
    return a.file != b.file ? a.file < b.file : a.line < b.line;
  });
  return out;
}

bool hasErrors(const std::vector<LintFinding>& findings) {
  return std::any_of(findings.begin(), findings.end(),
                     [](const LintFinding& f) { return f.severity == Severity::kError; });
}

const char* severityName(LintFinding::Severity s) { return s == Severity::kError ? "error" : "warning"; }

}  // namespace keyturn::policykit
