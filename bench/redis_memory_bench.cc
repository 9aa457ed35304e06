// bench/redis_memory_bench.cc — Redis memory per binding, written through the
// store's own code path (RedisBindingStore::replace_aor_guarded, as the
// LocationService writes a new AOR on Redis: a fresh stamp, one REGISTERED
// event), so the values, TTLs, indexes and event log are exactly the server's.
//
//   bench_redis_memory --url redis://127.0.0.1:6390/0 [--aors 1000000]
//                      [--prefix sb:] [--replica switchboard-0] [--tcp]
//
// Prints one line of key=value: used_memory (and RSS) before and after, the
// event stream's own size (MEMORY USAGE … SAMPLES 0) and how many entries it
// keeps (the default retention, events.max_count 100,000), and bytes per
// binding with and without the stream. Each AOR has one binding of a UDP
// phone behind NAT (the field sizes of bench_store / bench_location_memory;
// --tcp: a TCP one with a connection id), at most 512 writes in flight (a
// write lost with a failed batch is written again). Point it at a Redis of its own:
// the deltas are the whole instance's.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "registrar/store/redis/redis_binding_store.h"
#include "registrar/store/redis/redis_connection.h"
#include "sip/clock.h"

namespace {

using registrar::Binding;

Binding typical_binding(int i, std::chrono::system_clock::time_point now, bool tcp,
                        const std::string& replica) {
  Binding b;
  const std::string user = "user" + std::to_string(100000 + i);
  b.aor = user + "@example.com";
  b.realm = "example.com";
  b.contact = "sip:" + user + "@203.0.113.45:" + std::to_string(50000 + i % 10000) +
              (tcp ? ";transport=tcp" : ";transport=udp");
  b.username = user;
  b.transport = tcp ? "tcp" : "udp";
  b.source_ip = "203.0.113.45";
  b.source_port = static_cast<uint16_t>(50000 + i % 10000);
  b.local_address = tcp ? "tcp:10.0.0.1:5060" : "udp:10.0.0.1:5060";
  if (tcp) b.connection_id = static_cast<uint64_t>(1000 + i);
  b.call_id = "3c26700b7c6a-" + std::to_string(i) + "@192.168.1.20";
  b.cseq = 42;
  b.expires_at = now + std::chrono::seconds(3600);
  b.user_agent = "Yealink SIP-T46S 66.86.0.15";
  b.first_registered = now;
  b.last_registered = now;
  b.replica = replica;
  return b;
}

long long info_field(registrar::RedisConnection& redis, std::string_view field) {
  registrar::RedisResult r = redis.command({"INFO", "memory"});
  if (!r.ok() || !r.reply.is_string()) {
    std::fprintf(stderr, "INFO memory failed: %s\n", r.error.c_str());
    std::exit(1);
  }
  const std::string& text = r.reply.str;
  const std::string key = std::string(field) + ":";
  size_t at = text.find("\r\n" + key);
  if (at == std::string::npos) return -1;
  return std::atoll(text.c_str() + at + 2 + key.size());
}

}  // namespace

