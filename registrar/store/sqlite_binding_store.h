// registrar/store/sqlite_binding_store.h — BindingStore on SQLite with group
// commit: one writer thread turns every replace_aor() queued while it was busy
// into ONE transaction (one fsync), then runs all their callbacks.
//
//   auto opened = registrar::SqliteBindingStore::open(registrar::database_path(data_dir), {});
//   if (!opened.ok()) return fail(opened.error);
//   registrar::BindingStore& store = *opened.store;
//   store.replace_aor("alice@acme.test", {b1}, {registered_b1},
//                     [](const registrar::StoreResult& r) { … });   // r.first_sequence
//
// Batching: when the writer is idle it takes everything queued at once
// (natural batching: the busier the registrar, the bigger the batch, the same
// number of fsyncs per second). Optionally, after a batch of more than one
// write (a sign of load) it waits up to `max_batch_delay` for more before
// starting the next. Within a batch only an AOR's last set is written (earlier
// ones are superseded), but every `done` is called, after the COMMIT, in the
// order the writes were issued.
//
// Events: every valid write's events are inserted into the `events` table in
// the batch's transaction, in issue order — also for writes whose binding set
// was superseded — so sequences follow the order of the `done` calls, and
// each write's StoreResult::first_sequence is its first event's. Retention
// (options.events) deletes the oldest events on the writer thread after a
// commit, at most once per `trim_interval` (or sooner when the log is a
// quarter over max_events). read_events() and event_log_state() use a second,
// read-only connection: under WAL they never wait for the writer's fsync.
//
// Binding::replica is not stored in the bindings table (one process uses the
// embedded store): load_unexpired() returns it as "". Events keep it.
//
// Failure: if any statement or the COMMIT fails, the transaction is rolled
// back and every callback of the batch gets !ok with the SQLite error (and no
// event is stored). A write that breaks the REQUIRES of replace_aor (another
// AOR's binding, the same contact twice, a kAuthFailed event) fails alone
// with an explanation.
//
// Threading: all methods from any thread. `done` always runs on the writer
// thread, never inside replace_aor(). replace_aor() called from a `done`
// callback never blocks (it may exceed max_queue). flush() must not be called
// from a `done` callback.
#ifndef SWITCHBOARD_REGISTRAR_STORE_SQLITE_BINDING_STORE_H_
#define SWITCHBOARD_REGISTRAR_STORE_SQLITE_BINDING_STORE_H_

#include <chrono>
#include <functional>
#include <string_view>
#include <cstdint>
#include <memory>
#include <string>

#include "registrar/store/binding_store.h"
#include "registrar/store/sqlite_database.h"
#include "sip/clock.h"

namespace registrar {

struct SqliteBindingStoreOptions {
  SqliteOptions database;
  // Writes queued and not yet taken by the writer; beyond it replace_aor()
  // blocks (kBlock) or fails its `done` with "binding store queue full" (kFail).
  size_t max_queue = 65'536;
  enum class WhenFull : uint8_t { kBlock, kFail } when_full = WhenFull::kBlock;
  // Most writes in one transaction (bounds the latency a batch adds).
  size_t max_batch = 4096;
  // Extra time to gather writes under load; 0 = natural batching only.
  std::chrono::microseconds max_batch_delay{0};
  // How much of the event log to keep, and how often to trim it (0: after
  // every commit, for tests).
  EventRetention events;
  std::chrono::milliseconds trim_interval{1000};
  // Wall time for trimming by age; nullptr: the system clock. Must outlive
  // the store.
  const sip::Clock* clock = nullptr;
  // Told how long each database operation took, on the writer thread:
  // "commit" (one group-commit transaction, BEGIN to COMMIT), "trim" (event
  // log retention). For metrics; must be quick and thread-safe. Empty: not timed.
  std::function<void(std::string_view op, std::chrono::nanoseconds took)> on_operation;
};

// Counters since open. Read with stats(); each field is consistent on its own.
struct SqliteBindingStoreStats {
  uint64_t writes = 0;               // replace_aor() calls accepted into the queue
  uint64_t writes_committed = 0;     // … whose `done` got ok
  uint64_t writes_failed = 0;        // … whose `done` got !ok (commit or validation)
  uint64_t writes_rejected = 0;      // refused because the queue was full (kFail)
  uint64_t writes_coalesced = 0;     // superseded by a later set for the AOR in the same batch
  uint64_t transactions = 0;         // COMMITs that succeeded
  uint64_t transactions_failed = 0;  // transactions rolled back
  uint64_t rows_inserted = 0;
  uint64_t largest_batch = 0;   // most writes in one transaction
  uint64_t events_written = 0;  // rows inserted into the event log (committed)
  uint64_t events_trimmed = 0;  // … deleted by retention
};

class SqliteBindingStore;

struct SqliteBindingStoreOpenResult {
  std::unique_ptr<SqliteBindingStore> store;
  std::string error;  // set iff !store
  bool ok() const { return store != nullptr; }
};

class SqliteBindingStore final : public BindingStore {
 public:
  // Opens `path` (creating it and the schema), and starts the writer thread.
  [[nodiscard]] static SqliteBindingStoreOpenResult open(const std::string& path,
                                                         const SqliteBindingStoreOptions& options);

  // Finishes every queued write (callbacks included), then stops the writer.
  ~SqliteBindingStore() override;
  SqliteBindingStore(const SqliteBindingStore&) = delete;
  SqliteBindingStore& operator=(const SqliteBindingStore&) = delete;

  void replace_aor(std::string aor, std::vector<Binding> bindings,
                   std::vector<RegistrationEvent> events,
                   std::function<void(const StoreResult&)> done) override;
  // On the read connection (any thread; concurrent readers take turns). An
  // event whose binding blob cannot be decoded is returned with only its
  // sequence, time, type, reason and binding.aor (so that sequences stay
  // consecutive). Times are whole milliseconds. A read that fails returns
  // what it read so far (possibly nothing).
  std::vector<RegistrationEvent> read_events(uint64_t after, size_t limit) override;
  // {1, 1} if the read fails.
  EventLogState event_log_state() override;
  // Read on the caller's thread, between the writer's transactions. Rows that
  // cannot be decoded are skipped.
  std::vector<Binding> load_unexpired(WallTime now) override;
  size_t purge_expired(WallTime now) override;
  void flush() override;

  SqliteBindingStoreStats stats() const;
  // False while the last group commit failed (disk full, I/O error): for
  // readiness. True again after a commit succeeds. Thread-safe.
  bool healthy() const;

 private:
  struct Impl;
  explicit SqliteBindingStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_STORE_SQLITE_BINDING_STORE_H_
