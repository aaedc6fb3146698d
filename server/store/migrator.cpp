#include "store/migrator.h"

#include <Poco/Data/Session.h>
#include <Poco/Nullable.h>

#include <algorithm>
#include <cctype>
#include <chrono>

#include "store/storage_error.h"
#include "store/transaction.h"

using namespace Poco::Data::Keywords;

namespace keyturn::server {
namespace {

// schema_version is the Migrator's own bookkeeping, created before any file runs.
constexpr const char* kCreateVersionTable =
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version BIGINT NOT NULL PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " applied_at BIGINT NOT NULL)";

bool isWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

bool wordAt(std::string_view s, std::size_t i, std::string_view word) {
  if (i + word.size() > s.size()) return false;
  if (i > 0 && isWordChar(s[i - 1])) return false;
  if (i + word.size() < s.size() && isWordChar(s[i + word.size()])) return false;
  for (std::size_t k = 0; k < word.size(); ++k) {
    if (std::toupper(static_cast<unsigned char>(s[i + k])) != word[k]) return false;
  }
  return true;
}

std::string trimmed(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

}  // namespace

Migrator::Migrator(std::string dialect, std::vector<Migration> migrations)
    : dialect_(std::move(dialect)), migrations_(std::move(migrations)) {
  std::stable_sort(migrations_.begin(), migrations_.end(),
                   [](const Migration& a, const Migration& b) { return a.version < b.version; });
}

bool Migrator::applies(const Migration& m) const {
  return m.dialect[0] == '\0' || dialect_ == m.dialect;
}

int Migrator::latestVersion() const {
  int latest = 0;
  for (const auto& m : migrations_) {
    if (applies(m)) latest = std::max(latest, m.version);
  }
  return latest;
}

Result<int> Migrator::currentVersion(Poco::Data::Session& session) {
  try {
    session << kCreateVersionTable, now;
    Poco::Nullable<Poco::Int64> version;
    session << "SELECT MAX(version) FROM schema_version", into(version), now;
    return version.isNull() ? 0 : static_cast<int>(version.value());
  } catch (const Poco::Exception& e) {
    return storageError("read schema_version", e);
  } catch (const std::exception& e) {
    return storageError("read schema_version", e);
  }
}

Result<int> Migrator::migrate(Poco::Data::Session& session) const {
  auto current = currentVersion(session);
  if (!current) return current;
  int reached = current.value();
  for (const auto& m : migrations_) {
    if (!applies(m) || m.version <= reached) continue;
    Transaction tx(session);
    if (auto s = tx.begin(); !s) return s.error();
    try {
      // Re-read inside the write lock: another process may have migrated meanwhile.
      Poco::Nullable<Poco::Int64> done;
      session << "SELECT MAX(version) FROM schema_version", into(done), now;
      if (!done.isNull() && done.value() >= m.version) {
        reached = static_cast<int>(done.value());
        continue;
      }
      for (const auto& statement : splitStatements(m.sql)) session << statement, now;
      const auto at = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
      session << "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
          bind(static_cast<Poco::Int64>(m.version)), bind(std::string(m.name)),
          bind(static_cast<Poco::Int64>(at)), now;
    } catch (const Poco::Exception& e) {
      return storageError(std::string("migration ") + m.name, e);
    } catch (const std::exception& e) {
      return storageError(std::string("migration ") + m.name, e);
    }
    if (auto s = tx.commit(); !s) return s.error();
    reached = m.version;
  }
  return reached;
}

std::vector<std::string> Migrator::splitStatements(std::string_view script) {
  std::vector<std::string> out;
  std::size_t start = 0;
  int blockDepth = 0;
  for (std::size_t i = 0; i < script.size(); ++i) {
    const char c = script[i];
    if (c == '-' && i + 1 < script.size() && script[i + 1] == '-') {
      const auto eol = script.find('\n', i);
      i = eol == std::string_view::npos ? script.size() : eol;
    } else if (c == '\'' || c == '"') {
      const auto close = script.find(c, i + 1);  // '' escapes re-enter here: harmless
      i = close == std::string_view::npos ? script.size() : close;
    } else if (wordAt(script, i, "BEGIN")) {
      ++blockDepth;
      i += 4;
    } else if (wordAt(script, i, "END") && blockDepth > 0) {
      --blockDepth;
      i += 2;
    } else if (c == ';' && blockDepth == 0) {
      auto statement = trimmed(script.substr(start, i - start));
      if (!statement.empty()) out.push_back(std::move(statement));
      start = i + 1;
    }
  }
  auto rest = trimmed(script.substr(start));
  // A tail of only comments is not a statement.
  bool onlyComments = true;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '-' && i + 1 < rest.size() && rest[i + 1] == '-') {
      const auto eol = rest.find('\n', i);
      if (eol == std::string::npos) break;
      i = eol;
    } else if (!std::isspace(static_cast<unsigned char>(rest[i]))) {
      onlyComments = false;
      break;
    }
  }
  if (!onlyComments) out.push_back(rest);
  return out;
}

}  // namespace keyturn::server