int main(int argc, char** argv) {
  std::string url_text, prefix = "sb:", replica = "switchboard-0";
  int aors = 1'000'000;
  bool tcp = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", argv[i]);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--url") url_text = value();
    else if (a == "--aors") aors = std::atoi(value().c_str());
    else if (a == "--prefix") prefix = value();
    else if (a == "--replica") replica = value();
    else if (a == "--tcp") tcp = true;
    else {
      std::fprintf(stderr,
                   "usage: bench_redis_memory --url redis://HOST:PORT/DB [--aors N] "
                   "[--prefix P] [--replica ID] [--tcp]\n");
      return 2;
    }
  }
  auto url = registrar::parse_redis_url(url_text);
  if (!url.ok() || aors <= 0) {
    std::fprintf(stderr, "bad --url or --aors: %s\n", url.error.c_str());
    return 2;
  }
  registrar::RedisConnection info(*url.url, {});
  if (std::string err = info.connect(); !err.empty()) {
    std::fprintf(stderr, "%s\n", err.c_str());
    return 1;
  }

  sip::SystemClock clock;
  registrar::RedisBindingStoreOptions options;
  options.prefix = prefix;
  options.clock = &clock;  // events: the server's default retention (100,000)
  auto opened = registrar::RedisBindingStore::open(*url.url, options);
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.error.c_str());
    return 1;
  }
  registrar::RedisBindingStore& store = *opened.store;
  store.flush();
  const long long before = info_field(info, "used_memory");
  const long long rss_before = info_field(info, "used_memory_rss");

  const auto now = std::chrono::system_clock::now();
  // At most `window` writes in flight (REGISTERs waiting for their 200): the
  // pipelines stay well under the connection's 1 s I/O timeout also on a
  // busy machine. A failed write (a lost batch) is written again afterwards,
  // guarded by whatever Redis holds for the AOR by then.
  constexpr int kWindow = 512;
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
  std::vector<int> failed_writes;
  std::string first_error;
  long long failures = 0;
  auto write = [&](int i, uint64_t expect) {
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return in_flight < kWindow; });
      ++in_flight;
    }
    Binding b = typical_binding(i, now, tcp, replica);
    registrar::RegistrationEvent e;
    e.time = now;
    e.type = registrar::RegistrationEventType::kRegistered;
    e.binding = b;
    std::string aor = b.aor;
    const registrar::AorGuard guard{.expect = expect, .stamp = store.new_stamp()};
    store.replace_aor_guarded(std::move(aor), guard, {std::move(b)}, {std::move(e)},
                              [&, i](const registrar::StoreResult& r) {
                                std::lock_guard lock(mu);
                                --in_flight;
                                cv.notify_one();
                                if (r.ok) return;
                                if (failures++ == 0) first_error = r.error;
                                failed_writes.push_back(i);
                              });
  };
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < aors; ++i) write(i, 0);
  store.flush();
  for (int attempt = 0; attempt < 3 && !failed_writes.empty(); ++attempt) {
    std::vector<int> again;
    again.swap(failed_writes);
    for (int i : again) {
      auto stored = store.read_aor(typical_binding(i, now, tcp, replica).aor);
      write(i, stored ? stored->stamp : 0);
    }
    store.flush();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // Let the trim that follows the last batches run (at most once a second).
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  store.replace_aor_guarded("trim@example.com", {.expect = 0, .stamp = store.new_stamp()}, {}, {},
                            [](const registrar::StoreResult&) {});
  store.flush();
  const long long after = info_field(info, "used_memory");
  const long long rss_after = info_field(info, "used_memory_rss");
  registrar::RedisResult stream =
      info.command({"MEMORY", "USAGE", prefix + "events", "SAMPLES", "0"});
  registrar::RedisResult xlen = info.command({"XLEN", prefix + "events"});
  registrar::RedisResult dbsize = info.command({"DBSIZE"});
  registrar::RedisResult sample =
      info.command({"MEMORY", "USAGE", prefix + "aor:user100000@example.com", "SAMPLES", "0"});
  registrar::RedisResult value = info.command({"STRLEN", prefix + "aor:user100000@example.com"});
  registrar::RedisResult stored = info.command({"ZCARD", prefix + "aors"});
  const long long stored_aors = stored.ok() ? stored.reply.integer : -1;
  const long long stream_bytes = stream.ok() ? stream.reply.integer : -1;
  const auto stats = store.stats();
  const double delta = static_cast<double>(after - before);
  const double n = static_cast<double>(stored_aors > 0 ? stored_aors : aors);
  std::printf(
      "aors=%d stored_aors=%lld transport=%s written=%llu failed_then_rewritten=%lld "
      "still_failed=%zu write_s=%.1f writes_per_s=%.0f "
      "largest_batch=%llu used_memory_before=%lld used_memory_after=%lld "
      "used_memory_rss_before=%lld used_memory_rss_after=%lld events_stream_bytes=%lld "
      "events_retained=%lld dbsize=%lld aor_key_memory_usage=%lld aor_value_bytes=%lld "
      "bytes_per_binding_total=%.0f bytes_per_binding_without_stream=%.0f "
      "rss_bytes_per_binding=%.0f\n",
      aors, stored_aors, tcp ? "tcp" : "udp",
      static_cast<unsigned long long>(stats.writes_committed), failures, failed_writes.size(),
      seconds, aors / seconds, static_cast<unsigned long long>(stats.largest_batch),
      before, after, rss_before, rss_after, stream_bytes,
      xlen.ok() ? xlen.reply.integer : -1, dbsize.ok() ? dbsize.reply.integer : -1,
      sample.ok() ? sample.reply.integer : -1, value.ok() ? value.reply.integer : -1,
      delta / n, (delta - static_cast<double>(stream_bytes)) / n,
      static_cast<double>(rss_after - rss_before) / n);
  if (failures > 0)
    std::fprintf(stderr, "%lld writes failed and were written again; the first: %s\n", failures,
                 first_error.c_str());
  return failed_writes.empty() && stored_aors == aors ? 0 : 1;
}
