// registrar/store/sqlite_database.h — a small RAII wrapper over one SQLite
// connection: opened in WAL mode with a chosen fsync policy, prepared
// statements that finalize themselves, errors as strings, and schema versions
// (PRAGMA user_version) advanced by ordered migrations.
//
//   auto opened = registrar::SqliteDatabase::open(registrar::database_path(data_dir), {});
//   if (!opened.ok()) return fail(opened.error);   // "sqlite open '/var/lib/…': unable to open…"
//   registrar::SqliteDatabase& db = *opened.db;
//   registrar::SqliteStatement select;
//   if (auto r = db.prepare("SELECT contact FROM bindings WHERE aor = ?1", select); !r.ok) …
//   select.bind(1, "alice@acme.test");
//   while (select.step() == SQLITE_ROW) use(select.column_text(0));
//   select.reset();
//
// Durability: SqliteSync::kFull (the default) makes every COMMIT fsync the WAL
// before it returns, so a commit survives power loss as well as kill -9.
// kNormal fsyncs only at checkpoints: a commit survives a process crash but
// the last ones may be lost with the machine. See docs/store.md.
//
// Threading: a SqliteDatabase and its statements belong to one thread at a
// time (the caller serialises); separate SqliteDatabase objects on the same
// file may be used from different threads (WAL lets readers run beside the
// one writer; a second writer waits up to busy_timeout).
#ifndef SWITCHBOARD_REGISTRAR_STORE_SQLITE_DATABASE_H_
#define SWITCHBOARD_REGISTRAR_STORE_SQLITE_DATABASE_H_

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "registrar/store/binding_store.h"  // StoreResult

namespace registrar {

// The one database file both stores share, inside the data directory.
inline constexpr std::string_view kDatabaseFileName = "switchboard.db";
// `data_dir` + "/switchboard.db".
std::string database_path(std::string_view data_dir);

// PRAGMA synchronous, in WAL mode (https://sqlite.org/pragma.html#pragma_synchronous).
enum class SqliteSync : uint8_t {
  kOff,     // no fsync at all: for tests and benchmarks only
  kNormal,  // fsync at checkpoints: survives kill -9, may lose recent commits on power loss
  kFull,    // fsync the WAL at every commit: survives power loss (default)
};
std::string_view sqlite_sync_name(SqliteSync sync);  // "OFF" | "NORMAL" | "FULL"

struct SqliteOptions {
  SqliteSync synchronous = SqliteSync::kFull;
  // How long a statement waits for another connection's lock before SQLITE_BUSY.
  std::chrono::milliseconds busy_timeout{5000};
  // Pages in the WAL before a commit checkpoints it into the database file
  // (SQLite's default is 1000, about 4 MB).
  int wal_autocheckpoint_pages = 1000;
};

// One prepared statement; finalized on destruction. Move-only.
class SqliteStatement {
 public:
  SqliteStatement() = default;
  ~SqliteStatement();
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&& other) noexcept;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  bool valid() const { return stmt_ != nullptr; }

  // Parameters are 1-based (?1, ?2, …). Text is copied (SQLITE_TRANSIENT).
  // A failed bind (index out of range, out of memory) makes the next step()
  // return its error code.
  void bind(int index, int64_t value);
  void bind(int index, std::string_view text);
  void bind(int index, const char* text) { bind(index, std::string_view(text)); }
  void bind_null(int index);
  // Binds `bytes` as a BLOB (copied).
  void bind_blob(int index, std::string_view bytes);

  // SQLITE_ROW, SQLITE_DONE, or an error code (see SqliteDatabase::error()).
  int step();
  // Resets the statement for another run and clears its bindings.
  void reset();

  // Columns are 0-based. column_text() is valid until the next step()/reset().
  int64_t column_int64(int column) const;
  std::string_view column_text(int column) const;
  // A BLOB column's bytes, valid until the next step()/reset().
  std::string_view column_blob(int column) const;
  bool column_is_null(int column) const;

  sqlite3_stmt* raw() const { return stmt_; }

 private:
  friend class SqliteDatabase;
  explicit SqliteStatement(sqlite3_stmt* stmt) : stmt_(stmt) {}

  sqlite3_stmt* stmt_ = nullptr;
  int bind_error_ = SQLITE_OK;
};

// A step of the schema: run when the database's user_version is below `version`.
struct SqliteMigration {
  int version;      // 1, 2, 3… strictly increasing
  const char* sql;  // one or more statements
};

class SqliteDatabase;

struct SqliteOpenResult {
  std::unique_ptr<SqliteDatabase> db;
  std::string error;  // set iff !db
  bool ok() const { return db != nullptr; }
};

class SqliteDatabase {
 public:
  // Opens (creating if needed) `path`, switches to WAL, applies `options`,
  // and turns foreign keys on. The file's directory must exist.
  [[nodiscard]] static SqliteOpenResult open(const std::string& path, const SqliteOptions& options);

  ~SqliteDatabase();
  SqliteDatabase(const SqliteDatabase&) = delete;
  SqliteDatabase& operator=(const SqliteDatabase&) = delete;

  // Runs one or more statements that return no rows we need.
  [[nodiscard]] StoreResult exec(std::string_view sql);
  // Compiles `sql` (one statement) into `out`.
  [[nodiscard]] StoreResult prepare(std::string_view sql, SqliteStatement& out);

  // Brings the schema to the last migration's version, all in one IMMEDIATE
  // transaction (so two connections opening a new file at once do not both
  // migrate). Fails when the file's version is newer than the last migration
  // (a downgrade) or a migration fails (nothing is changed then).
  // REQUIRES: `migrations` sorted by version, versions >= 1.
  [[nodiscard]] StoreResult migrate(std::span<const SqliteMigration> migrations);
  // PRAGMA user_version; -1 on error.
  int user_version();

  // "<what>: <sqlite3_errmsg> (<sqlite3_errstr(code)>)", for `code` just
  // returned by a call on this connection.
  std::string error(std::string_view what, int code) const;

  // Steps a statement that returns no rows (or ignores them) and resets it;
  // "" on success, else error(what, …).
  std::string run(SqliteStatement& statement, std::string_view what) const;

  // Rows changed by the last INSERT/UPDATE/DELETE on this connection.
  int64_t changes() const;
  // True inside BEGIN … COMMIT.
  bool in_transaction() const;

  const std::string& path() const { return path_; }
  const SqliteOptions& options() const { return options_; }
  sqlite3* raw() const { return db_; }

 private:
  SqliteDatabase(sqlite3* db, std::string path, SqliteOptions options)
      : db_(db), path_(std::move(path)), options_(options) {}

  sqlite3* db_;
  std::string path_;
  SqliteOptions options_;
};

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_STORE_SQLITE_DATABASE_H_
