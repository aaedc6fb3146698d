#include "app/request_body.h"

#include <Poco/Net/MediaType.h>
#include <Poco/NumberParser.h>
#include <Poco/URI.h>

#include <istream>

#include "app/http_error.h"
#include "keyturn/json.h"

namespace keyturn::server {

using Poco::Net::HTTPResponse;

namespace {
// Refused bodies are still read (up to this much) before the answer, so the
// client, still sending, gets the 4xx instead of a connection reset; beyond it
// the connection is simply closed after the answer.
constexpr std::streamsize kDrainLimit = 1024 * 1024;

[[noreturn]] void malformed(const std::string &detail) {
  throw HttpError(HTTPResponse::HTTP_BAD_REQUEST, "malformed", detail);
}

void drain(std::istream &in) {
  char buf[8192];
  std::streamsize total = 0;
  while (in && total < kDrainLimit) {
    in.read(buf, sizeof buf);
    total += in.gcount();
  }
}

[[noreturn]] void tooLarge(std::istream &in, std::size_t maxBytes) {
  drain(in);
  throw HttpError(HTTPResponse::HTTP_REQUEST_ENTITY_TOO_LARGE, "too_large",
                  "the body exceeds " + std::to_string(maxBytes) + " bytes");
}
} // namespace

std::string readJsonText(Poco::Net::HTTPServerRequest &request,
                         std::size_t maxBytes) {
  std::string type = request.getContentType();
  bool json = false;
  try {
    json = !type.empty() &&
           Poco::Net::MediaType(type).matches("application", "json");
  } catch (const Poco::Exception &) {
    json = false;
  }
  if (!json) {
    drain(request.stream());
    throw HttpError(HTTPResponse::HTTP_UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "send the body as Content-Type: application/json (got \"" +
                        type + "\")");
  }
  if (request.hasContentLength() &&
      request.getContentLength64() > static_cast<Poco::Int64>(maxBytes))
    tooLarge(request.stream(), maxBytes);
  std::string body;
  std::istream &in = request.stream();
  char buf[8192];
  while (in) {
    in.read(buf, sizeof buf);
    body.append(buf, static_cast<std::size_t>(in.gcount()));
    // A chunked body has no length up front: stop reading at the limit.
    if (body.size() > maxBytes)
      tooLarge(in, maxBytes);
  }
  return body;
}

Poco::JSON::Object::Ptr
readJsonObject(Poco::Net::HTTPServerRequest &request, std::size_t maxBytes,
               std::initializer_list<std::string_view> allowed) {
  std::string text = readJsonText(request, maxBytes);
  auto object = json::parseObject(text);
  if (!object)
    malformed("body: " + object.detail());
  if (Status s = json::onlyMembers(*object.value(), allowed, "body"); !s)
    malformed(s.detail());
  return object.value();
}

std::string requiredString(const Poco::JSON::Object &o,
                           const std::string &key) {
  auto v = json::getString(o, key, "body");
  if (!v)
    malformed(v.detail());
  return v.value();
}

std::optional<std::string> optionalString(const Poco::JSON::Object &o,
                                          const std::string &key) {
  if (!o.has(key))
    return std::nullopt;
  return requiredString(o, key);
}

std::optional<std::int64_t> optionalInteger(const Poco::JSON::Object &o,
                                            const std::string &key) {
  if (!o.has(key))
    return std::nullopt;
  auto v = json::getInteger(o, key, "body");
  if (!v)
    malformed(v.detail());
  return static_cast<std::int64_t>(v.value());
}

std::optional<std::string>
queryParam(const Poco::Net::HTTPServerRequest &request,
           const std::string &name) {
  try {
    Poco::URI uri(request.getURI());
    for (const auto &[key, value] : uri.getQueryParameters())
      if (key == name)
        return value;
  } catch (const Poco::Exception &e) {
    malformed("query string: " + e.displayText());
  }
  return std::nullopt;
}

bool hasControlCharacter(std::string_view text) {
  for (unsigned char c : text)
    if (c < 0x20 || c == 0x7f)
      return true;
  return false;
}

std::int64_t queryInteger(const Poco::Net::HTTPServerRequest &request,
                          const std::string &name, std::int64_t fallback,
                          std::int64_t min, std::int64_t max) {
  auto text = queryParam(request, name);
  if (!text)
    return fallback;
  Poco::Int64 value = 0;
  if (text->empty() || (*text)[0] == '+' || (*text)[0] == '-' ||
      !Poco::NumberParser::tryParse64(*text, value) || value < min ||
      value > max)
    malformed("query parameter " + name + " must be an integer in " +
              std::to_string(min) + ".." + std::to_string(max));
  return value;
}

} // namespace keyturn::server
