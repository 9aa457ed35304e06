// SqliteDatabase (registrar/store/sqlite_database.h): WAL and fsync pragmas,
// statement RAII, error strings, and user_version migrations.
#include "registrar/store/sqlite_database.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>

#include "registrar/store/sqlite_schema.h"
#include "temp_dir.h"

namespace registrar {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

std::string pragma_text(SqliteDatabase& db, const char* sql) {
  SqliteStatement s;
  EXPECT_TRUE(db.prepare(sql, s).ok);
  EXPECT_EQ(s.step(), SQLITE_ROW);
  return std::string(s.column_text(0));
}

// Verifies a database opens in WAL mode with synchronous=FULL and foreign keys by default.
TEST(SqliteDatabase, OpensInWalWithFullSync) {
  TempDir dir;
  auto opened = SqliteDatabase::open(database_path(dir.path()), {});
  ASSERT_TRUE(opened.ok()) << opened.error;
  EXPECT_EQ(pragma_text(*opened.db, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(pragma_text(*opened.db, "PRAGMA synchronous"), "2");  // FULL
  EXPECT_EQ(pragma_text(*opened.db, "PRAGMA foreign_keys"), "1");
  EXPECT_EQ(opened.db->path(), dir.path() + "/switchboard.db");
}

// Verifies the synchronous level is configurable (NORMAL for benchmarks or relaxed deployments).
TEST(SqliteDatabase, SynchronousIsConfigurable) {
  TempDir dir;
  auto opened =
      SqliteDatabase::open(database_path(dir.path()), {.synchronous = SqliteSync::kNormal});
  ASSERT_TRUE(opened.ok()) << opened.error;
  EXPECT_EQ(pragma_text(*opened.db, "PRAGMA synchronous"), "1");  // NORMAL
}

// Verifies an unopenable path gives an error naming the path, not a crash.
TEST(SqliteDatabase, OpenFailureNamesThePath) {
  auto opened = SqliteDatabase::open("/nonexistent-dir/x/switchboard.db", {});
  ASSERT_FALSE(opened.ok());
  EXPECT_THAT(opened.error, HasSubstr("/nonexistent-dir/x/switchboard.db"));
}

// Verifies prepare and step errors come back as SQLite's message and code name.
TEST(SqliteDatabase, ErrorsCarrySqliteMessages) {
  TempDir dir;
  auto opened = SqliteDatabase::open(database_path(dir.path()), {});
  ASSERT_TRUE(opened.ok());
  SqliteDatabase& db = *opened.db;
  SqliteStatement s;
  StoreResult r = db.prepare("SELECT * FROM no_such_table", s);
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.error, HasSubstr("no such table: no_such_table"));
  EXPECT_FALSE(s.valid());

  ASSERT_TRUE(db.exec("CREATE TABLE t (k TEXT PRIMARY KEY)").ok);
  ASSERT_TRUE(db.prepare("INSERT INTO t VALUES (?1)", s).ok);
  s.bind(1, "a");
  EXPECT_EQ(s.step(), SQLITE_DONE);
  s.reset();
  s.bind(1, "a");
  const int rc = s.step();
  EXPECT_EQ(rc & 0xff, SQLITE_CONSTRAINT);
  EXPECT_THAT(db.error("insert", rc), HasSubstr("UNIQUE constraint failed: t.k"));
  s.reset();
  // A bind out of range surfaces at step().
  s.bind(7, "x");
  EXPECT_EQ(s.step(), SQLITE_RANGE);
}

// Verifies text binds keep embedded quotes and empty strings (empty is '' not NULL).
TEST(SqliteDatabase, TextRoundTripsExactly) {
  TempDir dir;
  auto opened = SqliteDatabase::open(database_path(dir.path()), {});
  ASSERT_TRUE(opened.ok());
  SqliteStatement s;
  ASSERT_TRUE(opened.db->prepare("SELECT ?1, ?2, ?2 IS NULL", s).ok);
  s.bind(1, std::string_view("it's \"quoted\";\n ünïcode"));
  s.bind(2, std::string_view());
  ASSERT_EQ(s.step(), SQLITE_ROW);
  EXPECT_EQ(s.column_text(0), "it's \"quoted\";\n ünïcode");
  EXPECT_EQ(s.column_text(1), "");
  EXPECT_EQ(s.column_int64(2), 0);
}

// Verifies migrations run once, in order, and bump user_version.
TEST(SqliteDatabase, MigrationsRunOnceInOrder) {
  TempDir dir;
  const std::array<SqliteMigration, 2> v2 = {{
      {1, "CREATE TABLE a (x INTEGER);"},
      {2, "ALTER TABLE a ADD COLUMN y TEXT; INSERT INTO a VALUES (1, 'two');"},
  }};
  {
    auto opened = SqliteDatabase::open(database_path(dir.path()), {});
    ASSERT_TRUE(opened.ok());
    ASSERT_TRUE(opened.db->migrate(std::span(v2).first(1)).ok);
    EXPECT_EQ(opened.db->user_version(), 1);
    ASSERT_TRUE(opened.db->migrate(v2).ok);
    EXPECT_EQ(opened.db->user_version(), 2);
    ASSERT_TRUE(opened.db->migrate(v2).ok);  // nothing left to do: no second INSERT
  }
  auto opened = SqliteDatabase::open(database_path(dir.path()), {});
  EXPECT_EQ(pragma_text(*opened.db, "SELECT count(*) || ':' || y FROM a"), "1:two");
}

// Verifies a failing migration leaves the database as it was.
TEST(SqliteDatabase, FailedMigrationChangesNothing) {
  TempDir dir;
  auto opened = SqliteDatabase::open(database_path(dir.path()), {});
  const std::array<SqliteMigration, 2> bad = {{
      {1, "CREATE TABLE a (x INTEGER);"},
      {2, "CREATE TABLE b (x INTEGER); THIS IS NOT SQL;"},
  }};
  StoreResult r = opened.db->migrate(bad);
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.error, HasSubstr("migration to schema version 2"));
  EXPECT_EQ(opened.db->user_version(), 0);
  SqliteStatement s;
  EXPECT_FALSE(opened.db->prepare("SELECT * FROM a", s).ok);
}

// Verifies a database from a newer build is refused rather than used.
TEST(SqliteDatabase, NewerSchemaIsRefused) {
  TempDir dir;
  auto opened = SqliteDatabase::open(database_path(dir.path()), {});
  ASSERT_TRUE(opened.db->exec("PRAGMA user_version=99").ok);
  StoreResult r = apply_switchboard_schema(*opened.db);
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.error, HasSubstr("schema version 99"));
  EXPECT_THAT(r.error, HasSubstr("refusing to downgrade"));
}

// Verifies the Switchboard schema applies, is idempotent, and has its tables and index.
TEST(SqliteDatabase, SwitchboardSchema) {
  TempDir dir;
  auto opened = SqliteDatabase::open(database_path(dir.path()), {});
  ASSERT_TRUE(apply_switchboard_schema(*opened.db).ok);
  ASSERT_TRUE(apply_switchboard_schema(*opened.db).ok);
  EXPECT_EQ(opened.db->user_version(), switchboard_schema_version());
  EXPECT_EQ(pragma_text(*opened.db,
                        "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_schema "
                        "WHERE name NOT LIKE 'sqlite_%' ORDER BY name)"),
            "bindings,bindings_expires_at,credentials,events,realms");
  // No column anywhere could hold a password.
  EXPECT_EQ(pragma_text(*opened.db,
                        "SELECT count(*) FROM pragma_table_info('credentials') WHERE name LIKE "
                        "'%pass%'"),
            "0");
}

}  // namespace
}  // namespace registrar
