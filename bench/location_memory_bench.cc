// bench/location_memory_bench.cc — memory per binding of the location cache
// (LocationService in front of a store that acknowledges at once).
//
//   build/bin/bench_location_memory                 # 100,000 and 1,000,000 AORs
//   build/bin/bench_location_memory 50000 --tcp     # each binding over its own connection
//
// For each count N it inserts N one-binding AORs with field lengths typical of
// a UDP phone behind NAT (28-character AOR, 45-character contact, 32-character
// Call-ID, 28-character User-Agent) and prints, divided by N:
//   heap  — glibc's in-use bytes, mallinfo2() uordblks + hblkhd (mmapped
//           blocks: big hash-table and heap arrays), chunk headers included;
//   rss   — the growth of the resident set (adds free-list fragmentation).
// The inputs are built one at a time, so only the cache's own memory is live
// at the second reading. Counts run in order in one process; each service is
// destroyed (and malloc_trim'd) before the next.
#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "registrar/location_service.h"
#include "sip/clock.h"

namespace {

using registrar::Binding;

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

Binding typical_binding(int i, registrar::WallTime now, bool tcp) {
  Binding b;
  const std::string user = "user" + std::to_string(100000 + i % 900000);
  char call_id[40];
  std::snprintf(call_id, sizeof call_id, "%08x%08x%08x%08x", i * 2654435761u, i ^ 0x5bd1e995u,
                i * 40503u, i + 0x9e3779b9u);  // 32 hex digits, as phones make them
  b.aor = user + "@bench.example.com";
  b.realm = "bench.example.com";
  b.contact = "sip:" + user + "@192.0.2.44:5062;transport=" + (tcp ? "tcp" : "udp");
  b.username = user;
  b.transport = tcp ? "tcp" : "udp";
  b.source_ip = "192.0.2.44";
  b.source_port = static_cast<uint16_t>(1024 + i % 60000);
  b.local_address = tcp ? "tcp:127.0.0.1:5060" : "udp:127.0.0.1:5060";
  b.connection_id = tcp ? static_cast<uint64_t>(i) + 1 : 0;
  b.call_id = call_id;
  b.cseq = static_cast<uint32_t>(1 + i % 1000);
  b.expires_at = now + std::chrono::seconds(3600 + i % 600);
  b.user_agent = "Yealink SIP-T46U 108.86.0.20";
  b.first_registered = now - std::chrono::seconds(i % 86400);
  b.last_registered = now;
  return b;
}

size_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

size_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

void measure(int n, bool tcp) {
  sip::ManualClock clock;
  NullStore store;
  malloc_trim(0);
  const size_t heap_before = heap_in_use();
  const size_t rss_before = rss_bytes();
  const auto start = std::chrono::steady_clock::now();
  {
    registrar::LocationService location(store, clock);
    for (int i = 0; i < n; ++i) {
      const Binding b = typical_binding(i, clock.wall_now(), tcp);
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
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double heap = static_cast<double>(heap_in_use() - heap_before) / n;
    const double rss = static_cast<double>(rss_bytes() - rss_before) / n;
    if (location.binding_count() != static_cast<size_t>(n)) std::abort();
    std::printf("%9d bindings (%s): heap %6.1f B/binding, rss %6.1f B/binding, insert %.2f s\n", n,
                tcp ? "tcp" : "udp", heap, rss, seconds);
    std::fflush(stdout);
  }
  malloc_trim(0);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> counts;
  bool tcp = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--tcp") == 0) {
      tcp = true;
    } else if (const int n = std::atoi(argv[i]); n > 0) {
      counts.push_back(n);
    } else {
      std::fprintf(stderr, "usage: %s [count…] [--tcp]\n", argv[0]);
      return 2;
    }
  }
  if (counts.empty()) counts = {100'000, 1'000'000};
  std::printf("sizeof(Binding) = %zu\n", sizeof(Binding));
  for (int n : counts) measure(n, tcp);
  return 0;
}
