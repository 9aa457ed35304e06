// registrar/store/sqlite_database.cc — RAII over sqlite3 connections and
// statements, WAL set-up and user_version migrations.
#include "registrar/store/sqlite_database.h"

#include <utility>

namespace registrar {
namespace {

StoreResult failure(std::string error) {
  return StoreResult{.ok = false, .error = std::move(error)};
}

}  // namespace

std::string database_path(std::string_view data_dir) {
  std::string path(data_dir);
  if (path.empty()) path = ".";
  if (path.back() != '/') path += '/';
  path += kDatabaseFileName;
  return path;
}

std::string_view sqlite_sync_name(SqliteSync sync) {
  switch (sync) {
    case SqliteSync::kOff:
      return "OFF";
    case SqliteSync::kNormal:
      return "NORMAL";
    case SqliteSync::kFull:
      return "FULL";
  }
  return "FULL";
}

// --- SqliteStatement --------------------------------------------------------------

SqliteStatement::~SqliteStatement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)), bind_error_(other.bind_error_) {}

SqliteStatement& SqliteStatement::operator=(SqliteStatement&& other) noexcept {
  if (this != &other) {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
    bind_error_ = other.bind_error_;
  }
  return *this;
}

void SqliteStatement::bind(int index, int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
}

void SqliteStatement::bind(int index, std::string_view text) {
  // A zero-length blob pointer must not be null for SQLite to store '' (not NULL).
  const char* data = text.data() != nullptr ? text.data() : "";
  const int rc =
      sqlite3_bind_text(stmt_, index, data, static_cast<int>(text.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
}

void SqliteStatement::bind_blob(int index, std::string_view bytes) {
  // As for text: a non-null pointer so that an empty value is a zero-length BLOB, not NULL.
  const char* data = bytes.data() != nullptr ? bytes.data() : "";
  const int rc =
      sqlite3_bind_blob(stmt_, index, data, static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
}

void SqliteStatement::bind_null(int index) {
  const int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
}

int SqliteStatement::step() {
  if (bind_error_ != SQLITE_OK) return bind_error_;
  return sqlite3_step(stmt_);
}

void SqliteStatement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_error_ = SQLITE_OK;
}

int64_t SqliteStatement::column_int64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::string_view SqliteStatement::column_text(int column) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (text == nullptr) return {};
  return std::string_view(text, static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::string_view SqliteStatement::column_blob(int column) const {
  const void* blob = sqlite3_column_blob(stmt_, column);
  if (blob == nullptr) return {};
  return std::string_view(static_cast<const char*>(blob),
                          static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

bool SqliteStatement::column_is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

// --- SqliteDatabase ---------------------------------------------------------------

SqliteOpenResult SqliteDatabase::open(const std::string& path, const SqliteOptions& options) {
  SqliteOpenResult result;
  sqlite3* raw = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    result.error = "sqlite open '" + path +
                   "': " + (raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc));
    if (raw != nullptr) sqlite3_close(raw);
    return result;
  }
  std::unique_ptr<SqliteDatabase> db(new SqliteDatabase(raw, path, options));
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, static_cast<int>(options.busy_timeout.count()));

  // journal_mode answers with the mode it got: a file system without shared
  // memory support would silently stay in rollback-journal mode.
  SqliteStatement journal;
  if (StoreResult r = db->prepare("PRAGMA journal_mode=WAL", journal); !r.ok) {
    result.error = "sqlite open '" + path + "': " + r.error;
    return result;
  }
  const int step = journal.step();
  if (step != SQLITE_ROW) {
    result.error = db->error("sqlite open '" + path + "': PRAGMA journal_mode=WAL", step);
    return result;
  }
  if (journal.column_text(0) != "wal") {
    result.error = "sqlite open '" + path + "': WAL mode refused (journal_mode is " +
                   std::string(journal.column_text(0)) + ")";
    return result;
  }
  journal = SqliteStatement();

  const std::string pragmas =
      "PRAGMA synchronous=" + std::string(sqlite_sync_name(options.synchronous)) +
      ";PRAGMA foreign_keys=ON;PRAGMA wal_autocheckpoint=" +
      std::to_string(options.wal_autocheckpoint_pages) + ";";
  if (StoreResult r = db->exec(pragmas); !r.ok) {
    result.error = "sqlite open '" + path + "': " + r.error;
    return result;
  }
  result.db = std::move(db);
  return result;
}

SqliteDatabase::~SqliteDatabase() {
  // sqlite3_close_v2 defers the close until every statement is finalized, so
  // members destroyed in any order cannot leak the connection.
  sqlite3_close_v2(db_);
}

StoreResult SqliteDatabase::exec(std::string_view sql) {
  const std::string text(sql);
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return {};
  std::string error = std::string(text.substr(0, 60)) + ": " +
                      (message != nullptr ? message : sqlite3_errstr(rc)) + " (" +
                      sqlite3_errstr(rc) + ")";
  sqlite3_free(message);
  return failure(std::move(error));
}

StoreResult SqliteDatabase::prepare(std::string_view sql, SqliteStatement& out) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    if (stmt != nullptr) sqlite3_finalize(stmt);
    return failure(error("prepare '" + std::string(sql.substr(0, 60)) + "'", rc));
  }
  out = SqliteStatement(stmt);
  return {};
}

int SqliteDatabase::user_version() {
  SqliteStatement s;
  if (!prepare("PRAGMA user_version", s).ok) return -1;
  if (s.step() != SQLITE_ROW) return -1;
  return static_cast<int>(s.column_int64(0));
}

StoreResult SqliteDatabase::migrate(std::span<const SqliteMigration> migrations) {
  const int latest = migrations.empty() ? 0 : migrations.back().version;
  if (StoreResult r = exec("BEGIN IMMEDIATE"); !r.ok) return r;
  auto rollback = [this](StoreResult r) {
    (void)exec("ROLLBACK");
    return r;
  };
  const int current = user_version();
  if (current < 0)
    return rollback(failure(error("read PRAGMA user_version", sqlite3_errcode(db_))));
  if (current > latest) {
    return rollback(failure("database '" + path_ + "' has schema version " +
                            std::to_string(current) + ", newer than this build knows (" +
                            std::to_string(latest) + "): refusing to downgrade"));
  }
  for (const SqliteMigration& m : migrations) {
    if (m.version <= current) continue;
    if (StoreResult r = exec(m.sql); !r.ok) {
      return rollback(failure("migration to schema version " + std::to_string(m.version) +
                              " failed: " + r.error));
    }
  }
  if (latest != current) {
    if (StoreResult r = exec("PRAGMA user_version=" + std::to_string(latest)); !r.ok)
      return rollback(r);
  }
  if (StoreResult r = exec("COMMIT"); !r.ok) return rollback(r);
  return {};
}

std::string SqliteDatabase::run(SqliteStatement& statement, std::string_view what) const {
  const int rc = statement.step();
  std::string failure;
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) failure = error(what, rc);
  statement.reset();
  return failure;
}

std::string SqliteDatabase::error(std::string_view what, int code) const {
  std::string out(what);
  out += ": ";
  out += sqlite3_errmsg(db_);
  out += " (";
  out += sqlite3_errstr(code);
  out += ')';
  return out;
}

int64_t SqliteDatabase::changes() const { return sqlite3_changes64(db_); }

bool SqliteDatabase::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

}  // namespace registrar
