// registrar/location_service.cc — the sharded binding cache, its expiry heap
// and connection index, written through to a BindingStore.
//
// Locks: a shard's mutex may be held while taking the heap mutex or calling
// the store (replace_aor must be issued under the shard lock so the store sees
// an AOR's sets in the order the cache took them); never the other way round.
// Store callbacks take no lock of ours, so a writer thread blocked on nothing
// can always drain the store's queue.
#include "registrar/location_service.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <queue>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace registrar {
namespace {

using Done = std::function<void(const UpdateResult&)>;

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

using AorMap = std::unordered_map<std::string, std::vector<Binding>, StringHash, std::equal_to<>>;

struct Shard {
  std::mutex mu;
  AorMap aors;
  // connection_id → the AORs of this shard with a binding over it.
  std::unordered_map<uint64_t, std::unordered_set<std::string>> by_connection;
};

// One expiry time of one AOR. Stale when the AOR no longer has a binding
// that expires then (refreshed or removed): skipped when met.
struct HeapEntry {
  WallTime at;
  std::string aor;
};
struct Later {
  bool operator()(const HeapEntry& a, const HeapEntry& b) const { return a.at > b.at; }
};

bool has_expiry(const std::vector<Binding>& bindings, WallTime at) {
  return std::any_of(bindings.begin(), bindings.end(),
                     [at](const Binding& b) { return b.expires_at == at; });
}

// What an update's store callback needs once the commit is known.
struct PendingUpdate {
  std::vector<Binding> bindings;  // the AOR's set after the update
  UpdateEvents events;
  std::vector<Binding> expired;  // dropped because their time had come
  Done done;
};

}  // namespace

struct LocationService::Impl {
  Impl(BindingStore& s, const sip::Clock& c, LocationOptions o)
      : store(s), clock(c), options(o), shards(std::max<size_t>(o.shards, 1)) {}

  BindingStore& store;
  const sip::Clock& clock;
  LocationOptions options;
  std::vector<Shard> shards;

  mutable std::mutex heap_mu;
  mutable std::priority_queue<HeapEntry, std::vector<HeapEntry>, Later> heap;

  std::atomic<size_t> binding_total{0};
  std::atomic<size_t> aor_total{0};
  std::atomic<uint64_t> store_failures{0};
  std::atomic<uint64_t> rejected_full{0};

  std::vector<RegistrationObserver*> observers;

  Shard& shard_for(std::string_view aor) {
    return shards[std::hash<std::string_view>{}(aor) % shards.size()];
  }

