// registrar/store/sqlite_credential_store.h — CredentialStore on SQLite with
// every realm and credential held in memory: reads (one per REGISTER) take a
// shared lock and never touch SQLite; writes (provisioning, the admin API) go
// to SQLite first, synchronously, and are durable when they return.
//
//   auto opened = registrar::SqliteCredentialStore::open(registrar::database_path(data_dir), {});
//   if (!opened.ok()) return fail(opened.error);
//   for (const std::string& w : opened.store->load_warnings()) log(w);   // rows skipped
//   opened.store->put_realm(registrar::Realm{.name = "acme.test"});
//   opened.store->put_credential(registrar::Credential::from_password("acme.test", "alice", pw));
//
// Realm names compare case-insensitively; a credential's realm must be
// spelled exactly as its realm is (the HA1 hashes that spelling), else
// put_credential() refuses it. Removing a realm removes its credentials
// (ON DELETE CASCADE in the table, and in memory).
//
// Realm lists are stored as text: algorithms "SHA-512-256,SHA-256,MD5",
// trusted sources "192.0.2.0/24,2001:db8::/32", aliases
// "alice=sales,%2B15551234;bob=support" with '%', ',', ';' and '=' inside a
// name percent-encoded (all four may appear in a SIP user part).
//
// Threading: every method from any thread. Writers are serialised among
// themselves; readers wait only for the in-memory swap after a commit, never
// for the fsync.
#ifndef SWITCHBOARD_REGISTRAR_STORE_SQLITE_CREDENTIAL_STORE_H_
#define SWITCHBOARD_REGISTRAR_STORE_SQLITE_CREDENTIAL_STORE_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "registrar/store/credential_store.h"
#include "registrar/store/sqlite_database.h"

namespace registrar {

class SqliteCredentialStore;

struct SqliteCredentialStoreOpenResult {
  std::unique_ptr<SqliteCredentialStore> store;
  std::string error;  // set iff !store
  bool ok() const { return store != nullptr; }
};

class SqliteCredentialStore final : public CredentialStore {
 public:
  // Opens `path` (creating it and the schema) and loads every row.
  [[nodiscard]] static SqliteCredentialStoreOpenResult open(const std::string& path,
                                                            const SqliteOptions& options);
  ~SqliteCredentialStore() override;
  SqliteCredentialStore(const SqliteCredentialStore&) = delete;
  SqliteCredentialStore& operator=(const SqliteCredentialStore&) = delete;

  std::optional<Realm> find_realm(std::string_view name) const override;
  std::vector<Realm> list_realms() const override;  // sorted by name
  StoreResult put_realm(const Realm& realm) override;
  bool remove_realm(std::string_view name) override;

  std::optional<Credential> find_credential(std::string_view realm,
                                            std::string_view username) const override;
  std::vector<Credential> list_credentials(std::string_view realm) const override;  // by username
  StoreResult put_credential(const Credential& credential) override;
  bool remove_credential(std::string_view realm, std::string_view username) override;

  // Rows skipped at open because they did not decode (bad hex, unknown
  // algorithm…), one line each, naming the row but never a hash.
  const std::vector<std::string>& load_warnings() const;

 private:
  struct Impl;
  explicit SqliteCredentialStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The text forms used in the realms table, exposed for tests and tools.
std::string encode_realm_aliases(const std::map<std::string, std::vector<std::string>>& aliases);
// nullopt when `text` is malformed.
std::optional<std::map<std::string, std::vector<std::string>>> decode_realm_aliases(
    std::string_view text);

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_STORE_SQLITE_CREDENTIAL_STORE_H_
