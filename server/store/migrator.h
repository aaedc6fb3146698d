// Brings a database to the latest schema by applying the embedded migrations in order.
#pragma once

#include <Poco/Data/Session.h>

#include <string>
#include <string_view>
#include <vector>

#include "keyturn/result.h"
#include "store/migration.h"

namespace keyturn::server {

class Migrator {
 public:
  // `dialect` picks the dialect-specific files ("sqlite"); portable files always apply.
  // The migrations default to the embedded ones; tests pass their own.
  explicit Migrator(std::string dialect, std::vector<Migration> migrations = embeddedMigrations());

  // Applies every migration newer than the recorded version, each in its own
  // transaction together with its schema_version row, so a failure leaves the database
  // at the last complete version. Re-running on an up-to-date database changes nothing.
  // Returns the version reached, or reason "storage" naming the file that failed.
  Result<int> migrate(Poco::Data::Session& session) const;

  // The version recorded in schema_version (0 for an empty database).
  static Result<int> currentVersion(Poco::Data::Session& session);

  // The highest version this build knows for its dialect.
  int latestVersion() const;

  // Splits a script into statements at ';', ignoring ';' inside quotes, comments and
  // BEGIN ... END blocks (trigger bodies). CASE ... END is not supported in migrations.
  static std::vector<std::string> splitStatements(std::string_view script);

 private:
  bool applies(const Migration& m) const;

  std::string dialect_;
  std::vector<Migration> migrations_;
};

}  // namespace keyturn::server
