// registrar/location_service.h — the bindings every other part acts on: an
// in-memory cache sharded by AOR in front of a durable BindingStore, with
// expiry driven by the injected clock and observers told of every change.
//
// A REGISTER is applied as one atomic update of its AOR: the registrar passes
// a Mutation that sees the AOR's current, unexpired bindings and edits them
// (RFC 3261 §10.3 steps 6-8). The cache changes at once (a second REGISTER for
// the AOR sees the first), the store persists the new set (group commit), and
// `done` plus the observers run once it is durable: the 200 OK goes out only
// for a change that survives a crash.
//
// Events: every change is described by RegistrationEvents (registered,
// refreshed, replaced, unregistered with a reason, expired) that the store
// persists in the same transaction and numbers; the observers get them, with
// their sequence, from the store's commit path, in sequence order. A change
// the store fails to persist has no sequence and is not reported.
//
//   location.update("alice@acme.test",
//       [&](std::vector<Binding>& bindings, UpdateEvents& events) -> MutationStatus {
//         bindings.push_back(b);
//         events.added(b);
//         return {};                                  // status 0: apply
//       },
//       [reply](const UpdateResult& r) { r.ok() ? send_200(r.bindings) : send(r.status); });
//
// Expiry: a min-heap of (expires_at, AOR) ordered by wall time from the
// Clock; expire_due() pops only what is due (no scans). The server calls it
// from a timer at next_expiry(); tests advance a ManualClock and call it.
//
// Shared stores (BindingStore::shared(): Redis, several replicas): every
// write is guarded by the stamp of the stored set the change was computed
// from (AorGuard). When another replica wrote the AOR in between, the write
// is refused; a retry worker re-reads the AOR from the store, installs it,
// and runs the mutation again (at most max_conflict_retries times, then
// 503): §10.3's per-AOR rules hold across replicas without a lock. Changes
// made by other replicas reach the cache through apply_stored() (called by
// whoever follows the store's event log: RedisEventTailer), and so do the
// binding events: on a shared store the observers get binding events only
// through publish(), from that follower, in the log's order — the
// LocationService publishes none itself (kAuthFailed stays direct).
//
// Threading: all methods may be called from any thread. A Mutation runs under
// its AOR's shard lock: it must be quick and must not call back into the
// LocationService. It must own what it reads: on a shared store it may run
// again later, on the retry worker. `done` and the observers run on the store's writer thread
// (see BindingStore; the memory store's caller thread, under a shard lock and
// the store's lock): they must not block, nor call update()/lookup()/… — a
// caller holding a shard lock may be waiting for room in the store's queue,
// which only that thread makes.
#ifndef SWITCHBOARD_REGISTRAR_LOCATION_SERVICE_H_
#define SWITCHBOARD_REGISTRAR_LOCATION_SERVICE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registrar/binding.h"
#include "registrar/observer.h"
#include "registrar/store/binding_store.h"
#include "sip/clock.h"

namespace registrar {

// What a mutation did, for the observers (fired after the commit).
class UpdateEvents {
 public:
  void added(const Binding& b) { events_.push_back({Kind::kAdded, b, {}, {}}); }
  void refreshed(const Binding& b) { events_.push_back({Kind::kRefreshed, b, {}, {}}); }
  void replaced(const Binding& old_b, const Binding& new_b) {
    events_.push_back({Kind::kReplaced, new_b, old_b, {}});
  }
  // `reason`: "expires=0", "contact=*", "evicted" (max_contacts overflow), …
  void removed(const Binding& b, std::string reason) {
    events_.push_back({Kind::kRemoved, b, {}, std::move(reason)});
  }

  enum class Kind { kAdded, kRefreshed, kReplaced, kRemoved };
  struct Event {
    Kind kind;
    Binding binding;
    Binding old_binding;  // kReplaced only
    std::string reason;   // kRemoved only
  };
  const std::vector<Event>& events() const { return events_; }

 private:
  std::vector<Event> events_;
};

// A mutation's verdict: status 0 applies the edit; any SIP status (400, 403,
// 423, 500…) discards it and is reported to `done` as is.
struct MutationStatus {
  int status = 0;
  std::string reason;
};

struct UpdateResult {
  int status = 0;                 // 0 when applied and durable
  std::string reason;
  std::vector<Binding> bindings;  // the AOR's bindings after the update (or unchanged ones)
  std::string detail;             // why it failed, for logs (e.g. the store's error); never sent
  bool ok() const { return status == 0; }
};

using Mutation = std::function<MutationStatus(std::vector<Binding>& bindings, UpdateEvents& events)>;

struct LocationOptions {
  size_t shards = 64;
  size_t max_bindings = 2'000'000;  // all AORs together; beyond it updates that add get 503
  // Shared stores: this process's replica id. Only bindings whose `replica`
  // is this one name our connections (remove_connection(), load()).
  std::string replica = {};
  size_t max_conflict_retries = 4;  // shared stores: then 503
};

// Degraded paths, counted since construction.
struct LocationStats {
  uint64_t store_failures = 0;  // writes the store refused: update() answered 503
  uint64_t rejected_full = 0;   // updates refused with 503 at max_bindings
  uint64_t conflicts = 0;       // shared stores: writes re-run after another replica's write
};

class LocationService {
 public:
  // `store` and `clock` must outlive the service.
  LocationService(BindingStore& store, const sip::Clock& clock, LocationOptions options = {});
  ~LocationService();
  LocationService(const LocationService&) = delete;
  LocationService& operator=(const LocationService&) = delete;

