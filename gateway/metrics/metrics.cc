// gateway/metrics/metrics.cc — see metrics.h.
#include "gateway/metrics/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <variant>

namespace switchboard::metrics {

size_t thread_shard() {
  static std::atomic<size_t> next{0};
  thread_local size_t index = next.fetch_add(1, std::memory_order_relaxed) % kShards;
  return index;
}

uint64_t Counter::value() const {
  uint64_t total = 0;
  for (const Shard& s : shards_) total += s.value.load(std::memory_order_relaxed);
  return total;
}

std::vector<double> latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,     10};
}

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  for (Shard& s : shards_) {
    s.buckets = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
    for (size_t i = 0; i <= bounds_.size(); ++i) s.buckets[i].store(0, std::memory_order_relaxed);
  }
}

void Histogram::observe(double value) {
  if (std::isnan(value)) return;
  size_t i = size_t(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  Shard& s = shards_[thread_shard()];
  s.buckets[i].fetch_add(1, std::memory_order_relaxed);
  double nanos = std::clamp(value, 0.0, 1e9) * 1e9;
  s.sum_nanos.fetch_add(uint64_t(nanos), std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot out;
  std::vector<uint64_t> counts(bounds_.size() + 1, 0);
  uint64_t nanos = 0;
  for (const Shard& s : shards_) {
    for (size_t i = 0; i <= bounds_.size(); ++i)
      counts[i] += s.buckets[i].load(std::memory_order_relaxed);
    nanos += s.sum_nanos.load(std::memory_order_relaxed);
  }
  uint64_t running = 0;
  for (uint64_t c : counts) out.cumulative.push_back(running += c);
  out.sum = double(nanos) / 1e9;
  return out;
}

template <typename Child>
Child& Family<Child>::with(const Labels& values) {
  Labels key(label_names_.size());
  for (size_t i = 0; i < key.size() && i < values.size(); ++i) key[i] = values[i];
  std::lock_guard lock(mu_);
  auto it = children_.find(key);
  if (it == children_.end()) it = children_.emplace(std::move(key), make_()).first;
  return *it->second;
}

template <typename Child>
Child& Family<Child>::with(std::initializer_list<std::string_view> values) {
  Labels v;
  v.reserve(values.size());
  for (std::string_view s : values) v.emplace_back(s);
  return with(v);
}

template <typename Child>
void Family<Child>::for_each(const std::function<void(const Labels&, const Child&)>& fn) const {
  std::lock_guard lock(mu_);
  for (const auto& [labels, child] : children_) fn(labels, *child);
}

template class Family<Counter>;
template class Family<Histogram>;

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", value);
    return buf;
  }
  // The shortest text that reads back as the same double (a start time in
  // seconds since 1970 keeps its fractions; 0.1 stays "0.1").
  char buf[40];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  if (ec != std::errc()) return "NaN";
  return std::string(buf, end);
}

namespace {

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// {a="x",b="y"} plus an optional extra label (le="…"); "" when there are none.
std::string label_text(const std::vector<std::string>& names, const Labels& values,
                       std::string_view extra_name = {}, std::string_view extra_value = {}) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    out += out.empty() ? "{" : ",";
    out += names[i];
    out += "=\"";
    out += escape_label_value(i < values.size() ? values[i] : "");
    out += '"';
  }
  if (!extra_name.empty()) {
    out += out.empty() ? "{" : ",";
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  if (!out.empty()) out += '}';
  return out;
}

void header(std::string& out, const std::string& name, const std::string& help,
            std::string_view type) {
  out += "# HELP " + name + " ";
  for (char c : help) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  out += "\n# TYPE " + name + " ";
  out += type;
  out += '\n';
}

}  // namespace

struct Registry::Entry {
  std::string name;
  std::variant<std::unique_ptr<Family<Counter>>, std::unique_ptr<Family<Histogram>>> family;
  // gauges
  std::string help, type;
  std::vector<std::string> labels;
  GaugeFn fn;
};

Registry::Registry() = default;
Registry::~Registry() = default;

