// How the store turns exceptions from Poco::Data into the Status every caller expects.
#pragma once

#include <Poco/Exception.h>

#include <exception>
#include <string>

#include "keyturn/result.h"

namespace keyturn::server {

// Reasons the store fails with. "storage": the database could not do what was asked
// (I/O, locked, read-only, corrupt); the others are answers about the data itself.
inline constexpr const char* kStorage = "storage";
inline constexpr const char* kNotFound = "not_found";
inline constexpr const char* kConflict = "conflict";        // duplicate or differing row
inline constexpr const char* kStateChanged = "state_changed";  // optimistic check lost
inline constexpr const char* kInvalid = "invalid_argument";     // a value the schema refuses

// "storage" with `what` (the operation) and Poco's text.
inline Error storageError(const std::string& what, const Poco::Exception& e) {
  return Error{kStorage, what + ": " + e.displayText()};
}
inline Error storageError(const std::string& what, const std::exception& e) {
  return Error{kStorage, what + ": " + e.what()};
}

}  // namespace keyturn::server
