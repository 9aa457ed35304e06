// registrar/store/redis/redis_binding_store.h — BindingStore on Redis with
// the SQLite store's semantics: atomic per-AOR replace together with its
// events, consecutive sequences from 1 that are never reused, `done` in
// sequence order, group commit (one round trip per batch).
//
//   auto url = registrar::parse_redis_url("redis://127.0.0.1:6379/0");
//   auto opened = registrar::RedisBindingStore::open(*url.url, {});
//   if (!opened.ok()) return fail(opened.error);
//   opened.store->replace_aor("alice@acme.test", {b1}, {registered_b1},
//                             [](const registrar::StoreResult& r) { … });
//
// Keys (prefix options.prefix, default "sb:"):
//   {p}aor:{aor}      STRING  the AOR's binding set (redis_codec.h), PEXPIREAT
//                             = the latest expires_at of the set: Redis drops
//                             it by itself once every binding has expired
//   {p}aors           ZSET    aor → latest expiry (ms): load and purge
//   {p}realm:{realm}  ZSET    aor → latest expiry (ms): the per-realm index
//   {p}realm-names    SET     the realms with an index key (for purging)
//   {p}events         STREAM  entry ID "{sequence}-0", fields t (ms), a (aor),
//                             e (the encoded event)
//   {p}events:last    STRING  the last sequence given (only ever grows)
//
// A write is ONE Lua script (EVALSHA, EVAL on NOSCRIPT) that reads the old
// set's realms, sets or deletes the AOR key, updates both indexes, takes the
// sequences (events:last, or the stream's last ID if higher) and XADDs the
// events with explicit IDs, returning the first sequence: Redis runs scripts
// atomically, so a binding is never stored without its events, or the
// reverse. The script checks what could fail (the keys' types, a garbage
// counter) before writing anything.
//
// Group commit: a writer thread takes everything queued (up to max_batch)
// and sends it as ONE pipeline of scripts (one round trip), then calls every
// `done` in issue order (= sequence order: the pipeline runs in order). A
// connection failure fails the whole batch's writes with "redis …" (some may
// have been applied: the caller cannot tell, as with any lost reply), marks
// the store unhealthy, and the next batch reconnects. A script error fails
// only its write.
//
// Reads (read_events, event_log_state, load_unexpired, purge_expired) use a
// second connection behind a mutex; they never wait for the writer.
//
// Not cluster-safe: the script derives realm index keys from ARGV.
//
// Threading: all methods from any thread. `done` runs on the writer thread.
// flush() must not be called from a `done` callback.
#ifndef SWITCHBOARD_REGISTRAR_STORE_REDIS_REDIS_BINDING_STORE_H_
#define SWITCHBOARD_REGISTRAR_STORE_REDIS_REDIS_BINDING_STORE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "registrar/store/binding_store.h"
#include "registrar/store/redis/redis_connection.h"
#include "sip/clock.h"

