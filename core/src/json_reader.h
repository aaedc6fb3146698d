// The strict single-pass JSON reader behind json::parse (see json.h for the rules).
// Private to core.
#pragma once

#include <Poco/Dynamic/Var.h>

#include <string>
#include <string_view>

namespace keyturn::json {

class JsonReader {
 public:
  JsonReader(std::string_view text, std::size_t maxDepth) : text_(text), maxDepth_(maxDepth) {}
  // Reads the whole text as one JSON value. On failure returns false and error() says
  // what and at which byte.
  bool read(Poco::Dynamic::Var& out);
  const std::string& error() const { return error_; }

 private:
  bool value(Poco::Dynamic::Var& out, std::size_t depth);
  bool object(Poco::Dynamic::Var& out, std::size_t depth);
  bool array(Poco::Dynamic::Var& out, std::size_t depth);
  bool string(std::string& out);
  bool number(Poco::Dynamic::Var& out);
  bool literal(std::string_view word);
  bool hex4(unsigned& out);
  void skipSpace();
  bool fail(const std::string& what);

  std::string_view text_;
  std::size_t maxDepth_;
  std::size_t pos_ = 0;
  std::string error_;
};

}  // namespace keyturn::json
