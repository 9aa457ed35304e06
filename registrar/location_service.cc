// registrar/location_service.cc — the sharded binding cache, its expiry heap
// and connection index, written through to a BindingStore.
//
// Locks: a shard's mutex may be held while taking the heap mutex or calling
// the store (replace_aor must be issued under the shard lock so the store sees
// an AOR's sets in the order the cache took them); never the other way round.
// Store callbacks take no lock of ours, so a writer thread blocked on nothing
// can always drain the store's queue. The profile pool's mutex is a leaf,
// taken under a shard lock when bindings are packed or destroyed.
//
// Memory: the cache keeps each AOR as one AorRecord (the AOR's characters and
// its first binding in one allocation) and each binding as a 64-byte
// CompactBinding plus one text block; the heap and the connection index name
// records by pointer. Values (Binding) exist only on the way in and out:
// update() unpacks the AOR's set for the mutation and packs the result.
#include "registrar/location_service.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "registrar/aor_table.h"
#include "registrar/compact_binding.h"
#include "sip/lex.h"

namespace registrar {
namespace {

using Done = std::function<void(const UpdateResult&)>;

size_t aor_hash(std::string_view aor) { return std::hash<std::string_view>{}(aor); }

// connection_id → the AORs of one shard with a binding over it. Nearly every
// connection carries one AOR (a phone), so that case costs one small node; a
// connection carrying many (an edge proxy's) gets a set.
class ConnectionIndex {
 public:
  void add(uint64_t id, AorRecord* r) {
    if (auto m = many_.find(id); m != many_.end()) {
      m->second.insert(r);
      return;
    }
    auto [o, inserted] = one_.try_emplace(id, r);
    if (inserted || o->second == r) return;
    many_[id] = {o->second, r};
    one_.erase(o);
  }

  void remove(uint64_t id, AorRecord* r) {
    if (auto o = one_.find(id); o != one_.end()) {
      if (o->second == r) one_.erase(o);
      return;
    }
    auto m = many_.find(id);
    if (m == many_.end()) return;
    m->second.erase(r);
    if (m->second.size() == 1) {
      one_.emplace(id, *m->second.begin());
      many_.erase(m);
    } else if (m->second.empty()) {
      many_.erase(m);
    }
  }

  // References, so that the records outlive their removal from the table.
  std::vector<AorRecordRef> aors(uint64_t id) const {
    std::vector<AorRecordRef> out;
    if (auto o = one_.find(id); o != one_.end()) out.emplace_back(o->second);
    if (auto m = many_.find(id); m != many_.end()) {
      for (AorRecord* r : m->second) out.emplace_back(r);
    }
    return out;
  }

