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
#include <functional>
#include <mutex>
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

struct LocationService::Impl {
  Impl(BindingStore& s, const sip::Clock& c, LocationOptions o)
      : store(s), clock(c), options(o), shards(std::max<size_t>(o.shards, 1)) {}

  BindingStore& store;
  const sip::Clock& clock;
  LocationOptions options;
  ProfilePool profiles;  // before the shards and the heap: it outlives their records
  std::vector<Shard> shards;

  mutable std::mutex heap_mu;
  mutable std::vector<HeapEntry> heap;  // a min-heap by `at` (std::push_heap with Later)

  std::atomic<size_t> binding_total{0};
  std::atomic<size_t> aor_total{0};
  std::atomic<uint64_t> store_failures{0};
  std::atomic<uint64_t> rejected_full{0};

  std::vector<RegistrationObserver*> observers;

  Shard& shard_for(size_t hash) { return shards[hash % shards.size()]; }

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
               const std::vector<Binding>& next) {
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
    std::vector<uint64_t> joined;
    for (const CompactBinding& b : old) {
      const uint64_t id = b.connection_id();
      if (id == 0 || std::any_of(next.begin(), next.end(),
                                 [id](const Binding& n) { return n.connection_id == id; })) {
        continue;
      }
      s.by_connection.remove(id, rec);
    }
    for (const Binding& b : next) {
      const uint64_t id = b.connection_id;
      if (id != 0 && std::none_of(old.begin(), old.end(), [id](const CompactBinding& o) {
            return o.connection_id() == id;
          })) {
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
      publish(p.events, r.first_sequence);
      result.bindings = std::move(p.bindings);
    } else {
      store_failures.fetch_add(1, std::memory_order_relaxed);
      // 503, not 500: a store that cannot write now (disk full, Redis away)
      // is a transient condition the device should retry after Retry-After.
      result.status = 503;
      result.reason = "Service Unavailable";
      result.detail = r.error;
    }
    if (p.done) p.done(result);
  }

  // Removes from the live record `rec` (under s.mu) the bindings `drop`
  // selects, persists the rest with one `type` event (with `reason`) per
  // removed binding, and tells the observers once the store has committed.
  template <typename Drop>
  size_t drop_bindings(Shard& s, AorRecord& rec, Drop drop, RegistrationEventType type,
                       std::string_view reason) {
    std::vector<Binding> kept;
    std::vector<RegistrationEvent> events;
    const WallTime now = clock.wall_now();
    for (Binding& b : unpack(rec)) {
      if (drop(b)) {
        events.push_back(make_event(type, now, std::move(b), std::string(reason)));
      } else {
        kept.push_back(std::move(b));
      }
    }
    if (events.empty()) return 0;
    const size_t n = events.size();
    std::string aor(rec.aor());  // `rec` may be freed by install()
    install(s, aor, aor_hash(aor), &rec, kept);
    auto pending = std::make_shared<std::vector<RegistrationEvent>>(std::move(events));
    store.replace_aor(std::move(aor), std::move(kept), for_store(*pending),
                      [this, pending](const StoreResult& r) {
                        if (!r.ok) {
                          store_failures.fetch_add(1, std::memory_order_relaxed);
                          return;  // no sequence: the observers are not told
                        }
                        publish(*pending, r.first_sequence);
                      });
    return n;
  }
};

LocationService::LocationService(BindingStore& store, const sip::Clock& clock,
                                 LocationOptions options)
    : impl_(std::make_unique<Impl>(store, clock, options)) {}

LocationService::~LocationService() = default;

size_t LocationService::load() {
  Impl& m = *impl_;
  const WallTime now = m.clock.wall_now();
  std::vector<Binding> all = m.store.load_unexpired(now);
  m.store.purge_expired(now);  // what expired while we were down
  std::stable_sort(all.begin(), all.end(),
                   [](const Binding& a, const Binding& b) { return a.aor < b.aor; });
  size_t loaded = 0;
  for (size_t i = 0; i < all.size();) {
    const std::string aor = all[i].aor;
    size_t j = i;
    std::vector<Binding> set;
    for (; j < all.size() && all[j].aor == aor; ++j) {
      set.push_back(std::move(all[j]));
      set.back().connection_id = 0;
    }
    const size_t hash = aor_hash(aor);
    Shard& s = m.shard_for(hash);
    std::lock_guard lock(s.mu);
    loaded += set.size();
    m.install(s, aor, hash, s.aors.find(aor, hash), set);
    i = j;
  }
  return loaded;
}

