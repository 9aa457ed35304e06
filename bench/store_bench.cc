// bench/store_bench.cc — the binding store's group commit and the location
// cache's memory per binding.
//
//   build-store/bin/bench_store --benchmark_counters_tabular=true
//
// BM_GroupCommit/<sync>/<clients>/<events>: `clients` closed-loop clients,
// each with one replace_aor() outstanding at a time (a REGISTER waiting for
// its 200 OK), the next issued from the previous one's callback; with
// events=1 each write carries one REFRESHED event, as a re-REGISTER through
// the LocationService does (events=0: the binding alone, the cost before the
// event log). Reports writes/s, commits/s and the mean batch: with fsync per
// commit, throughput ≈ batch / commit time. The event log keeps 10,000
// events, so trimming runs during the measurement, as in steady state.
// The database lives in $TMPDIR (or /tmp): run it on the disk you deploy on.
//
// BM_CacheMemory: heap bytes per binding in LocationService (mallinfo2 delta),
// with field lengths typical of a UDP phone behind NAT.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <stdlib.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>

#include "registrar/location_service.h"
#include "registrar/store/sqlite_binding_store.h"
#include "sip/clock.h"

namespace {

using registrar::Binding;
using registrar::SqliteSync;

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/switchboard-bench-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Binding typical_binding(int i, std::chrono::system_clock::time_point now) {
  Binding b;
  const std::string user = "user" + std::to_string(100000 + i);
  b.aor = user + "@example.com";
  b.realm = "example.com";
  b.contact = "sip:" + user + "@203.0.113.45:50600;transport=udp";
  b.username = user;
  b.transport = "udp";
  b.source_ip = "203.0.113.45";
  b.source_port = static_cast<uint16_t>(50000 + i % 10000);
  b.local_address = "udp:10.0.0.1:5060";
  b.call_id = "3c26700b7c6a-" + std::to_string(i) + "@192.168.1.20";
  b.cseq = 42;
  b.expires_at = now + std::chrono::seconds(3600);
  b.user_agent = "Yealink SIP-T46S 66.86.0.15";
  b.first_registered = now;
  b.last_registered = now;
  return b;
}

void BM_GroupCommit(benchmark::State& state) {
  const auto sync = static_cast<SqliteSync>(state.range(0));
  const int clients = static_cast<int>(state.range(1));
  const bool with_events = state.range(2) != 0;
  constexpr int kWritesPerIteration = 20'000;
  TempDir dir;
  registrar::SqliteBindingStoreOptions options;
  options.database.synchronous = sync;
  // A full log in steady state: each trim (once a second, or after 2,500
  // events) deletes what was written since the last.
  options.events.max_events = 10'000;
  auto opened = registrar::SqliteBindingStore::open(registrar::database_path(dir.path()), options);
  if (!opened.ok()) {
    state.SkipWithError(opened.error.c_str());
    return;
  }
  registrar::SqliteBindingStore& store = *opened.store;
  const auto now = std::chrono::system_clock::now();
  std::vector<Binding> bindings;
  for (int i = 0; i < 10'000; ++i) bindings.push_back(typical_binding(i, now));

  std::mutex mu;
  std::condition_variable cv;
  std::atomic<int> issued{0}, completed{0};
  for (auto _ : state) {
    issued = 0;
    completed = 0;
    std::function<void(int)> issue = [&](int client) {
      const int n = issued.fetch_add(1);
      if (n >= kWritesPerIteration) return;
      const Binding& b = bindings[static_cast<size_t>((n * 7919 + client) % bindings.size())];
      std::vector<registrar::RegistrationEvent> events;
      if (with_events) {
        registrar::RegistrationEvent& e = events.emplace_back();
        e.time = b.last_registered;
        e.type = registrar::RegistrationEventType::kRefreshed;
        e.binding = b;
      }
      store.replace_aor(b.aor, {b}, std::move(events),
                        [&, client](const registrar::StoreResult& r) {
                          if (!r.ok) std::abort();
                          if (completed.fetch_add(1) + 1 == kWritesPerIteration) {
                            std::lock_guard lock(mu);
                            cv.notify_all();
                          }
                          issue(client);  // the client's next REGISTER
                        });
    };
    for (int c = 0; c < clients; ++c) issue(c);
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return completed.load() >= kWritesPerIteration; });
    lock.unlock();
    store.flush();  // every callback has returned: `issue` may go
  }
  store.flush();
  const auto stats = store.stats();
  state.SetItemsProcessed(static_cast<int64_t>(stats.writes));
  state.counters["commits/s"] =
      benchmark::Counter(static_cast<double>(stats.transactions), benchmark::Counter::kIsRate);
  state.counters["mean_batch"] = static_cast<double>(stats.writes) /
                                 static_cast<double>(std::max<uint64_t>(stats.transactions, 1));
  state.counters["largest_batch"] = static_cast<double>(stats.largest_batch);
  state.SetLabel(std::string(registrar::sqlite_sync_name(sync)) +
                 " clients=" + std::to_string(clients) + (with_events ? " +event" : ""));
}
BENCHMARK(BM_GroupCommit)
    ->ArgsProduct({{static_cast<int>(SqliteSync::kFull), static_cast<int>(SqliteSync::kNormal)},
                   {1, 16, 256, 1024},
                   {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);

// A store that acknowledges at once: measures the cache alone.
class NullStore final : public registrar::BindingStore {
 public:
  void replace_aor(std::string, std::vector<Binding>, std::vector<registrar::RegistrationEvent>,
                   std::function<void(const registrar::StoreResult&)> done) override {
    if (done) done({});
  }
  std::vector<registrar::RegistrationEvent> read_events(uint64_t, size_t) override { return {}; }
  registrar::EventLogState event_log_state() override { return {}; }
  std::vector<Binding> load_unexpired(registrar::WallTime) override { return {}; }
  size_t purge_expired(registrar::WallTime) override { return 0; }
  void flush() override {}
};

void BM_CacheMemory(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    sip::ManualClock clock;
    NullStore store;
    std::vector<Binding> bindings;
    bindings.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) bindings.push_back(typical_binding(i, clock.wall_now()));
    malloc_trim(0);
    const size_t before = mallinfo2().uordblks;
    state.ResumeTiming();
    {
      registrar::LocationService location(store, clock);
      for (const Binding& b : bindings) {
        location.update(
            b.aor,
            [&b](std::vector<Binding>& set,
                 registrar::UpdateEvents& events) -> registrar::MutationStatus {
              set.push_back(b);
              events.added(b);
              return {};
            },
            nullptr);
      }
      state.PauseTiming();
      const size_t after = mallinfo2().uordblks;
      state.counters["bytes/binding"] = static_cast<double>(after - before) / n;
      state.counters["sizeof(Binding)"] = sizeof(Binding);
    }
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_CacheMemory)->Arg(100'000)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