Family<Counter>& Registry::counter(std::string name, std::string help,
                                   std::vector<std::string> labels) {
  std::lock_guard lock(mu_);
  for (auto& e : entries_)
    if (e->name == name)
      if (auto* f = std::get_if<std::unique_ptr<Family<Counter>>>(&e->family); f && *f) return **f;
  if (!valid_name(name)) name = "invalid_metric_name";
  auto e = std::make_unique<Entry>();
  e->name = name;
  auto family = std::make_unique<Family<Counter>>(name, std::move(help), std::move(labels),
                                                  [] { return std::make_unique<Counter>(); });
  Family<Counter>& ref = *family;
  e->family = std::move(family);
  entries_.push_back(std::move(e));
  return ref;
}

Family<Histogram>& Registry::histogram(std::string name, std::string help,
                                       std::vector<std::string> labels,
                                       std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  for (auto& e : entries_)
    if (e->name == name)
      if (auto* f = std::get_if<std::unique_ptr<Family<Histogram>>>(&e->family); f && *f)
        return **f;
  if (!valid_name(name)) name = "invalid_metric_name";
  auto e = std::make_unique<Entry>();
  e->name = name;
  auto family = std::make_unique<Family<Histogram>>(
      name, std::move(help), std::move(labels),
      [bounds] { return std::make_unique<Histogram>(bounds); });
  Family<Histogram>& ref = *family;
  e->family = std::move(family);
  entries_.push_back(std::move(e));
  return ref;
}

void Registry::gauge(std::string name, std::string help, std::vector<std::string> labels,
                     GaugeFn fn, std::string type) {
  std::lock_guard lock(mu_);
  auto e = std::make_unique<Entry>();
  e->name = valid_name(name) ? std::move(name) : "invalid_metric_name";
  e->family = std::unique_ptr<Family<Counter>>();  // empty: a gauge
  e->help = std::move(help);
  e->type = type == "counter" ? "counter" : "gauge";
  e->labels = std::move(labels);
  e->fn = std::move(fn);
  entries_.push_back(std::move(e));
}

std::string Registry::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  out.reserve(4096);
  for (const auto& e : entries_) {
    if (e->fn) {
      GaugeWriter w;
      e->fn(w);
      header(out, e->name, e->help, e->type);
      for (const auto& [labels, value] : w.samples())
        out += e->name + label_text(e->labels, labels) + " " + format_value(value) + "\n";
      continue;
    }
    if (auto* f = std::get_if<std::unique_ptr<Family<Counter>>>(&e->family); f && *f) {
      const Family<Counter>& fam = **f;
      header(out, fam.name(), fam.help(), "counter");
      fam.for_each([&](const Labels& labels, const Counter& c) {
        out += fam.name() + label_text(fam.label_names(), labels) + " " +
               std::to_string(c.value()) + "\n";
      });
    } else if (auto* h = std::get_if<std::unique_ptr<Family<Histogram>>>(&e->family); h && *h) {
      const Family<Histogram>& fam = **h;
      header(out, fam.name(), fam.help(), "histogram");
      fam.for_each([&](const Labels& labels, const Histogram& hist) {
        Histogram::Snapshot s = hist.snapshot();
        for (size_t i = 0; i < hist.bounds().size(); ++i)
          out += fam.name() + "_bucket" +
                 label_text(fam.label_names(), labels, "le", format_value(hist.bounds()[i])) +
                 " " + std::to_string(s.cumulative[i]) + "\n";
        out += fam.name() + "_bucket" + label_text(fam.label_names(), labels, "le", "+Inf") +
               " " + std::to_string(s.cumulative.back()) + "\n";
        out += fam.name() + "_sum" + label_text(fam.label_names(), labels) + " " +
               format_value(s.sum) + "\n";
        out += fam.name() + "_count" + label_text(fam.label_names(), labels) + " " +
               std::to_string(s.cumulative.back()) + "\n";
      });
    }
  }
  return out;
}

}  // namespace switchboard::metrics
