// Parser benchmark: a typical authenticated REGISTER (~600 bytes) and an
// INVITE with SDP, reported as ns per message and heap allocations per
// message (counted by replacing the global operator new in this binary).
//
//   make bench          # or: build/bin/bench_parser --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "sip/parser.h"
#include "sip/response.h"

namespace {
std::atomic<uint64_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace {

// What a Yealink or Linphone sends on its second REGISTER (after the 401).
constexpr char kRegister[] =
    "REGISTER sip:acme.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.44:5062;branch=z9hG4bK1701298312;rport\r\n"
    "From: \"Alice\" <sip:alice@acme.example.com>;tag=1496302861\r\n"
    "To: \"Alice\" <sip:alice@acme.example.com>\r\n"
    "Call-ID: 0_2941290913@192.0.2.44\r\n"
    "CSeq: 2 REGISTER\r\n"
    "Contact: <sip:alice@192.0.2.44:5062>;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\";reg-id=1\r\n"
    "Authorization: Digest username=\"alice\", realm=\"acme.example.com\", "
    "nonce=\"ZW5jb2RlZC1ub25jZS0xNzAxMjk4\", uri=\"sip:acme.example.com\", "
    "response=\"7d6b1e3c8f2a4b5d9e0f1a2b3c4d5e6f\", algorithm=MD5, cnonce=\"0a4f113b\", qop=auth, nc=00000001\r\n"
    "Max-Forwards: 70\r\n"
    "User-Agent: Yealink SIP-T46U 108.86.0.20\r\n"
    "Expires: 3600\r\n"
    "Content-Length: 0\r\n\r\n";

constexpr char kInvite[] =
    "INVITE sip:bob@acme.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.44:5062;branch=z9hG4bK776asdhds;rport\r\n"
    "Max-Forwards: 70\r\n"
    "To: Bob <sip:bob@acme.example.com>\r\n"
    "From: Alice <sip:alice@acme.example.com>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:alice@192.0.2.44:5062>\r\n"
    "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE\r\n"
    "Supported: replaces, timer\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 232\r\n\r\n"
    "v=0\r\n"
    "o=alice 2890844526 2890844526 IN IP4 192.0.2.44\r\n"
    "s=-\r\n"
    "c=IN IP4 192.0.2.44\r\n"
    "t=0 0\r\n"
    "m=audio 49170 RTP/AVP 0 8 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-16\r\n"
    "a=sendrecv\r\n"
    "a=ptime:20\r\n";

void run_parse(benchmark::State& state, std::string_view bytes) {
  uint64_t before = g_allocations.load();
  for (auto _ : state) {
    sip::ParseResult r = sip::parse_message(bytes);
    if (!r.ok()) state.SkipWithError(r.error().reason.c_str());
    benchmark::DoNotOptimize(r);
  }
  state.counters["allocs/msg"] =
      benchmark::Counter(double(g_allocations.load() - before) / double(state.iterations()));
  state.counters["bytes"] = double(bytes.size());
  state.SetBytesProcessed(int64_t(state.iterations() * bytes.size()));
}

void BM_ParseRegister(benchmark::State& state) { run_parse(state, kRegister); }
void BM_ParseInviteWithSdp(benchmark::State& state) { run_parse(state, kInvite); }

// Parse plus walking every Contact and the Authorization parameters, as the registrar does.
void BM_ParseRegisterAndReadContacts(benchmark::State& state) {
  uint64_t before = g_allocations.load();
  for (auto _ : state) {
    sip::ParseResult r = sip::parse_message(kRegister);
    size_t n = 0;
    r.message().for_each_contact([&](const sip::NameAddr& c) { n += c.uri.host.size(); });
    benchmark::DoNotOptimize(n);
  }
  state.counters["allocs/msg"] =
      benchmark::Counter(double(g_allocations.load() - before) / double(state.iterations()));
}

void BM_BuildResponse(benchmark::State& state) {
  sip::ParseResult r = sip::parse_message(kRegister);
  uint64_t before = g_allocations.load();
  for (auto _ : state) {
    std::string wire = sip::ResponseBuilder(r.message(), 200)
                           .to_tag("as7f6d")
                           .received_from("198.51.100.7", 40123)
                           .build();
    benchmark::DoNotOptimize(wire);
  }
  state.counters["allocs/msg"] =
      benchmark::Counter(double(g_allocations.load() - before) / double(state.iterations()));
}

BENCHMARK(BM_ParseRegister);
BENCHMARK(BM_ParseInviteWithSdp);
BENCHMARK(BM_ParseRegisterAndReadContacts);
BENCHMARK(BM_BuildResponse);

}  // namespace

BENCHMARK_MAIN();
