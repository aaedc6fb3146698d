// Strict base64url (RFC 4648 section 5, no padding), as PROTOCOL.md section 2 demands.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keyturn::base64url {

using Bytes = std::vector<std::uint8_t>;

// Encodes without padding.
std::string encode(const std::uint8_t* data, std::size_t size);
std::string encode(const Bytes& data);
std::string encode(std::string_view data);

// Decodes strictly: '=', '+', '/', white space or any byte outside the base64url
// alphabet, a length of 1 mod 4, and non-zero unused trailing bits all return nullopt,
// so each byte string has exactly one accepted encoding.
std::optional<Bytes> decode(std::string_view text);
std::optional<std::string> decodeToString(std::string_view text);

}  // namespace keyturn::base64url
