// registrar/store/binding_store.h — durable storage of the location service.
//
// The unit of persistence is an AOR's whole binding set: a REGISTER changes
// one AOR atomically (RFC 3261 §10.3 step 8), so the store replaces that set
// in one go. Implementations batch concurrent writes into one transaction
// (group commit) and call `done` only after the batch is durable, so the
// registrar sends its 200 OK only for changes that survive a crash.
//
// Each write also carries the events describing it (RegistrationEvent); the
// store appends them to its event log in the same transaction and numbers
// them, so that a watcher can resume from a sequence without gaps.
//
//   store.replace_aor("alice@acme.test", {b1, b2}, {registered_b2},
//                     [reply](const StoreResult& r) {
//     r.ok ? reply.ok(r.first_sequence) : reply.fail(500);
//   });
//   ...after a restart:
//   for (Binding& b : store.load_unexpired(clock.wall_now())) cache.insert(std::move(b));
//   for (RegistrationEvent& e : store.read_events(41, 100)) resend(e);   // 42, 43, …
//
// Threading: every method may be called from any thread. `done` runs on the
// store's writer thread (or, for the memory store, the caller's, under the
// store's lock): it must not block. Portable code does not call back into the
// store from `done`.
#ifndef SWITCHBOARD_REGISTRAR_STORE_BINDING_STORE_H_
#define SWITCHBOARD_REGISTRAR_STORE_BINDING_STORE_H_

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "registrar/binding.h"
#include "registrar/registration_event.h"

namespace registrar {

struct StoreResult {
  bool ok = true;
  std::string error;  // for logs; set iff !ok
  // The sequence the store gave the write's first event; its other events
  // have the following ones. 0 when the write had no event or failed.
  uint64_t first_sequence = 0;
  // A guarded write found the AOR changed by another process since the set
  // its change was computed from (see AorGuard): nothing was written.
  bool conflict = false;
};

// Optimistic concurrency for stores shared by several processes (replicas):
// every stored set carries the stamp of the write that made it, and a guarded
// write applies only if the stored stamp is still `expect` (0: no set stored).
// Stamps are unique per write across processes (BindingStore::new_stamp).
struct AorGuard {
  uint64_t expect = 0;
  uint64_t stamp = 0;  // the new set's stamp
};

// An AOR's stored set with its stamp (0 when nothing is stored).
struct StoredAor {
  std::string aor;
  uint64_t stamp = 0;
  std::vector<Binding> bindings;
};

// The event log's extent. Sequences start at 1 and are never reused: after
// a restart next_sequence continues where it was, even if every event was
// trimmed. The log holds [oldest_retained, next_sequence); it is empty when
// they are equal.
struct EventLogState {
  uint64_t oldest_retained = 1;
  uint64_t next_sequence = 1;
};

// How much of the event log a store keeps: at most max_events events and none
// older than max_age (whichever trims more; 0 turns a limit off). Trimming
// runs after commits, so the log may briefly exceed these. Trimming only ever
// removes the oldest events (a prefix), so the retained log is always the
// contiguous range [oldest_retained, next_sequence); an event whose time is
// older than a later event's survives until that one is trimmed too.
struct EventRetention {
  size_t max_events = 100'000;
  std::chrono::seconds max_age{24 * 3600};
};

class BindingStore {
 public:
  virtual ~BindingStore() = default;

  // Replaces every stored binding of `aor` by `bindings` (empty: deletes the
  // AOR) and appends `events` (the change, described; may be empty) to the
  // event log IN THE SAME TRANSACTION, giving them consecutive sequences.
  // Writes issued in order for one AOR are applied in that order. Sequences
  // follow the order in which `done` callbacks run, so observers called from
  // `done` see events in sequence order.
  // REQUIRES: every binding's aor equals `aor`; no event is kAuthFailed.
  virtual void replace_aor(std::string aor, std::vector<Binding> bindings,
                           std::vector<RegistrationEvent> events,
                           std::function<void(const StoreResult&)> done) = 0;

  // The retained events with sequence > after, oldest first, at most `limit`.
  // Reads what is committed; may run on any thread concurrently with writes.
  // Consecutive: a gap between `after` and the first event means the events
  // in between were trimmed.
  virtual std::vector<RegistrationEvent> read_events(uint64_t after, size_t limit) = 0;
  // The log's extent as committed now. Any thread.
  virtual EventLogState event_log_state() = 0;

  // Every stored binding with expires_at > now. Called at start-up.
  virtual std::vector<Binding> load_unexpired(WallTime now) = 0;

  // Deletes stored bindings with expires_at <= now (housekeeping; loads
  // filter them anyway). Returns how many went.
  virtual size_t purge_expired(WallTime now) = 0;

  // Blocks until every write issued before the call is durable.
  virtual void flush() = 0;

  // --- Stores shared by several processes (Redis). Embedded stores keep the
  // defaults: one process, no guard needed.

  // True when other processes write the same data: the LocationService then
  // guards its writes, re-reads an AOR on a conflict, and leaves publishing
  // events to whoever follows the store's event log (RedisEventTailer).
  virtual bool shared() const { return false; }
  // A stamp no other write of any process sharing the store will use. Any thread.
  virtual uint64_t new_stamp() { return 0; }
  // replace_aor() that applies only while the stored set's stamp is
  // guard.expect; otherwise `done` gets ok = false, conflict = true. The
  // stored set gets guard.stamp, and so do the write's events.
  virtual void replace_aor_guarded(std::string aor, AorGuard guard, std::vector<Binding> bindings,
                                   std::vector<RegistrationEvent> events,
                                   std::function<void(const StoreResult&)> done) {
    (void)guard;
    replace_aor(std::move(aor), std::move(bindings), std::move(events), std::move(done));
  }
  // The AOR's stored set as it is now (expired bindings included); nullopt
  // when the store cannot be read. Blocking: not for the hot path.
  virtual std::optional<StoredAor> read_aor(std::string_view aor) {
    (void)aor;
    return std::nullopt;
  }
  // Every stored set that still has an unexpired binding, whole (its expired
  // bindings included, so that their expiry can still be reported), with
  // its stamp. Start-up.
  virtual std::vector<StoredAor> load_sets(WallTime now);
};

// The default load_sets(): load_unexpired() grouped by AOR (stamp 0), in AOR order.
inline std::vector<StoredAor> BindingStore::load_sets(WallTime now) {
  std::vector<Binding> all = load_unexpired(now);
  std::stable_sort(all.begin(), all.end(),
                   [](const Binding& a, const Binding& b) { return a.aor < b.aor; });
  std::vector<StoredAor> out;
  for (Binding& b : all) {
    if (out.empty() || out.back().aor != b.aor) out.push_back(StoredAor{.aor = b.aor, .stamp = 0, .bindings = {}});
    out.back().bindings.push_back(std::move(b));
  }
  return out;
}

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_STORE_BINDING_STORE_H_