namespace registrar {

struct RedisBindingStoreOptions {
  RedisConnectionOptions connection;
  std::string prefix = "sb:";
  // As SqliteBindingStoreOptions.
  size_t max_queue = 65'536;
  enum class WhenFull : uint8_t { kBlock, kFail } when_full = WhenFull::kBlock;
  // Smaller than SQLite's: a pipeline must be answered within the connection's
  // I/O timeout (1 s), or writes Redis applied are reported failed; 512
  // scripts take ~16 ms of Redis time (~31 µs each), so 1 s holds even on a
  // loaded Redis, and the group commit is as effective past a few hundred.
  size_t max_batch = 512;
  EventRetention events;
  std::chrono::milliseconds trim_interval{1000};
  // How long after its latest binding's expiry Redis keeps an AOR key (and
  // purge_expired() leaves it): time for the replicas to write the EXPIRED
  // events themselves. The key's TTL is only the garbage collection for
  // when no replica runs.
  std::chrono::seconds expiry_grace{600};
  const sip::Clock* clock = nullptr;
  // "commit" (one pipeline), "trim". Writer thread.
  std::function<void(std::string_view op, std::chrono::nanoseconds took)> on_operation;
};

struct RedisBindingStoreStats {
  uint64_t writes = 0;            // accepted into the queue
  uint64_t writes_committed = 0;  // `done` got ok
  uint64_t writes_failed = 0;     // `done` got !ok (connection, script or validation)
  uint64_t writes_rejected = 0;   // queue full (kFail)
  uint64_t batches = 0;           // pipelines that got every reply (round trips)
  uint64_t batches_failed = 0;    // pipelines lost to a connection failure
  uint64_t largest_batch = 0;
  uint64_t events_written = 0;
  uint64_t events_trimmed = 0;
  uint64_t reconnects = 0;  // writer connections made after the first
  uint64_t conflicts = 0;   // guarded writes refused: the AOR changed elsewhere
};

class RedisBindingStore;

struct RedisBindingStoreOpenResult {
  std::unique_ptr<RedisBindingStore> store;
  std::string error;
  bool ok() const { return store != nullptr; }
};

class RedisBindingStore final : public BindingStore {
 public:
  // Connects (failing if Redis does not answer), loads the scripts, starts the writer.
  [[nodiscard]] static RedisBindingStoreOpenResult open(const RedisUrl& url,
                                                        const RedisBindingStoreOptions& options);
  // Finishes every queued write (callbacks included), then stops the writer.
  ~RedisBindingStore() override;
  RedisBindingStore(const RedisBindingStore&) = delete;
  RedisBindingStore& operator=(const RedisBindingStore&) = delete;

  void replace_aor(std::string aor, std::vector<Binding> bindings,
                   std::vector<RegistrationEvent> events,
                   std::function<void(const StoreResult&)> done) override;
  // Several replicas write this store (docs/scale-out.md).
  bool shared() const override { return true; }
  // The instance number Redis gave this store at open() (INCR {p}instances,
  // 24 bits) above a 40-bit counter.
  uint64_t new_stamp() override;
  static constexpr unsigned kStampCounterBits = 40;
  static uint64_t stamp_instance(uint64_t stamp);
  static uint64_t stamp_counter(uint64_t stamp);
  uint64_t instance() const;
  // The guard is checked by the write's script, atomically with the write.
  void replace_aor_guarded(std::string aor, AorGuard guard, std::vector<Binding> bindings,
                           std::vector<RegistrationEvent> events,
                           std::function<void(const StoreResult&)> done) override;
  // One GET on the reader connection.
  std::optional<StoredAor> read_aor(std::string_view aor) override;
  // Several AORs with one MGET (in `aors` order; absent ones with stamp 0 and
  // no bindings). Empty when the read fails.
  std::vector<StoredAor> read_aors(const std::vector<std::string>& aors);
  std::vector<StoredAor> load_sets(WallTime now) override;
  // An entry that does not decode comes back with its sequence and time only
  // (sequences stay consecutive). A failed read returns nothing.
  std::vector<RegistrationEvent> read_events(uint64_t after, size_t limit) override;
  // {1, 1} if the read fails.
  EventLogState event_log_state() override;
  // Values that do not decode are skipped.
  std::vector<Binding> load_unexpired(WallTime now) override;
  // Removes the AORs whose latest expiry is older than now - expiry_grace
  // (keys and index entries; no events); returns how many AORs went.
  size_t purge_expired(WallTime now) override;
  void flush() override;

  RedisBindingStoreStats stats() const;
  // False while the last batch failed on the connection; true after one succeeds.
  bool healthy() const;

 private:
  struct Impl;
  struct Write;
  explicit RedisBindingStore(std::unique_ptr<Impl> impl);
  void enqueue(Write&& w);
  std::unique_ptr<Impl> impl_;
};

// Parses one `{p}events` stream entry (["ID", [field, value, …]]) as
// read_events() does; `stamp` (optional) gets the stamp of the write that
// made it (0 for entries written before stamps). False when it is not an
// entry with a sequence.
bool parse_event_entry(const RedisReply& entry, RegistrationEvent& e, uint64_t* stamp);

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_STORE_REDIS_REDIS_BINDING_STORE_H_