void LocationService::update(const std::string& aor, const Mutation& mutate, Done done) {
  Impl& m = *impl_;
  const WallTime now = m.clock.wall_now();
  const size_t hash = aor_hash(aor);
  Shard& s = m.shard_for(hash);
  std::optional<UpdateResult> immediate;
  {
    std::lock_guard lock(s.mu);
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
    MutationStatus verdict = mutate(edited, events);
    if (verdict.status != 0) {
      immediate.emplace();
      immediate->status = verdict.status;
      immediate->reason = std::move(verdict.reason);
      immediate->bindings = std::move(current);
    } else if (expired.empty() && events.events().empty() && edited == current) {
      immediate.emplace();
      immediate->bindings = std::move(current);
    } else if (edited.size() > old_size &&
               m.binding_total.load(std::memory_order_relaxed) + (edited.size() - old_size) >
                   m.options.max_bindings) {
      m.rejected_full.fetch_add(1, std::memory_order_relaxed);
      immediate = UpdateResult{.status = 503,
                               .reason = "Service Unavailable",
                               .bindings = std::move(current),
                               .detail = "location service full (max_bindings " +
                                         std::to_string(m.options.max_bindings) + ")"};
    } else {
      auto pending = std::make_shared<PendingUpdate>();
      pending->bindings = edited;
      pending->events.reserve(expired.size() + events.events().size());
      for (Binding& b : expired) {
        pending->events.push_back(
            make_event(RegistrationEventType::kExpired, now, std::move(b), "expired"));
      }
      for (const UpdateEvents::Event& e : events.events()) {
        pending->events.push_back(to_event(e, now));
      }
      pending->done = std::move(done);
      m.install(s, aor, hash, rec, edited);
      m.store.replace_aor(aor, std::move(edited), m.for_store(pending->events),
                          [&m, pending](const StoreResult& r) { m.finish(*pending, r); });
    }
  }
  if (immediate && done) done(*immediate);
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
    expired += m.drop_bindings(
        s, *rec, [now](const Binding& b) { return b.expires_at <= now; },
        RegistrationEventType::kExpired, "expired");
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

size_t LocationService::remove_connection(uint64_t connection_id) {
  if (connection_id == 0) return 0;
  Impl& m = *impl_;
  size_t removed = 0;
  for (Shard& s : m.shards) {
    std::lock_guard lock(s.mu);
    for (const AorRecordRef& rec : s.by_connection.aors(connection_id)) {
      if (rec->empty()) continue;
      removed += m.drop_bindings(
          s, *rec, [connection_id](const Binding& b) { return b.connection_id == connection_id; },
          RegistrationEventType::kUnregistered, "connection closed");
    }
  }
  return removed;
}

bool LocationService::remove(std::string_view aor, std::string_view contact,
                             std::string_view reason) {
  bool found = false;
  update(
      std::string(aor),
      [&](std::vector<Binding>& bindings, UpdateEvents& events) -> MutationStatus {
        auto it = std::find_if(bindings.begin(), bindings.end(),
                               [&](const Binding& b) { return b.contact == contact; });
        if (it != bindings.end()) {
          found = true;
          events.removed(*it, std::string(reason));
          bindings.erase(it);
        }
        return {};
      },
      nullptr);
  return found;
}

size_t LocationService::remove_registered_by(std::string_view realm,
                                             std::optional<std::string_view> username,
                                             std::string_view reason) {
  Impl& m = *impl_;
  auto matches = [&](const Binding& b) {
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
      removed += m.drop_bindings(s, *rec, matches, RegistrationEventType::kUnregistered, reason);
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
                       .rejected_full = impl_->rejected_full.load(std::memory_order_relaxed)};
}

}  // namespace registrar
