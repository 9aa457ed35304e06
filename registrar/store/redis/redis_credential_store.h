// registrar/store/redis/redis_credential_store.h — CredentialStore on Redis,
// shared by every replica.
//
//   auto opened = registrar::RedisCredentialStore::open(*url.url, {});
//   if (!opened.ok()) return fail(opened.error);
//   opened.store->put_realm(registrar::Realm{.name = "acme.test"});
//   opened.store->put_credential(registrar::Credential::from_password("acme.test", "alice", pw));
//
// Keys (prefix options.prefix, default "sb:"):
//   {p}realms                HASH  lower-cased realm name → encoded Realm
//   {p}creds:{lower realm}   HASH  username → encoded Credential (HA1s and
//                                  hash1b only: never a password)
// Encodings ("sbr1" / "sbc1"): a version line, then one "field=value" line
// per field, values with '%', CR and LF percent-encoded; realm lists as the
// SQLite store's text forms (algorithms "SHA-256,MD5", CIDRs "a,b", aliases
// encode_realm_aliases()). Unknown fields are ignored (forward compatible);
// a value that does not decode makes the read skip that realm/credential.
//
// Writes that must see other keys run as Lua scripts (atomic): put_realm
// refuses to respell a realm that has credentials, put_credential needs its
// realm spelled exactly as stored, remove_realm deletes its credentials too.
// Semantics otherwise as SqliteCredentialStore (case-insensitive realm names,
// case-sensitive usernames, lists sorted).
//
// NOT YET: a local cache. Every find_realm()/find_credential() is a Redis
// round trip on one connection behind a mutex; the REGISTER hot path needs
// the in-memory cache (kept fresh by keyspace notifications or a version
// key) that the next part of issue 8 adds. A Redis failure reads as "not
// found" (find_*: nullopt, remove_*: false) and fails puts with "redis …".
//
// Threading: every method from any thread (serialised on the connection).
#ifndef SWITCHBOARD_REGISTRAR_STORE_REDIS_REDIS_CREDENTIAL_STORE_H_
#define SWITCHBOARD_REGISTRAR_STORE_REDIS_REDIS_CREDENTIAL_STORE_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registrar/store/credential_store.h"
#include "registrar/store/redis/redis_connection.h"

namespace registrar {

struct RedisCredentialStoreOptions {
  RedisConnectionOptions connection;
  std::string prefix = "sb:";
};

class RedisCredentialStore;

struct RedisCredentialStoreOpenResult {
  std::unique_ptr<RedisCredentialStore> store;
  std::string error;
  bool ok() const { return store != nullptr; }
};

class RedisCredentialStore final : public CredentialStore {
 public:
  // Connects (failing if Redis does not answer) and loads the scripts.
  [[nodiscard]] static RedisCredentialStoreOpenResult open(
      const RedisUrl& url, const RedisCredentialStoreOptions& options);
  ~RedisCredentialStore() override;
  RedisCredentialStore(const RedisCredentialStore&) = delete;
  RedisCredentialStore& operator=(const RedisCredentialStore&) = delete;

  // False while the last operation failed on the connection (Redis away): a
  // lookup that found nothing may have failed. True again after one succeeds.
  bool available() const override;

  std::optional<Realm> find_realm(std::string_view name) const override;
  std::vector<Realm> list_realms() const override;  // sorted by lower-cased name
  StoreResult put_realm(const Realm& realm) override;
  bool remove_realm(std::string_view name) override;

  std::optional<Credential> find_credential(std::string_view realm,
                                            std::string_view username) const override;
  std::vector<Credential> list_credentials(std::string_view realm) const override;  // by username
  StoreResult put_credential(const Credential& credential) override;
  bool remove_credential(std::string_view realm, std::string_view username) override;

 private:
  struct Impl;
  explicit RedisCredentialStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The value encodings, exposed for tests and tools. Decoders: nullopt when malformed.
std::string encode_redis_realm(const Realm& realm);
std::optional<Realm> decode_redis_realm(std::string_view value);
std::string encode_redis_credential(const Credential& credential);
std::optional<Credential> decode_redis_credential(std::string_view value, std::string_view realm,
                                                  std::string_view username);

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_STORE_REDIS_REDIS_CREDENTIAL_STORE_H_
