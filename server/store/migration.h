// One numbered schema migration, as embedded from server/sql/ at build time.
#pragma once

#include <vector>

namespace keyturn::server {

struct Migration {
  int version;          // NNN of the file name; versions only ever grow
  const char* name;     // file name, for error details and docs
  const char* dialect;  // "" for portable SQL, else "sqlite" / "postgres"
  const char* sql;      // the file's text
};

// Every file of server/sql/ in file-name order (generated: embedded_migrations.cpp.in).
const std::vector<Migration>& embeddedMigrations();

}  // namespace keyturn::server
