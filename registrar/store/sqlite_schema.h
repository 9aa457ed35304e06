// registrar/store/sqlite_schema.h — the schema of switchboard.db, shared by
// SqliteBindingStore and SqliteCredentialStore (one file, one user_version).
//
//   auto opened = SqliteDatabase::open(database_path(dir), options);
//   if (StoreResult r = apply_switchboard_schema(*opened.db); !r.ok) fail(r.error);
//
// A schema change is a new SqliteMigration appended to the list in
// sqlite_schema.cc, never an edit of a released one. docs/store.md shows the
// tables.
#ifndef SWITCHBOARD_REGISTRAR_STORE_SQLITE_SCHEMA_H_
#define SWITCHBOARD_REGISTRAR_STORE_SQLITE_SCHEMA_H_

#include <span>

#include "registrar/store/sqlite_database.h"

namespace registrar {

// Every migration, oldest first.
std::span<const SqliteMigration> switchboard_migrations();
// The version a database reaches after apply_switchboard_schema().
int switchboard_schema_version();
// Creates or upgrades the tables (idempotent; safe from two connections at once).
[[nodiscard]] StoreResult apply_switchboard_schema(SqliteDatabase& db);

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_STORE_SQLITE_SCHEMA_H_
