// registrar/store/redis/redis_event_tailer.h — follows the Redis event log
// (`{p}events`) so that one replica's cache and watchers see every replica's
// registrations (docs/scale-out.md).
//
//   RedisEventTailer tailer(url, store, location, {.prefix = "sb:"});
//   const uint64_t from = store.event_log_state().next_sequence - 1;   // before load()
//   location.load();
//   tailer.start(from);            // events after `from`, then live
//   … tailer.healthy()             // readiness: Redis answers the tail
//   tailer.stop();
//
// For every batch of entries (XREAD BLOCK on its own connection, in
// sequence order): the AORs whose new set the cache does not already hold
// are read back from Redis in one MGET and installed with
// LocationService::apply_stored(); then every event — this replica's own
// included — goes to LocationService::publish() (the EventHub, metrics):
// watchers on every replica see one order, the log's, with the same
// sequences. Reading the AOR's current value instead of replaying the event
// onto the cache makes the step idempotent and order-safe: the cache ends as
// Redis is, whatever raced.
//
// "Already holds": the cache's stamp for the AOR is the event's, or both are
// this process's and the cache's is the later one (a REGISTER of ours that
// came after it, already in the cache and on its way to Redis).
//
// Gaps: if the log was trimmed past our position (this replica was away
// longer than the retention) or restarted below it (Redis lost its data), the
// tailer re-reads every stored set (RedisBindingStore::load_sets), logs it,
// and goes on from the log's end. Watchers see the gap as the EventHub does.
//
// Threading: one thread of its own; start()/stop() from one thread.
#ifndef SWITCHBOARD_REGISTRAR_STORE_REDIS_REDIS_EVENT_TAILER_H_
#define SWITCHBOARD_REGISTRAR_STORE_REDIS_REDIS_EVENT_TAILER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "registrar/location_service.h"
#include "registrar/store/redis/redis_binding_store.h"
#include "registrar/store/redis/redis_connection.h"
#include "sip/clock.h"

namespace registrar {

struct RedisEventTailerOptions {
  std::string prefix = "sb:";
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds block{1000};  // XREAD BLOCK; the idle check runs this often
  size_t batch = 512;                     // entries per XREAD
  const sip::Clock* clock = nullptr;      // for a resync's "now"; nullptr: the system clock
  // Something a person should know (a gap, a resynchronisation). Tailer thread.
  std::function<void(std::string_view message, std::string_view detail)> on_warning;
};

struct RedisEventTailerStats {
  uint64_t events = 0;        // published
  uint64_t fetched_aors = 0;  // AORs read back because another replica changed them
  uint64_t installed = 0;     // of those, how many changed the cache
  uint64_t resyncs = 0;       // gaps that made the tailer re-read every set
  uint64_t failures = 0;      // XREADs that failed (Redis away)
};

class RedisEventTailer {
 public:
  // `store` and `location` must outlive the tailer (location over store).
  RedisEventTailer(const RedisUrl& url, RedisBindingStore& store, LocationService& location,
                   RedisEventTailerOptions options = {});
  ~RedisEventTailer();  // stop()
  RedisEventTailer(const RedisEventTailer&) = delete;
  RedisEventTailer& operator=(const RedisEventTailer&) = delete;

  // Follows the log from the event after `after`.
  void start(uint64_t after);
  // Returns within about `block` (the XREAD in progress).
  void stop();

  // False while the tail's reads fail (Redis unreachable); true once one answers.
  bool healthy() const { return healthy_.load(std::memory_order_relaxed); }
  // The sequence of the last event published.
  uint64_t last_sequence() const { return last_.load(std::memory_order_relaxed); }
  RedisEventTailerStats stats() const;

 private:
  void run();
  // One XREAD and what follows; false when Redis did not answer.
  bool step();
  void resync(std::string_view why);
  bool cache_holds(std::string_view aor, uint64_t stamp) const;
  void warn(std::string_view message, std::string_view detail) const;

  RedisBindingStore& store_;
  LocationService& location_;
  RedisEventTailerOptions options_;
  RedisConnection conn_;
  std::string k_events_, k_events_last_;

  std::atomic<uint64_t> last_{0};
  std::atomic<bool> healthy_{true};
  std::atomic<bool> running_{false};
  std::mutex wait_mu_;
  std::condition_variable wait_cv_;
  std::thread thread_;
  struct {
    std::atomic<uint64_t> events{0}, fetched_aors{0}, installed{0}, resyncs{0}, failures{0};
  } stats_;
};

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_STORE_REDIS_REDIS_EVENT_TAILER_H_