 private:
  std::unordered_map<uint64_t, AorRecord*> one_;
  std::unordered_map<uint64_t, std::unordered_set<AorRecord*>> many_;
};

struct Shard {
  std::mutex mu;
  AorTable aors;
  ConnectionIndex by_connection;
};

// One expiry time of one AOR (16 bytes). Stale when the record no longer has
// a binding that expires then (refreshed or removed, or the record is dead):
// skipped when met.
struct HeapEntry {
  WallTime at;
  AorRecordRef aor;
};
struct Later {
  bool operator()(const HeapEntry& a, const HeapEntry& b) const { return a.at > b.at; }
};

bool has_expiry(std::span<const CompactBinding> bindings, WallTime at) {
  return std::any_of(bindings.begin(), bindings.end(),
                     [at](const CompactBinding& b) { return b.expires_at() == at; });
}

// What an update's store callback needs once the commit is known.
struct PendingUpdate {
  std::vector<Binding> bindings;  // the AOR's set after the update
  std::vector<RegistrationEvent> events;  // for the observers (empty when there are none)
  Done done;
};

RegistrationEvent make_event(RegistrationEventType type, WallTime time, Binding binding,
                             std::string reason, Binding previous = {}) {
  RegistrationEvent e;
  e.time = time;
  e.type = type;
  e.binding = std::move(binding);
  e.previous = std::move(previous);
  e.reason = std::move(reason);
  return e;
}

// The store's events for a mutation's: kAdded → kRegistered, kRefreshed →
// kRefreshed, kReplaced → kReplaced (with the previous binding), kRemoved →
// kUnregistered (with its reason).
RegistrationEvent to_event(const UpdateEvents::Event& u, WallTime time) {
  switch (u.kind) {
    case UpdateEvents::Kind::kAdded:
      return make_event(RegistrationEventType::kRegistered, time, u.binding, {});
    case UpdateEvents::Kind::kRefreshed:
      return make_event(RegistrationEventType::kRefreshed, time, u.binding, {});
    case UpdateEvents::Kind::kReplaced:
      return make_event(RegistrationEventType::kReplaced, time, u.binding, {}, u.old_binding);
    case UpdateEvents::Kind::kRemoved:
      break;
  }
  return make_event(RegistrationEventType::kUnregistered, time, u.binding, u.reason);
}

// A page candidate of list(): an AOR and how many of its bindings qualify.
struct ListCandidate {
  AorRecordRef record;
  size_t count;
};
struct AorLess {
  bool operator()(const ListCandidate& a, const ListCandidate& b) const {
    return a.record->aor() < b.record->aor();
  }
};

}  // namespace

// A guarded write that met another replica's write of the AOR: re-read the
// AOR and run the mutation again (retry worker thread).
struct RetryJob {
  std::string aor;
  std::shared_ptr<const Mutation> mutate;
  Done done;
  int attempt = 0;
};

struct LocationService::Impl {
  Impl(BindingStore& s, const sip::Clock& c, LocationOptions o)
      : store(s),
        clock(c),
        options(std::move(o)),
        shared(s.shared()),
        shards(std::max<size_t>(options.shards, 1)) {}

  BindingStore& store;
  const sip::Clock& clock;
  LocationOptions options;
  const bool shared;  // several replicas write the store: guarded writes (see the header)
  ProfilePool profiles;  // before the shards and the heap: it outlives their records
  std::vector<Shard> shards;

  mutable std::mutex heap_mu;
  mutable std::vector<HeapEntry> heap;  // a min-heap by `at` (std::push_heap with Later)

  std::atomic<size_t> binding_total{0};
  std::atomic<size_t> aor_total{0};
  std::atomic<uint64_t> store_failures{0};
  std::atomic<uint64_t> rejected_full{0};

  std::atomic<uint64_t> conflicts{0};

  std::vector<RegistrationObserver*> observers;

  // The retry worker (shared stores only).
  std::mutex retry_mu;
  std::condition_variable retry_cv;
  std::deque<RetryJob> retries;
  bool retry_stopping = false;
  std::thread retry_thread;

  Shard& shard_for(size_t hash) { return shards[hash % shards.size()]; }

  // Whether this process holds the binding's flow: only then does its
  // connection id name one of our connections.
  bool own_flow(const Binding& b) const { return !shared || b.replica == options.replica; }

  // The AOR's bindings as values.
  static std::vector<Binding> unpack(const AorRecord& r) {
    std::vector<Binding> out;
    out.reserve(r.bindings().size());
    for (const CompactBinding& c : r.bindings()) out.push_back(c.unpack(r.aor()));
    return out;
  }

