// The agent-facing API (issue 3, "Agent-facing API"; issue 4 is the other
// side). Every route but enroll needs mutual TLS with the certificate issued at
// enrollment (authenticateDevice), and every such call records the device's
// last contact.
//
//   POST /api/v1/agent/enroll {"code","public_key","device_id"?,"facts"?}
//        -> 201 {"device","certificate","ca","bundles":[bundle JWS, from v1]}
//        403 invalid_enrollment_code (unknown, used and expired look the same)
//   GET  /api/v1/agent/bundles?after=N -> 200 {"bundles":[bundle JWS with
//   version > N]} GET  /api/v1/agent/tokens?wait=S   -> 200 {"tokens":[token
//   JWS]} with an ETag, or 304
//        when If-None-Match matches and nothing is queued; held up to S s
//        (default 25, max 30) while the queue is empty, answered as soon as a
//        token is queued
//   POST /api/v1/agent/results
//   {"results":[{"request","state","exit_code"?,"output"?,"at"}]}
//        -> 200 {"results":[{"request","recorded":bool}]}, durable; 409 on a
//        different result for the same (device, request)
//   PUT  /api/v1/agent/facts Facts -> 204
#pragma once

#include <string>

#include "app/server_context.h"

namespace keyturn::server {

inline constexpr int kDefaultPollSeconds = 25;
inline constexpr int kMaxPollSeconds = 30;
// 16 KiB of facts and versions, and as much again for the agent's `libraries`.
inline constexpr std::size_t kMaxFactsBytes = 32 * 1024;
inline constexpr std::size_t kMaxResultsBytes = 1024 * 1024;
inline constexpr std::size_t kMaxResultOutputChars = 64 * 1024;

// Checks a facts object
// ({"id"?,"hostname"?,"ownership"?,"platform"?,"os_version"?,
// "groups"?,"tags"?}) and returns it as compact JSON; throws 400 "malformed".
std::string checkedFactsJson(const Poco::JSON::Object &facts,
                             const std::string &deviceId);

void addAgentRoutes(ServerContext &context);

} // namespace keyturn::server
