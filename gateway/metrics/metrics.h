// gateway/metrics/metrics.h — Prometheus metrics that are cheap on the hot
// path: counters and histograms sharded per thread, gauges read at scrape time.
//
// Why sharded: a REGISTER passes through several counters; one shared atomic
// per counter would bounce its cache line between the worker threads on every
// message. Each thread instead adds to its own cache-line-sized shard (a
// relaxed fetch_add on a line no other thread writes), and a scrape sums the
// shards. No lock is taken after a labelled child has been looked up once.
//
//   metrics::Registry registry;
//   auto& requests = registry.counter("switchboard_sip_requests_total",
//                                     "SIP requests received.", {"method", "transport"});
//   metrics::Counter& reg_udp = requests.with({"REGISTER", "udp"});   // look up once, keep
//   reg_udp.inc();                                                    // hot path
//   auto& latency = registry.histogram("switchboard_register_duration_seconds",
//                                      "REGISTER handling time.", {}, metrics::latency_buckets());
//   latency.with({}).observe(0.0012);
//   registry.gauge("switchboard_calls_active", "Calls in progress.", {},
//                  [&](metrics::GaugeWriter& w) { w.set({}, double(engine.active_calls())); });
//   std::string text = registry.render();   // text exposition format 0.0.4
//
// Threading: everything is thread-safe. Families are created at start-up
// (creation takes the registry's lock); with() takes the family's lock only
// to find or create a child, so callers on hot paths keep the reference it
// returns (children live as long as the registry). Gauge callbacks run on
// the scraping thread and must be thread-safe.
#ifndef SWITCHBOARD_GATEWAY_METRICS_METRICS_H_
#define SWITCHBOARD_GATEWAY_METRICS_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::metrics {

// How many shards a counter has. Threads map onto them by a per-thread index
// (assigned on first use, round-robin), so up to kShards threads never share.
inline constexpr size_t kShards = 16;

// The calling thread's shard index (stable for the thread's life).
size_t thread_shard();

class Counter {
 public:
  void inc(uint64_t n = 1) {
    shards_[thread_shard()].value.fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t value() const;

 private:
  struct alignas(64) Shard {
    std::atomic<uint64_t> value{0};
  };
  std::array<Shard, kShards> shards_{};
};

// Upper bounds in seconds for request-handling times: 100 µs … 10 s.
std::vector<double> latency_buckets();

class Histogram {
 public:
  // `bounds` ascending, finite; +Inf is implicit.
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // per bound, then +Inf (= count)
    double sum = 0;
  };
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  struct alignas(64) Shard {
    std::unique_ptr<std::atomic<uint64_t>[]> buckets;  // bounds_.size() + 1
    std::atomic<uint64_t> sum_nanos{0};                // sum in 1e-9 units
  };
  std::vector<double> bounds_;
  std::array<Shard, kShards> shards_;
};

using Labels = std::vector<std::string>;

// A metric with a fixed list of label names and one child per label-value tuple.
template <typename Child>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::function<std::unique_ptr<Child>()> make)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)),
        make_(std::move(make)) {}

  // The child for these label values (created on first use). REQUIRES:
  // values.size() == label names' size (extra values are ignored, missing ones are "").
  Child& with(std::initializer_list<std::string_view> values);
  Child& with(const Labels& values);

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Calls fn(labels, child) for every child, sorted by labels.
  void for_each(const std::function<void(const Labels&, const Child&)>& fn) const;

 private:
  std::string name_, help_;
  std::vector<std::string> label_names_;
  std::function<std::unique_ptr<Child>()> make_;
  mutable std::mutex mu_;
  std::map<Labels, std::unique_ptr<Child>> children_;
};

// What a gauge callback writes: one sample per label-value tuple.
class GaugeWriter {
 public:
  void set(const Labels& labels, double value) { samples_.emplace_back(labels, value); }
  const std::vector<std::pair<Labels, double>>& samples() const { return samples_; }

 private:
  std::vector<std::pair<Labels, double>> samples_;
};

using GaugeFn = std::function<void(GaugeWriter&)>;

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Names and label names must be valid Prometheus names ([a-zA-Z_:][a-zA-Z0-9_:]*);
  // registering a name twice returns the first family (its help/labels win).
  Family<Counter>& counter(std::string name, std::string help, std::vector<std::string> labels);
  Family<Histogram>& histogram(std::string name, std::string help,
                               std::vector<std::string> labels, std::vector<double> bounds);
  // A gauge (or counter, with `type` "counter") whose samples come from `fn` at scrape time.
  void gauge(std::string name, std::string help, std::vector<std::string> labels, GaugeFn fn,
             std::string type = "gauge");

  // Prometheus text exposition format 0.0.4, families in registration order.
  std::string render() const;

 private:
  struct Entry;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_;
};

// Escapes a label value for the exposition format (\\, \", \n).
std::string escape_label_value(std::string_view value);
// Formats a sample value ("1", "0.25", "+Inf", "NaN").
std::string format_value(double value);

}  // namespace switchboard::metrics

#endif  // SWITCHBOARD_GATEWAY_METRICS_METRICS_H_