  // Loads the store's sets that have an unexpired binding into the cache
  // (start-up; their expired bindings too, so that expire_due() reports
  // them) and purges what expired long ago from the store. Returns how many
  // unexpired bindings were loaded. Our bindings' connection_id is reset to
  // 0: connection ids restart with the process, so an old id could name a
  // new, unrelated connection.
  size_t load();

  // Applies `mutate` to the AOR's current bindings (expired ones already
  // removed); see the file comment. `done` runs on the store's writer thread
  // (or at once, on this thread, when the mutation refuses or changes nothing;
  // on a shared store after a conflict, on the retry worker).
  // If the AOR would grow past max_bindings, `done` gets 503 at once. If the
  // store fails, `done` gets 503 with the error in `detail` and the observers
  // are not told; the cache keeps the new set (a retry of the REGISTER
  // persists the AOR's whole set again). Bindings already expired but not yet
  // reaped are dropped first and reported as kExpired events (before the
  // mutation's). `done` may be empty. Event times are clock.wall_now().
  void update(const std::string& aor, Mutation mutate,
              std::function<void(const UpdateResult&)> done);

  // Shared stores: makes the cache hold `stored` (the AOR as the store has it
  // now: another replica changed it) unless the cache already holds that
  // stamp. Returns whether it changed the cache. Events are not derived from
  // it: they come from the store's log (publish()).
  bool apply_stored(const StoredAor& stored);
  // Shared stores: stops the retry worker. Conflicts queued or met later get
  // 503 at once instead of a new write. Call before the SIP server stops and
  // the store is flushed (after it, no write of ours starts on another
  // thread). Also done by the destructor. Idempotent; not concurrently.
  void stop_retries();
  // The stamp of the set the cache holds for `aor` (0: none).
  uint64_t stamp_of(std::string_view aor) const;
  // Tells every observer about `event` (a binding event read from a shared
  // store's log, in sequence order). The follower's thread.
  void publish(const RegistrationEvent& event);

  // The AOR's unexpired bindings (a copy).
  std::vector<Binding> lookup(std::string_view aor) const;

  // Removes every binding whose expires_at <= clock.wall_now(), persists
  // that, and tells observers (kExpired, reason "expired"). Returns how many
  // expired.
  size_t expire_due();
  // When the next binding expires; nullopt when there is none. (Stale heap
  // entries met on the way are dropped.)
  std::optional<WallTime> next_expiry() const;

  // Drops the bindings that were registered over a TCP/TLS connection that
  // has closed (they cannot be reached any more; the device re-registers over
  // a new connection). Observers see kUnregistered, reason "connection
  // closed". Returns how many. (expire_due(), this, remove() and
  // remove_registered_by() go through update()'s path without a `done`: the
  // cache changes at once, the AOR's expired bindings go too, and their
  // events fire after the store's commit, not at all if the store fails.)
  size_t remove_connection(uint64_t connection_id);

  // Removes one binding (admin API); false when there was none. The cache
  // changes at once; the removal is persisted (and its kUnregistered event,
  // with `reason`, fired) after the store's commit, which the caller does
  // not wait for.
  bool remove(std::string_view aor, std::string_view contact, std::string_view reason = "api");

  // Removes every binding a digest username registered in `realm` (the
  // credential was deleted), or every binding of the realm when `username`
  // is nullopt (the realm was deleted). Realm names compare
  // case-insensitively, usernames exactly. Same persistence as remove() (one
  // kUnregistered event with `reason` per binding). Scans every shard: for
  // rare admin operations. Returns how many went.
  size_t remove_registered_by(std::string_view realm, std::optional<std::string_view> username,
                              std::string_view reason);

  // A page of bindings for listing: whole AORs in ascending AOR order (an AOR
  // is never split across pages, so a page may hold a few more than
  // `max_bindings`), starting after `after_aor`. `realm` filters by the
  // binding's realm (case-insensitive) when not empty. `next_aor` is the last
  // AOR of the page when more may follow, "" on the last page. Only
  // unexpired bindings, as lookup(). max_bindings 0 counts as 1. One scan of
  // every shard per page (see the .cc); not a snapshot across pages.
  struct Page {
    std::vector<Binding> bindings;
    std::string next_aor;
  };
  Page list(std::string_view realm, std::string_view after_aor, size_t max_bindings) const;

  // REQUIRES: called before traffic starts; the observer outlives the service.
  void add_observer(RegistrationObserver* observer);
  // Fans an authentication failure (a kAuthFailed event: binding.realm,
  // .aor, .username, .source_ip/.source_port, .transport, .user_agent as
  // presented) out to the observers, at once, on this thread.
  void notify_auth_failed(const RegistrationEvent& event);

  size_t binding_count() const;
  size_t aor_count() const;
  LocationStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_LOCATION_SERVICE_H_
