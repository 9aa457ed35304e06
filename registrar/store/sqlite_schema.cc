// registrar/store/sqlite_schema.cc — switchboard.db migrations.
#include "registrar/store/sqlite_schema.h"

#include <array>

namespace registrar {
namespace {

// Version 1: bindings (the location service), realms and credentials.
// Times are integer milliseconds since the Unix epoch; 64-bit unsigned ids
// are stored as their two's-complement int64. Binding::replica deliberately
// has no column (no migration adds one): the embedded store serves one
// process, so its bindings load with replica "" (sqlite_binding_store.cc).
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE bindings (
  aor              TEXT    NOT NULL,
  contact          TEXT    NOT NULL,
  realm            TEXT    NOT NULL,
  username         TEXT    NOT NULL,
  transport        TEXT    NOT NULL,
  source_ip        TEXT    NOT NULL,
  source_port      INTEGER NOT NULL,
  local_address    TEXT    NOT NULL,
  connection_id    INTEGER NOT NULL,
  path             TEXT    NOT NULL,
  instance_id      TEXT    NOT NULL,
  reg_id           INTEGER NOT NULL,
  call_id          TEXT    NOT NULL,
  cseq             INTEGER NOT NULL,
  expires_at       INTEGER NOT NULL,
  q                INTEGER NOT NULL,
  user_agent       TEXT    NOT NULL,
  first_registered INTEGER NOT NULL,
  last_registered  INTEGER NOT NULL,
  PRIMARY KEY (aor, contact)
) WITHOUT ROWID;
CREATE INDEX bindings_expires_at ON bindings (expires_at);

CREATE TABLE realms (
  name            TEXT    NOT NULL PRIMARY KEY COLLATE NOCASE,
  challenge       TEXT    NOT NULL,
  algorithms      TEXT    NOT NULL,
  allow_qop_less  INTEGER NOT NULL,
  default_expires INTEGER NOT NULL,
  min_expires     INTEGER NOT NULL,
  max_expires     INTEGER NOT NULL,
  max_contacts    INTEGER NOT NULL,
  overflow        TEXT    NOT NULL,
  source_auth     TEXT    NOT NULL,
  trusted_sources TEXT    NOT NULL,
  aliases         TEXT    NOT NULL
);

CREATE TABLE credentials (
  realm          TEXT NOT NULL COLLATE NOCASE REFERENCES realms (name) ON DELETE CASCADE,
  username       TEXT NOT NULL,
  domain         TEXT NOT NULL,
  ha1_md5        TEXT,
  ha1_sha256     TEXT,
  ha1_sha512_256 TEXT,
  hash1b         TEXT,
  PRIMARY KEY (realm, username)
);
)sql";

// Version 2: the registration event log, written in the same transaction as
// the binding change it describes (docs/store.md, "Event log"). AUTOINCREMENT
// so that a sequence is never reused, even after every row was trimmed or the
// newest ones were deleted: SQLite keeps the highest one in sqlite_sequence.
// No index on time: retention deletes a prefix by sequence (see
// SqliteBindingStore), so the table stays one append-only b-tree. Blobs of
// binding_codec.h version 1 (before Binding::replica) and 2 both decode.
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE events (
  sequence INTEGER PRIMARY KEY AUTOINCREMENT,
  time     INTEGER NOT NULL,  -- ms since the epoch (the event's time)
  type     INTEGER NOT NULL,  -- RegistrationEventType: 1 registered … 5 replaced
  aor      TEXT    NOT NULL,
  reason   TEXT    NOT NULL,
  binding  BLOB    NOT NULL,  -- registrar/store/binding_codec.h
  previous BLOB               -- the same, for a replaced binding; else NULL
);
)sql";

constexpr std::array<SqliteMigration, 2> kMigrations = {{
    {1, kSchemaV1},
    {2, kSchemaV2},
}};

}  // namespace

std::span<const SqliteMigration> switchboard_migrations() { return kMigrations; }

int switchboard_schema_version() { return kMigrations.back().version; }

StoreResult apply_switchboard_schema(SqliteDatabase& db) { return db.migrate(kMigrations); }

}  // namespace registrar
