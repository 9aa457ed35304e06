// registrar/store/redis/redis_event_tailer.cc — XREAD BLOCK over the event
// stream; remote changes read back into the cache, every event published.
#include "registrar/store/redis/redis_event_tailer.h"

#include <algorithm>
#include <unordered_set>
#include <vector>

namespace registrar {
namespace {

RedisConnectionOptions tail_connection(const RedisEventTailerOptions& o) {
  RedisConnectionOptions c;
  c.connect_timeout = o.connect_timeout;
  // A blocked XREAD answers after `block`: the socket may wait that long, plus
  // the usual second for a live Redis to answer.
  c.io_timeout = o.block + std::chrono::milliseconds(1000);
  return c;
}

}  // namespace

RedisEventTailer::RedisEventTailer(const RedisUrl& url, RedisBindingStore& store,
                                   LocationService& location, RedisEventTailerOptions options)
    : store_(store),
      location_(location),
      options_(std::move(options)),
      conn_(url, tail_connection(options_)),
      k_events_(options_.prefix + "events"),
      k_events_last_(options_.prefix + "events:last") {
  if (options_.batch == 0) options_.batch = 1;
}

RedisEventTailer::~RedisEventTailer() { stop(); }

void RedisEventTailer::start(uint64_t after) {
  last_.store(after, std::memory_order_relaxed);
  running_.store(true, std::memory_order_relaxed);
  thread_ = std::thread([this] { run(); });
}

void RedisEventTailer::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(wait_mu_);
    running_.store(false, std::memory_order_relaxed);
  }
  wait_cv_.notify_all();
  thread_.join();
}

RedisEventTailerStats RedisEventTailer::stats() const {
  auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  return RedisEventTailerStats{.events = get(stats_.events),
                               .fetched_aors = get(stats_.fetched_aors),
                               .installed = get(stats_.installed),
                               .resyncs = get(stats_.resyncs),
                               .failures = get(stats_.failures)};
}

void RedisEventTailer::warn(std::string_view message, std::string_view detail) const {
  if (options_.on_warning) options_.on_warning(message, detail);
}

void RedisEventTailer::run() {
  while (running_.load(std::memory_order_relaxed)) {
    if (step()) {
      healthy_.store(true, std::memory_order_relaxed);
      continue;
    }
    healthy_.store(false, std::memory_order_relaxed);
    stats_.failures.fetch_add(1, std::memory_order_relaxed);
    conn_.disconnect();
    // Redis away: try again shortly (stop() wakes us).
    std::unique_lock lock(wait_mu_);
    wait_cv_.wait_for(lock, std::chrono::milliseconds(250),
                      [&] { return !running_.load(std::memory_order_relaxed); });
  }
}

bool RedisEventTailer::cache_holds(std::string_view aor, uint64_t stamp) const {
  if (stamp == 0) return false;  // an entry from before stamps: read the AOR
  const uint64_t cached = location_.stamp_of(aor);
  if (cached == stamp) return true;
  const uint64_t me = store_.instance();
  return RedisBindingStore::stamp_instance(cached) == me &&
         RedisBindingStore::stamp_instance(stamp) == me &&
         RedisBindingStore::stamp_counter(cached) > RedisBindingStore::stamp_counter(stamp);
}

void RedisEventTailer::resync(std::string_view why) {
  stats_.resyncs.fetch_add(1, std::memory_order_relaxed);
  warn("event log gap: re-reading every binding set", why);
  size_t changed = 0;
  const WallTime now =
      options_.clock != nullptr ? options_.clock->wall_now() : std::chrono::system_clock::now();
  for (const StoredAor& set : store_.load_sets(now)) {
    changed += location_.apply_stored(set) ? 1 : 0;
  }
  stats_.installed.fetch_add(changed, std::memory_order_relaxed);
}

bool RedisEventTailer::step() {
  const uint64_t after = last_.load(std::memory_order_relaxed);
  RedisResult r = conn_.command({"XREAD", "COUNT", std::to_string(options_.batch), "BLOCK",
                                 std::to_string(options_.block.count()), "STREAMS", k_events_,
                                 std::to_string(after) + "-0"});
  if (!r.ok() || r.reply.is_error()) return false;
  if (r.reply.is_nil()) {
    // Nothing new for `block`. Did the log restart below us (Redis lost its
    // data)? Then we would wait forever for sequences that will not come.
    RedisResult last = conn_.command({"GET", k_events_last_});
    if (!last.ok() || last.reply.is_error()) return false;
    const uint64_t top = static_cast<uint64_t>(std::max<long long>(0, last.reply.as_integer().value_or(0)));
    if (top < after) {
      resync("the event log restarted at " + std::to_string(top) + ", below " +
             std::to_string(after));
      last_.store(top, std::memory_order_relaxed);
    }
    return true;
  }
  // [[stream name, [entry, …]]]
  if (!r.reply.is_array() || r.reply.elements.empty() || !r.reply.elements[0].is_array() ||
      r.reply.elements[0].elements.size() != 2) {
    return true;  // not a shape XREAD gives: nothing to do with it
  }
  const RedisReply& entries = r.reply.elements[0].elements[1];
  std::vector<RegistrationEvent> events;
  std::vector<uint64_t> stamps;
  events.reserve(entries.elements.size());
  stamps.reserve(entries.elements.size());
  for (const RedisReply& entry : entries.elements) {
    RegistrationEvent e;
    uint64_t stamp = 0;
    if (!parse_event_entry(entry, e, &stamp) || e.sequence <= after) continue;
    events.push_back(std::move(e));
    stamps.push_back(stamp);
  }
  if (events.empty()) return true;
  if (events.front().sequence != after + 1 && after != 0) {
    resync("events " + std::to_string(after + 1) + ".." +
           std::to_string(events.front().sequence - 1) + " were trimmed before this replica read them");
  }

  // 1. The cache: AORs another replica changed, read back as they are now.
  std::vector<std::string> fetch;
  std::unordered_set<std::string_view> seen;
  for (size_t i = 0; i < events.size(); ++i) {
    const std::string& aor = events[i].binding.aor;
    if (aor.empty() || seen.count(aor) != 0) continue;
    // The last event of the AOR in this batch names the newest stamp.
    uint64_t stamp = stamps[i];
    for (size_t j = i + 1; j < events.size(); ++j) {
      if (events[j].binding.aor == aor) stamp = stamps[j];
    }
    seen.insert(aor);
    if (!cache_holds(aor, stamp)) fetch.push_back(aor);
  }
  if (!fetch.empty()) {
    std::vector<StoredAor> sets = store_.read_aors(fetch);
    if (sets.size() != fetch.size()) return false;  // Redis went away: read the batch again
    stats_.fetched_aors.fetch_add(sets.size(), std::memory_order_relaxed);
    size_t changed = 0;
    for (const StoredAor& set : sets) changed += location_.apply_stored(set) ? 1 : 0;
    stats_.installed.fetch_add(changed, std::memory_order_relaxed);
  }

  // 2. The observers, in sequence order.
  for (const RegistrationEvent& e : events) location_.publish(e);
  stats_.events.fetch_add(events.size(), std::memory_order_relaxed);
  last_.store(events.back().sequence, std::memory_order_relaxed);
  return true;
}

}  // namespace registrar
