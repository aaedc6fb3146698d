// Reading a request's JSON body, with the bad-input answers of the API in one
// place: 413 "too_large" over the route's limit, 415 "unsupported_media_type"
// for anything but application/json, 400 "malformed" (naming the member) for
// bad JSON, an unknown member, a missing member or one of the wrong type.
// Handlers call these before any other work.
#pragma once

#include <Poco/JSON/Object.h>
#include <Poco/Net/HTTPServerRequest.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace keyturn::server {

inline constexpr std::size_t kSmallBody = 16 * 1024;

// The raw body, at most `maxBytes` (413 beyond, whether announced by
// Content-Length or sent chunked). Requires Content-Type application/json (a
// charset parameter is fine).
std::string readJsonText(Poco::Net::HTTPServerRequest &request,
                         std::size_t maxBytes);
// readJsonText, parsed strictly (core's reader), as an object with only
// `allowed` members. Throws HttpError.
Poco::JSON::Object::Ptr
readJsonObject(Poco::Net::HTTPServerRequest &request, std::size_t maxBytes,
               std::initializer_list<std::string_view> allowed);

// Member accessors that throw 400 "malformed" naming `key`.
std::string requiredString(const Poco::JSON::Object &o, const std::string &key);
std::optional<std::string> optionalString(const Poco::JSON::Object &o,
                                          const std::string &key);
std::optional<std::int64_t> optionalInteger(const Poco::JSON::Object &o,
                                            const std::string &key);

// True when `text` holds an ASCII control character (below 0x20, or DEL): text the CLI
// prints to an admin's terminal must not carry escape sequences.
bool hasControlCharacter(std::string_view text);

// A query parameter, or nullopt when absent.
std::optional<std::string>
queryParam(const Poco::Net::HTTPServerRequest &request,
           const std::string &name);
// An integer query parameter within [min, max]; `fallback` when absent; 400
// otherwise.
std::int64_t queryInteger(const Poco::Net::HTTPServerRequest &request,
                          const std::string &name, std::int64_t fallback,
                          std::int64_t min, std::int64_t max);

} // namespace keyturn::server
