#include "store_fixture.h"

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>

#include <catch2/catch.hpp>
#include <random>
#include <stdexcept>

namespace keyturn::server::test {

TempDir::TempDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("keyturn-store-test-" + std::to_string(rd()) + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::add, ec);
  std::filesystem::remove_all(path_, ec);
}

std::unique_ptr<SqliteStore> openStore(const TempDir& dir) {
  auto store = SqliteStore::open(dir.file("keyturn.sqlite"));
  INFO((store ? std::string() : store.detail()));
  REQUIRE(store.isOk());
  return std::move(store).value();
}

RequestRecord sampleRequest(const std::string& id, const std::string& root) {
  RequestRecord r;
  r.id = id;
  r.tenant = "contoso";
  r.action = "device.wipe";
  r.paramsJson = R"({"mode":"full"})";
  r.requester = "alice";
  r.justification = "Lost on the train";
  r.created = 1000;
  r.expires = 1000 + 30 * 86400;
  r.bundleVersion = 1;
  r.targetCount = 2;
  r.targetRoot = root;
  r.payloadB64 = "eyJrdCI6InJlcXVlc3QvMSJ9";
  r.state = state::kNeedsApproval;
  r.requirementsJson = R"({"groups":[{"group":"helpdesk","approvals":1}]})";
  r.updated = 1000;
  return r;
}

SignatureRecord sampleSignature(const std::string& requestId, const std::string& role,
                                const std::string& principal, std::int64_t at) {
  return {requestId, role, principal, principal + "-key-1", at, "cHJvdGVjdGVk", "c2ln",
          role == "approver" ? "checked with the user" : ""};
}

void rawSql(const std::string& dbPath, const std::string& sql) {
  Poco::Data::SQLite::Connector::registerConnector();
  Poco::Data::Session session("SQLite", dbPath);
  try {
    session << sql, Poco::Data::Keywords::now;
  } catch (const Poco::Exception& e) {
    throw std::runtime_error(e.displayText());  // what() alone is only the class's name
  }
}

}  // namespace keyturn::server::test