  // Makes `next` the set of `aor` (whose record is `rec`, or nullptr), keeping
  // the counts, the connection index and the expiry heap in step. `rec` may be
  // freed when `next` is empty.
  // REQUIRES: s.mu held; hash == aor_hash(aor).
  void install(Shard& s, std::string_view aor, size_t hash, AorRecord* rec,
               const std::vector<Binding>& next, uint64_t stamp = 0) {
    const std::span<const CompactBinding> old =
        rec == nullptr ? std::span<const CompactBinding>() : rec->bindings();

    if (next.size() >= old.size()) {
      binding_total.fetch_add(next.size() - old.size(), std::memory_order_relaxed);
    } else {
      binding_total.fetch_sub(old.size() - next.size(), std::memory_order_relaxed);
    }
    if (old.empty() && !next.empty()) aor_total.fetch_add(1, std::memory_order_relaxed);
    if (!old.empty() && next.empty()) aor_total.fetch_sub(1, std::memory_order_relaxed);

    // Connections the AOR leaves and joins (decided before `old` is replaced).
    // Only our own flows count: another replica's connection id may equal one
    // of ours (ids are per process).
    auto own_on = [this](const CompactBinding& o, uint64_t id) {
      return o.connection_id() == id && (!shared || o.replica() == options.replica);
    };
    std::vector<uint64_t> joined;
    for (const CompactBinding& b : old) {
      const uint64_t id = b.connection_id();
      if (id == 0 || !own_on(b, id) ||
          std::any_of(next.begin(), next.end(),
                      [&](const Binding& n) { return n.connection_id == id && own_flow(n); })) {
        continue;
      }
      s.by_connection.remove(id, rec);
    }
    for (const Binding& b : next) {
      const uint64_t id = b.connection_id;
      if (id != 0 && own_flow(b) &&
          std::none_of(old.begin(), old.end(),
                       [&](const CompactBinding& o) { return own_on(o, id); })) {
        joined.push_back(id);
      }
    }

    // Every expiry time of the set has a heap entry: the old set's times
    // already have theirs (an entry leaves the heap only once its time has
    // passed, when the bindings due then leave the cache too).
    std::vector<WallTime> fresh;
    for (const Binding& b : next) {
      if (!has_expiry(old, b.expires_at) &&
          std::find(fresh.begin(), fresh.end(), b.expires_at) == fresh.end()) {
        fresh.push_back(b.expires_at);
      }
    }

    if (next.empty()) {
      if (rec != nullptr) {
        rec->set_bindings({});
        s.aors.erase(rec);  // dead now; heap entries naming it are stale
      }
      return;
    }
    if (rec == nullptr) rec = s.aors.emplace(aor, hash);
    rec->set_stamp(stamp);
    std::vector<CompactBinding> packed;
    packed.reserve(next.size());
    for (const Binding& b : next) packed.push_back(CompactBinding::pack(b, aor, profiles));
    rec->set_bindings(std::move(packed));
    for (uint64_t id : joined) s.by_connection.add(id, rec);
    if (!fresh.empty()) {
      std::lock_guard lock(heap_mu);
      for (WallTime at : fresh) {
        heap.push_back(HeapEntry{at, AorRecordRef(rec)});
        std::push_heap(heap.begin(), heap.end(), Later{});
      }
    }
  }
  // Numbers `events` from the store's first sequence and tells every
  // observer, in order. Store callback (writer thread; no lock of ours).
  void publish(std::vector<RegistrationEvent>& events, uint64_t first_sequence) const {
    for (size_t i = 0; i < events.size(); ++i) {
      events[i].sequence = first_sequence + i;
      for (RegistrationObserver* o : observers) o->on_event(events[i]);
    }
  }

  // The events to hand to the store, keeping a copy for the observers in
  // `keep` when there are observers (the store consumes its own).
  std::vector<RegistrationEvent> for_store(std::vector<RegistrationEvent>& keep) const {
    if (!observers.empty()) return keep;  // a copy: the observers need theirs
    std::vector<RegistrationEvent> out = std::move(keep);
    keep.clear();
    return out;
  }

  // The store's verdict on an update (writer thread; no lock of ours).
  void finish(PendingUpdate& p, const StoreResult& r) {
    UpdateResult result;
    if (r.ok) {
      // Shared stores: whoever follows the store's log publishes (every
      // replica's events, in the log's order).
      if (!shared) publish(p.events, r.first_sequence);
      result.bindings = std::move(p.bindings);
    } else {
      if (!r.conflict) store_failures.fetch_add(1, std::memory_order_relaxed);
      // 503, not 500: a store that cannot write now (disk full, Redis away)
      // is a transient condition the device should retry after Retry-After.
      result.status = 503;
      result.reason = "Service Unavailable";
      result.detail = r.error;
    }
    if (p.done) p.done(result);
  }

