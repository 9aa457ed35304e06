// bench/metrics_bench.cc — what counting costs on the SIP hot path: a sharded
// counter increment, a histogram observation, and the dispatcher's two calls
// per message (count_request, count_response; the CSeq-method scan only
// for answers to unparsable requests).
// Threads > 1 show that shards keep threads off each other's cache lines.
//
//   build/bin/bench_metrics --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <atomic>
#include <string>

#include "gateway/metrics/metrics.h"
#include "gateway/sip_metrics.h"

namespace {

using switchboard::metrics::Counter;
using switchboard::metrics::Histogram;
using switchboard::metrics::Registry;

Counter& shared_counter() {
  static Counter c;
  return c;
}

void BM_CounterInc(benchmark::State& state) {
  Counter& c = shared_counter();
  for (auto _ : state) c.inc();
}
BENCHMARK(BM_CounterInc)->Threads(1)->Threads(2);

// The naive alternative: one atomic shared by every thread.
std::atomic<uint64_t> g_plain{0};
void BM_SharedAtomicInc(benchmark::State& state) {
  for (auto _ : state) g_plain.fetch_add(1, std::memory_order_relaxed);
}
BENCHMARK(BM_SharedAtomicInc)->Threads(1)->Threads(2);

void BM_HistogramObserve(benchmark::State& state) {
  static Histogram h(switchboard::metrics::latency_buckets());
  double v = 0.0003;
  for (auto _ : state) {
    h.observe(v);
    v = v < 1 ? v * 1.7 : 0.0003;
  }
}
BENCHMARK(BM_HistogramObserve)->Threads(1)->Threads(2);

Registry& registry() {
  static Registry r;
  return r;
}

void BM_SipCountRequest(benchmark::State& state) {
  static switchboard::SipMetrics m(registry());
  for (auto _ : state) m.count_request(sip::Method::kRegister, sip::transport::Protocol::kUdp);
}
BENCHMARK(BM_SipCountRequest)->Threads(1)->Threads(2);

// The common case: the dispatcher knows the request's method.
void BM_SipCountResponse(benchmark::State& state) {
  static switchboard::SipMetrics m(registry());
  for (auto _ : state) m.count_response(sip::Method::kRegister, 200);
}
BENCHMARK(BM_SipCountResponse)->Threads(1)->Threads(2);

// A stateless answer to an unparsable request: the method is read from the CSeq line.
void BM_SipCountResponseScanningCSeq(benchmark::State& state) {
  static switchboard::SipMetrics m(registry());
  const std::string response =
      "SIP/2.0 200 OK\r\n"
      "Via: SIP/2.0/UDP 192.0.2.4:5062;branch=z9hG4bK776asdhds;received=192.0.2.4;rport=5062\r\n"
      "From: <sip:alice@acme.test>;tag=1928301774\r\n"
      "To: <sip:alice@acme.test>;tag=a6c85cf\r\n"
      "Call-ID: a84b4c76e66710@pc33.acme.test\r\n"
      "CSeq: 314159 REGISTER\r\n"
      "Contact: <sip:alice@192.0.2.4:5062>;expires=3600\r\n"
      "Content-Length: 0\r\n\r\n";
  for (auto _ : state) {
    sip::Method method = sip::method_id(switchboard::SipMetrics::cseq_method(response));
    m.count_response(method, 200);
  }
}
BENCHMARK(BM_SipCountResponseScanningCSeq)->Threads(1)->Threads(2);

void BM_Render(benchmark::State& state) {
  Registry r;
  switchboard::SipMetrics m(r);
  for (int code : {100, 200, 401, 403, 404, 423, 500, 503})
    m.count_response(sip::Method::kRegister, code);
  for (auto _ : state) benchmark::DoNotOptimize(r.render());
}
BENCHMARK(BM_Render);

}  // namespace

BENCHMARK_MAIN();