  // Makes `next` the set of `aor` (whose entry is `it`, or end()), keeping the
  // counts, the connection index and the expiry heap in step.
  // REQUIRES: s.mu held.
  void install(Shard& s, std::string_view aor, AorMap::iterator it, std::vector<Binding> next) {
    static const std::vector<Binding> kNone;
    const std::vector<Binding>& old = it == s.aors.end() ? kNone : it->second;

    if (next.size() >= old.size()) {
      binding_total.fetch_add(next.size() - old.size(), std::memory_order_relaxed);
    } else {
      binding_total.fetch_sub(old.size() - next.size(), std::memory_order_relaxed);
    }
    if (old.empty() && !next.empty()) aor_total.fetch_add(1, std::memory_order_relaxed);
    if (!old.empty() && next.empty()) aor_total.fetch_sub(1, std::memory_order_relaxed);

    auto on_connection = [](const std::vector<Binding>& set, uint64_t id) {
      return std::any_of(set.begin(), set.end(),
                         [id](const Binding& b) { return b.connection_id == id; });
    };
    for (const Binding& b : old) {
      if (b.connection_id == 0 || on_connection(next, b.connection_id)) continue;
      auto c = s.by_connection.find(b.connection_id);
      if (c == s.by_connection.end()) continue;
      c->second.erase(std::string(aor));
      if (c->second.empty()) s.by_connection.erase(c);
    }
    for (const Binding& b : next) {
      if (b.connection_id != 0 && !on_connection(old, b.connection_id)) {
        s.by_connection[b.connection_id].emplace(aor);
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
    if (!fresh.empty()) {
      std::lock_guard lock(heap_mu);
      for (WallTime at : fresh) heap.push(HeapEntry{at, std::string(aor)});
    }

    if (next.empty()) {
      if (it != s.aors.end()) s.aors.erase(it);
    } else if (it != s.aors.end()) {
      it->second = std::move(next);
    } else {
      s.aors.emplace(std::string(aor), std::move(next));
    }
  }

  void fire(const UpdateEvents& events) const {
    for (const UpdateEvents::Event& e : events.events()) {
      for (RegistrationObserver* o : observers) {
        switch (e.kind) {
          case UpdateEvents::Kind::kAdded:
            o->on_added(e.binding);
            break;
          case UpdateEvents::Kind::kRefreshed:
            o->on_refreshed(e.binding);
            break;
          case UpdateEvents::Kind::kReplaced:
            o->on_replaced(e.old_binding, e.binding);
            break;
          case UpdateEvents::Kind::kRemoved:
            o->on_removed(e.binding);
            break;
        }
      }
    }
  }

  void fire_expired(const std::vector<Binding>& expired) const {
    for (const Binding& b : expired) {
      for (RegistrationObserver* o : observers) o->on_expired(b);
    }
  }

  void fire_removed(const std::vector<Binding>& removed) const {
    for (const Binding& b : removed) {
      for (RegistrationObserver* o : observers) o->on_removed(b);
    }
  }

  // The store's verdict on an update (writer thread; no lock of ours).
  void finish(PendingUpdate& p, const StoreResult& r) {
    fire_expired(p.expired);  // they are gone from the cache either way
    UpdateResult result;
    if (r.ok) {
      fire(p.events);
      result.bindings = std::move(p.bindings);
    } else {
      store_failures.fetch_add(1, std::memory_order_relaxed);
      result.status = 500;
      result.reason = "Server Internal Error";
      result.detail = r.error;
    }
    if (p.done) p.done(result);
  }

  // Removes from `aor` (under s.mu) the bindings `drop` selects, persists the
  // rest, and hands the removed ones to `notify` after the store answers.
  template <typename Drop>
  size_t drop_bindings(Shard& s, std::string_view aor, Drop drop,
                       void (Impl::*notify)(const std::vector<Binding>&) const) {
    auto it = s.aors.find(aor);
    if (it == s.aors.end()) return 0;
    std::vector<Binding> kept, removed;
    for (const Binding& b : it->second) (drop(b) ? removed : kept).push_back(b);
    if (removed.empty()) return 0;
    const size_t n = removed.size();
    std::vector<Binding> for_store = kept;
    install(s, aor, it, std::move(kept));
    auto gone = std::make_shared<std::vector<Binding>>(std::move(removed));
    store.replace_aor(std::string(aor), std::move(for_store),
                      [this, gone, notify](const StoreResult& r) {
                        if (!r.ok) store_failures.fetch_add(1, std::memory_order_relaxed);
                        (this->*notify)(*gone);
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
    Shard& s = m.shard_for(aor);
    std::lock_guard lock(s.mu);
    loaded += set.size();
    m.install(s, aor, s.aors.find(aor), std::move(set));
    i = j;
  }
  return loaded;
}

void LocationService::update(const std::string& aor, const Mutation& mutate, Done done) {
  Impl& m = *impl_;
  const WallTime now = m.clock.wall_now();
  Shard& s = m.shard_for(aor);
  std::optional<UpdateResult> immediate;
  {
    std::lock_guard lock(s.mu);
    auto it = s.aors.find(aor);
    const size_t old_size = it == s.aors.end() ? 0 : it->second.size();
    std::vector<Binding> current, expired;
    if (it != s.aors.end()) {
      current.reserve(old_size);
      for (const Binding& b : it->second) (b.expires_at <= now ? expired : current).push_back(b);
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
      pending->events = std::move(events);
      pending->expired = std::move(expired);
      pending->done = std::move(done);
      std::vector<Binding> for_store = edited;
      m.install(s, aor, it, std::move(edited));
      m.store.replace_aor(aor, std::move(for_store),
                          [&m, pending](const StoreResult& r) { m.finish(*pending, r); });
    }
  }
  if (immediate && done) done(*immediate);
}

std::vector<Binding> LocationService::lookup(std::string_view aor) const {
  Impl& m = *impl_;
  const WallTime now = m.clock.wall_now();
  Shard& s = m.shard_for(aor);
  std::vector<Binding> out;
  std::lock_guard lock(s.mu);
  auto it = s.aors.find(aor);
  if (it == s.aors.end()) return out;
  for (const Binding& b : it->second) {
    if (b.expires_at > now) out.push_back(b);
  }
  return out;
}

size_t LocationService::expire_due() {
  Impl& m = *impl_;
  const WallTime now = m.clock.wall_now();
  std::vector<std::string> due;
  {
    std::lock_guard lock(m.heap_mu);
    while (!m.heap.empty() && m.heap.top().at <= now) {
      due.push_back(m.heap.top().aor);
      m.heap.pop();
    }
  }
  std::sort(due.begin(), due.end());
  due.erase(std::unique(due.begin(), due.end()), due.end());
  size_t expired = 0;
  for (const std::string& aor : due) {
    Shard& s = m.shard_for(aor);
    std::lock_guard lock(s.mu);
    expired += m.drop_bindings(
        s, aor, [now](const Binding& b) { return b.expires_at <= now; }, &Impl::fire_expired);
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
      top = m.heap.top();
    }
    bool live = false;
    {
      Shard& s = m.shard_for(top.aor);
      std::lock_guard lock(s.mu);
      auto it = s.aors.find(top.aor);
      live = it != s.aors.end() && has_expiry(it->second, top.at);
    }
    if (live) return top.at;
    // Stale: drop it if it is still on top (another thread may have popped it).
    std::lock_guard lock(m.heap_mu);
    if (!m.heap.empty() && m.heap.top().at == top.at && m.heap.top().aor == top.aor) m.heap.pop();
  }
}

size_t LocationService::remove_connection(uint64_t connection_id) {
  if (connection_id == 0) return 0;
  Impl& m = *impl_;
  size_t removed = 0;
  for (Shard& s : m.shards) {
    std::lock_guard lock(s.mu);
    auto c = s.by_connection.find(connection_id);
    if (c == s.by_connection.end()) continue;
    const std::vector<std::string> aors(c->second.begin(), c->second.end());
    for (const std::string& aor : aors) {
      removed += m.drop_bindings(
          s, aor, [connection_id](const Binding& b) { return b.connection_id == connection_id; },
          &Impl::fire_removed);
    }
  }
  return removed;
}

bool LocationService::remove(std::string_view aor, std::string_view contact) {
  bool found = false;
  update(
      std::string(aor),
      [&](std::vector<Binding>& bindings, UpdateEvents& events) -> MutationStatus {
        auto it = std::find_if(bindings.begin(), bindings.end(),
                               [&](const Binding& b) { return b.contact == contact; });
        if (it != bindings.end()) {
          found = true;
          events.removed(*it);
          bindings.erase(it);
        }
        return {};
      },
      nullptr);
  return found;
}

void LocationService::add_observer(RegistrationObserver* observer) {
  impl_->observers.push_back(observer);
}

void LocationService::notify_auth_failed(std::string_view realm, std::string_view username,
                                         std::string_view source_ip, std::string_view reason) {
  for (RegistrationObserver* o : impl_->observers)
    o->on_auth_failed(realm, username, source_ip, reason);
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