  // The body of update(), under s.mu (see there). Returns the result when it
  // is known at once; otherwise `done` is called later.
  std::optional<UpdateResult> apply(Shard& s, const std::string& aor, size_t hash,
                                    const std::shared_ptr<const Mutation>& mutate, Done& done,
                                    int attempt);
  // The AOR of `rec` goes through update()'s path (under s.mu) with
  // `mutate`: its expired bindings are dropped and reported too, and on a
  // shared store the write is guarded like a REGISTER's (two replicas
  // expiring the same binding write its EXPIRED event once: the second
  // one's write conflicts, re-reads, and finds nothing left to do).
  void edit_locked(Shard& s, const AorRecord& rec, Mutation mutate) {
    const std::string aor(rec.aor());  // `rec` may die in install()
    Done none;
    (void)apply(s, aor, aor_hash(aor), std::make_shared<const Mutation>(std::move(mutate)), none,
                0);
  }
  // Runs on the retry worker.
  void retry(RetryJob job);
  void post_retry(RetryJob job) {
    {
      std::lock_guard lock(retry_mu);
      if (!retry_stopping) {
        retries.push_back(std::move(job));
        retry_cv.notify_one();
        return;
      }
    }
    give_up(job, "shutting down: not retried after a conflict");
  }
  // Answers a retry that will not run: 503, the device comes back later.
  void give_up(RetryJob& job, std::string detail) {
    store_failures.fetch_add(1, std::memory_order_relaxed);
    if (job.done) {
      job.done(UpdateResult{.status = 503,
                            .reason = "Service Unavailable",
                            .bindings = {},
                            .detail = std::move(detail)});
    }
  }
  void run_retries();
};

std::optional<UpdateResult> LocationService::Impl::apply(
    Shard& s, const std::string& aor, size_t hash, const std::shared_ptr<const Mutation>& mutate,
    Done& done, int attempt) {
  const WallTime now = clock.wall_now();
  AorRecord* rec = s.aors.find(aor, hash);
  const size_t old_size = rec == nullptr ? 0 : rec->bindings().size();
  std::vector<Binding> current, expired;
  if (rec != nullptr) {
    current.reserve(old_size);
    for (const CompactBinding& c : rec->bindings()) {
      (c.expires_at() <= now ? expired : current).push_back(c.unpack(aor));
    }
  }
  std::vector<Binding> edited = current;
  UpdateEvents events;
  MutationStatus verdict = (*mutate)(edited, events);
  if (verdict.status != 0) {
    return UpdateResult{.status = verdict.status,
                        .reason = std::move(verdict.reason),
                        .bindings = std::move(current),
                        .detail = {}};
  }
  if (expired.empty() && events.events().empty() && edited == current) {
    return UpdateResult{.status = 0, .reason = {}, .bindings = std::move(current), .detail = {}};
  }
  if (edited.size() > old_size &&
      binding_total.load(std::memory_order_relaxed) + (edited.size() - old_size) >
          options.max_bindings) {
    rejected_full.fetch_add(1, std::memory_order_relaxed);
    return UpdateResult{.status = 503,
                        .reason = "Service Unavailable",
                        .bindings = std::move(current),
                        .detail = "location service full (max_bindings " +
                                  std::to_string(options.max_bindings) + ")"};
  }
  auto pending = std::make_shared<PendingUpdate>();
  pending->bindings = edited;
  pending->events.reserve(expired.size() + events.events().size());
  for (Binding& b : expired) {
    pending->events.push_back(
        make_event(RegistrationEventType::kExpired, now, std::move(b), "expired"));
  }
  for (const UpdateEvents::Event& e : events.events()) pending->events.push_back(to_event(e, now));
  pending->done = std::move(done);
  if (!shared) {
    install(s, aor, hash, rec, edited);
    store.replace_aor(aor, std::move(edited), for_store(pending->events),
                      [this, pending](const StoreResult& r) { finish(*pending, r); });
    return std::nullopt;
  }
  // The cache shows the new set at once (the next REGISTER of the AOR builds
  // on it); the store writes it only if nobody changed the AOR since the set
  // this one was computed from.
  const AorGuard guard{.expect = rec == nullptr ? 0 : rec->stamp(), .stamp = store.new_stamp()};
  install(s, aor, hash, rec, edited, guard.stamp);
  store.replace_aor_guarded(
      aor, guard, std::move(edited), std::move(pending->events),
      [this, pending, aor, mutate, attempt](const StoreResult& r) {
        if (r.conflict) {
          conflicts.fetch_add(1, std::memory_order_relaxed);
          post_retry(RetryJob{aor, mutate, std::move(pending->done), attempt + 1});
          return;
        }
        finish(*pending, r);
      });
  return std::nullopt;
}

void LocationService::Impl::retry(RetryJob job) {
  auto fail = [&](std::string detail) { give_up(job, std::move(detail)); };
  if (job.attempt > static_cast<int>(options.max_conflict_retries)) {
    return fail("the AOR kept changing elsewhere (" + std::to_string(job.attempt) + " attempts)");
  }
  std::optional<StoredAor> stored = store.read_aor(job.aor);
  if (!stored) return fail("binding store: cannot read the AOR after a conflict");
  const size_t hash = aor_hash(job.aor);
  Shard& s = shard_for(hash);
  std::optional<UpdateResult> immediate;
  {
    std::lock_guard lock(s.mu);
    install(s, job.aor, hash, s.aors.find(job.aor, hash), stored->bindings, stored->stamp);
    immediate = apply(s, job.aor, hash, job.mutate, job.done, job.attempt);
  }
  if (immediate && job.done) job.done(*immediate);
}

void LocationService::Impl::run_retries() {
  std::unique_lock lock(retry_mu);
  for (;;) {
    retry_cv.wait(lock, [&] { return retry_stopping || !retries.empty(); });
    if (retry_stopping) {
      // No new writes once stopping: what is queued gets 503.
      std::deque<RetryJob> left = std::move(retries);
      retries.clear();
      lock.unlock();
      for (RetryJob& job : left) give_up(job, "shutting down: not retried after a conflict");
      return;
    }
    RetryJob job = std::move(retries.front());
    retries.pop_front();
    lock.unlock();
    retry(std::move(job));
    lock.lock();
  }
}

LocationService::LocationService(BindingStore& store, const sip::Clock& clock,
                                 LocationOptions options)
    : impl_(std::make_unique<Impl>(store, clock, std::move(options))) {
  if (impl_->shared) {
    Impl* m = impl_.get();
    impl_->retry_thread = std::thread([m] { m->run_retries(); });
  }
}

LocationService::~LocationService() { stop_retries(); }

void LocationService::stop_retries() {
  if (!impl_->retry_thread.joinable()) return;
  {
    std::lock_guard lock(impl_->retry_mu);
    impl_->retry_stopping = true;
  }
  impl_->retry_cv.notify_all();
  impl_->retry_thread.join();
}

size_t LocationService::load() {
  Impl& m = *impl_;
  const WallTime now = m.clock.wall_now();
  std::vector<StoredAor> sets = m.store.load_sets(now);
  m.store.purge_expired(now);  // what expired while we were down
  size_t loaded = 0;
  for (StoredAor& set : sets) {
    // Connection ids restart with the process: ours are stale. (Another
    // replica's stay as they are: they name its connections.)
    for (Binding& b : set.bindings) {
      if (m.own_flow(b)) b.connection_id = 0;
    }
    const size_t hash = aor_hash(set.aor);
    Shard& s = m.shard_for(hash);
    std::lock_guard lock(s.mu);
    for (const Binding& b : set.bindings) loaded += b.expires_at > now ? 1 : 0;
    m.install(s, set.aor, hash, s.aors.find(set.aor, hash), set.bindings, set.stamp);
  }
  return loaded;
}

void LocationService::update(const std::string& aor, Mutation mutate, Done done) {
  Impl& m = *impl_;
  const size_t hash = aor_hash(aor);
  Shard& s = m.shard_for(hash);
  auto owned = std::make_shared<const Mutation>(std::move(mutate));
  std::optional<UpdateResult> immediate;
  {
    std::lock_guard lock(s.mu);
    immediate = m.apply(s, aor, hash, owned, done, 0);
  }
  if (immediate && done) done(*immediate);
}

bool LocationService::apply_stored(const StoredAor& stored) {
  Impl& m = *impl_;
  const size_t hash = aor_hash(stored.aor);
  Shard& s = m.shard_for(hash);
  std::lock_guard lock(s.mu);
  AorRecord* rec = s.aors.find(stored.aor, hash);
  if (rec == nullptr ? stored.bindings.empty() : rec->stamp() == stored.stamp) return false;
  m.install(s, stored.aor, hash, rec, stored.bindings, stored.stamp);
  return true;
}

uint64_t LocationService::stamp_of(std::string_view aor) const {
  Impl& m = *impl_;
  const size_t hash = aor_hash(aor);
  Shard& s = m.shard_for(hash);
  std::lock_guard lock(s.mu);
  const AorRecord* rec = s.aors.find(aor, hash);
  return rec == nullptr ? 0 : rec->stamp();
}

void LocationService::publish(const RegistrationEvent& event) {
  for (RegistrationObserver* o : impl_->observers) o->on_event(event);
}

std::vector<Binding> LocationService::lookup(std::string_view aor) const {
  Impl& m = *impl_;
  const WallTime now = m.clock.wall_now();
  const size_t hash = aor_hash(aor);
  Shard& s = m.shard_for(hash);
  std::vector<Binding> out;
  std::lock_guard lock(s.mu);
  const AorRecord* rec = s.aors.find(aor, hash);
  if (rec == nullptr) return out;
  for (const CompactBinding& c : rec->bindings()) {
    if (c.expires_at() > now) out.push_back(c.unpack(rec->aor()));
  }
  return out;
}

size_t LocationService::expire_due() {
  Impl& m = *impl_;
  const WallTime now = m.clock.wall_now();
  std::vector<AorRecordRef> due;
  {
    std::lock_guard lock(m.heap_mu);
    while (!m.heap.empty() && m.heap.front().at <= now) {
      std::pop_heap(m.heap.begin(), m.heap.end(), Later{});
      due.push_back(std::move(m.heap.back().aor));
      m.heap.pop_back();
    }
  }
  std::sort(due.begin(), due.end(),
            [](const AorRecordRef& a, const AorRecordRef& b) { return a.get() < b.get(); });
  due.erase(std::unique(due.begin(), due.end()), due.end());
  size_t expired = 0;
  for (const AorRecordRef& rec : due) {
    Shard& s = m.shard_for(aor_hash(rec->aor()));
    std::lock_guard lock(s.mu);
    if (rec->empty()) continue;  // dead: the AOR lost its bindings (or has a new record)
    const auto n = static_cast<size_t>(
        std::count_if(rec->bindings().begin(), rec->bindings().end(),
                      [now](const CompactBinding& c) { return c.expires_at() <= now; }));
    if (n == 0) continue;
    expired += n;
    m.edit_locked(s, *rec, [](std::vector<Binding>&, UpdateEvents&) { return MutationStatus{}; });
  }
  return expired;
}

std::optional<WallTime> LocationService::next_expiry() const {
  Impl& m = *impl_;
  for (;;) {
    HeapEntry top;
    {
      std::lock_guard lock(m.heap_mu);
      if (m.heap.empty()) return std::nullopt;
      top = m.heap.front();
    }
    bool live = false;
    {
      Shard& s = m.shard_for(aor_hash(top.aor->aor()));
      std::lock_guard lock(s.mu);
      live = !top.aor->empty() && has_expiry(top.aor->bindings(), top.at);
    }
    if (live) return top.at;
    // Stale: drop it if it is still on top (another thread may have popped it).
    std::lock_guard lock(m.heap_mu);
    if (!m.heap.empty() && m.heap.front().at == top.at && m.heap.front().aor == top.aor) {
      std::pop_heap(m.heap.begin(), m.heap.end(), Later{});
      m.heap.pop_back();
    }
  }
}

// A mutation that removes the bindings `drop` selects, each reported as
// kUnregistered with `reason`. It owns what it uses: it may run again on
// another thread (a conflict on a shared store).
template <typename Drop>
Mutation drop_mutation(Drop drop, std::string reason) {
  return [drop = std::move(drop), reason = std::move(reason)](std::vector<Binding>& bindings,
                                                              UpdateEvents& events) {
    std::erase_if(bindings, [&](const Binding& b) {
      if (!drop(b)) return false;
      events.removed(b, reason);
      return true;
    });
    return MutationStatus{};
  };
}

size_t LocationService::remove_connection(uint64_t connection_id) {
  if (connection_id == 0) return 0;
  Impl& m = *impl_;
  const std::string replica = m.options.replica;
  const bool shared = m.shared;
  auto on_connection = [connection_id, replica, shared](const Binding& b) {
    return b.connection_id == connection_id && (!shared || b.replica == replica);
  };
  size_t removed = 0;
  for (Shard& s : m.shards) {
    std::lock_guard lock(s.mu);
    for (const AorRecordRef& rec : s.by_connection.aors(connection_id)) {
      if (rec->empty()) continue;
      for (const CompactBinding& c : rec->bindings()) {
        removed += on_connection(c.unpack(rec->aor())) ? 1 : 0;
      }
      m.edit_locked(s, *rec, drop_mutation(on_connection, "connection closed"));
    }
  }
  return removed;
}

bool LocationService::remove(std::string_view aor, std::string_view contact,
                             std::string_view reason) {
  Impl& m = *impl_;
  const WallTime now = m.clock.wall_now();
  const size_t hash = aor_hash(aor);
  Shard& s = m.shard_for(hash);
  std::lock_guard lock(s.mu);
  AorRecord* rec = s.aors.find(aor, hash);
  if (rec == nullptr) return false;
  bool found = false;
  for (const CompactBinding& c : rec->bindings()) {
    if (c.expires_at() > now && c.unpack(rec->aor()).contact == contact) found = true;
  }
  if (!found) return false;
  m.edit_locked(s, *rec,
                drop_mutation([contact = std::string(contact)](
                                  const Binding& b) { return b.contact == contact; },
                              std::string(reason)));
  return true;
}

size_t LocationService::remove_registered_by(std::string_view realm,
                                             std::optional<std::string_view> username,
                                             std::string_view reason) {
  Impl& m = *impl_;
  auto matches = [realm = std::string(realm),
                  username = username ? std::optional<std::string>(*username) : std::nullopt](
                     const Binding& b) {
    return sip::lex::iequals(b.realm, realm) && (!username || b.username == *username);
  };
  size_t removed = 0;
  for (Shard& s : m.shards) {
    std::lock_guard lock(s.mu);
    // The realm is in the cache's pooled profile: only records with a binding
    // of the realm are unpacked to compare usernames.
    std::vector<AorRecordRef> candidates;
    s.aors.for_each([&](AorRecord* r) {
      for (const CompactBinding& c : r->bindings()) {
        if (sip::lex::iequals(c.realm(), realm)) {
          candidates.emplace_back(r);
          return;
        }
      }
    });
    for (const AorRecordRef& rec : candidates) {
      if (rec->empty()) continue;
      size_t n = 0;
      for (const CompactBinding& c : rec->bindings()) n += matches(c.unpack(rec->aor())) ? 1 : 0;
      if (n == 0) continue;
      removed += n;
      m.edit_locked(s, *rec, drop_mutation(matches, std::string(reason)));
    }
  }
  return removed;
}

// One O(N log P) scan of every shard per page (P = max_bindings): list() is for
// admin listing, not a hot path. The scan keeps only references to the P + 1
// smallest qualifying AORs after `after_aor` (no copies of bindings); only the
// page's AORs are then unpacked, each under its shard lock. Not a snapshot: an
// AOR changed between the two steps shows as it is at the second.
LocationService::Page LocationService::list(std::string_view realm, std::string_view after_aor,
                                            size_t max_bindings) const {
  Impl& m = *impl_;
  const size_t want = std::max<size_t>(max_bindings, 1);
  const WallTime now = m.clock.wall_now();
  auto qualifies = [&](const CompactBinding& c) {
    return c.expires_at() > now && (realm.empty() || sip::lex::iequals(c.realm(), realm));
  };

  // 1. The smallest AORs after `after_aor`: a max-heap of at most want + 1
  //    (every AOR counts at least one binding, so want AORs always fill a page,
  //    and one more tells whether another page follows).
  std::vector<ListCandidate> heap;
  heap.reserve(std::min<size_t>(want + 1, 4096));
  for (Shard& s : m.shards) {
    std::lock_guard lock(s.mu);
    s.aors.for_each([&](AorRecord* r) {
      if (r->aor() <= after_aor) return;
      if (heap.size() > want && !(r->aor() < heap.front().record->aor())) return;
      size_t count = 0;
      for (const CompactBinding& c : r->bindings()) count += qualifies(c) ? 1 : 0;
      if (count == 0) return;
      heap.push_back(ListCandidate{AorRecordRef(r), count});
      std::push_heap(heap.begin(), heap.end(), AorLess{});
      if (heap.size() > want + 1) {
        std::pop_heap(heap.begin(), heap.end(), AorLess{});
        heap.pop_back();
      }
    });
  }
  std::sort_heap(heap.begin(), heap.end(), AorLess{});

  // 2. Whole AORs, in order, until the page holds max_bindings.
  size_t taken = 0, counted = 0;
  while (taken < heap.size() && counted < want) counted += heap[taken++].count;
  Page page;
  page.bindings.reserve(counted);
  for (size_t i = 0; i < taken; ++i) {
    const AorRecord& r = *heap[i].record;
    Shard& s = m.shard_for(aor_hash(r.aor()));
    std::lock_guard lock(s.mu);
    for (const CompactBinding& c : r.bindings()) {  // none if the record died meanwhile
      if (qualifies(c)) page.bindings.push_back(c.unpack(r.aor()));
    }
  }
  if (taken < heap.size()) page.next_aor = std::string(heap[taken - 1].record->aor());
  return page;
}

void LocationService::add_observer(RegistrationObserver* observer) {
  impl_->observers.push_back(observer);
}

void LocationService::notify_auth_failed(const RegistrationEvent& event) {
  for (RegistrationObserver* o : impl_->observers) o->on_event(event);
}

size_t LocationService::binding_count() const {
  return impl_->binding_total.load(std::memory_order_relaxed);
}

size_t LocationService::aor_count() const {
  return impl_->aor_total.load(std::memory_order_relaxed);
}

LocationStats LocationService::stats() const {
  return LocationStats{.store_failures = impl_->store_failures.load(std::memory_order_relaxed),
                       .rejected_full = impl_->rejected_full.load(std::memory_order_relaxed),
                       .conflicts = impl_->conflicts.load(std::memory_order_relaxed)};
}

}  // namespace registrar
