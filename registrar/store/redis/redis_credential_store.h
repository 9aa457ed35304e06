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
//   {p}admin                 STREAM what changed (below); IDs <epoch ms>-<n>
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
// Reads come from memory, coherent across replicas (docs/scale-out.md
// decision 3, docs/store.md "Realms and credentials: the snapshot"):
//  * open() loads every realm and credential into a snapshot; find_*() and
//    list_*() read it under a shared lock and never wait for Redis.
//  * Every write is ONE script that also appends, in the same atomic step, an
//    entry to the stream {p}admin (XADD MAXLEN ~ 10000) naming what changed:
//    k=realm r=<lower realm> op=put|del, or k=credential r=… u=<username>
//    op=put|del. A write that changes nothing appends nothing. Entry IDs are
//    consecutive: <epoch ms>-1, -2, …, where the epoch is the time the stream
//    was (re)created; that is what lets a reader see a gap.
//  * A tailer thread (its own connection) XREADs the stream and, per entry,
//    re-reads that realm or credential from Redis (the current value, not the
//    entry: idempotent and order-safe) into the snapshot. It reloads the
//    whole snapshot (position first, then data, then tail from the position)
//    when it may have missed entries: its connection failed, an entry is not
//    the one after the last it applied (trimmed past us, a new epoch after
//    FLUSHALL or a lost stream, a hand-written `XADD … *`), or the stream's
//    last ID went below ours.
//  * The writing process applies its own change at once (a put then a find
//    in the same process sees it); the tailer re-reads it later anyway, and
//    does not overwrite it with a read from before it.
//  * Changes made through other replicas are visible here within the tail
//    latency (one XREAD round trip plus one HGET: about a millisecond on a
//    LAN); each key converges, with no order across keys. Changes made in
//    Redis by hand are seen only when announced, e.g. `XADD sb:admin * k
//    credential r acme.test u alice op put` (that makes every replica
//    reload, which is always correct).
//
// Availability: while the tailer cannot read Redis (from its failed round
// trip until it has reconnected and reloaded) or the last write failed on the
// connection (until a write succeeds or the tailer hears from Redis again),
// available() is false and find_*/list_* return nothing: the registrar then
// answers 503 instead of authenticating against a snapshot that may be stale.
// A write that succeeds while the tailer is still away waits (at most about
// 2 s) for its reload, so that it can be read back. A failed write returns
// "credential store: redis …" (puts) or false (removes). Every round trip is
// bounded by the connection's timeouts (1 s; the tailer's reads by its block
// time + 1 s): nothing hangs on a dead Redis.
//
// Memory: the snapshot is as big as the data (decoded Realm and Credential
// objects); the stream is capped by MAXLEN (~10,000 entries of ~100 bytes).
//
// Threading: every method from any thread. Reads share a lock; writes are
// serialised on one connection; the destructor stops the tailer at once
// (CLIENT UNBLOCK; without that ACL permission within tail_block, and within
// the tailer's I/O timeout if Redis hangs).
#ifndef SWITCHBOARD_REGISTRAR_STORE_REDIS_REDIS_CREDENTIAL_STORE_H_
#define SWITCHBOARD_REGISTRAR_STORE_REDIS_REDIS_CREDENTIAL_STORE_H_

#include <chrono>
#include <cstdint>
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
  // How long one XREAD of the tailer waits for entries. Not a latency (an
  // entry wakes it at once) but how often an idle tailer checks that the
  // stream did not go back (FLUSHALL); a hung Redis goes unnoticed for at
  // most this + connection.io_timeout.
  std::chrono::milliseconds tail_block{1000};
  // The admin stream's approximate cap (XADD MAXLEN ~). A replica that falls
  // further behind than this sees a gap and reloads.
  uint32_t admin_stream_maxlen = 10000;
};

class RedisCredentialStore;

struct RedisCredentialStoreOpenResult {
  std::unique_ptr<RedisCredentialStore> store;
  std::string error;
  bool ok() const { return store != nullptr; }
};

class RedisCredentialStore final : public CredentialStore {
 public:
  // Connects (failing if Redis does not answer), loads the scripts and the
  // snapshot (failing if a key holds the wrong type), starts the tailer.
  [[nodiscard]] static RedisCredentialStoreOpenResult open(
      const RedisUrl& url, const RedisCredentialStoreOptions& options);
  ~RedisCredentialStore() override;
  RedisCredentialStore(const RedisCredentialStore&) = delete;
  RedisCredentialStore& operator=(const RedisCredentialStore&) = delete;

  // False while the tailer cannot read Redis or the last write failed on the
  // connection (see above); reads then return nothing. True again once the
  // tailer has reconnected and reloaded.
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
