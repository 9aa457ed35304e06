// registrar/store/redis/redis_binding_store.cc — group commit of AOR binding
// sets and their events into Redis (one pipeline of Lua scripts per batch)
// from one writer thread; reads on a second connection.
#include "registrar/store/redis/redis_binding_store.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>
#include <utility>

#include "registrar/store/binding_codec.h"
#include "registrar/store/redis/redis_codec.h"
#include "registrar/store/redis/redis_scripts.h"

namespace registrar {
namespace {

using Done = std::function<void(const StoreResult&)>;

StoreResult failure(std::string error) {
  return StoreResult{.ok = false, .error = std::move(error)};
}

struct PendingWrite {
  std::string aor;
  std::vector<Binding> bindings;
  std::vector<RegistrationEvent> events;
  Done done;
  std::optional<AorGuard> guard;  // nullopt: unguarded (stamp 0)
};

// Why a write breaks replace_aor()'s REQUIRES, or "" (as the SQLite store).
std::string invalid_write(const PendingWrite& w) {
  if (w.aor.empty()) return "replace_aor: empty AOR";
  for (size_t i = 0; i < w.bindings.size(); ++i) {
    if (w.bindings[i].aor != w.aor) {
      return "replace_aor('" + w.aor + "'): binding " + std::to_string(i) + " belongs to AOR '" +
             w.bindings[i].aor + "'";
    }
  }
  for (const RegistrationEvent& e : w.events) {
    if (e.type == RegistrationEventType::kAuthFailed)
      return "replace_aor('" + w.aor + "'): AUTH_FAILED events are not stored";
  }
  if (w.bindings.size() > 1) {
    std::unordered_set<std::string_view> contacts;
    for (const Binding& b : w.bindings) {
      if (!contacts.insert(b.contact).second)
        return "replace_aor('" + w.aor + "'): contact '" + b.contact + "' appears twice";
    }
  }
  return {};
}

// The sequence of a stream entry ID "N-0"; 0 when it is not one.
uint64_t id_sequence(std::string_view id) {
  uint64_t n = 0;
  size_t i = 0;
  for (; i < id.size() && id[i] >= '0' && id[i] <= '9'; ++i) {
    if (n > (std::numeric_limits<uint64_t>::max() - 9) / 10) return 0;
    n = n * 10 + static_cast<uint64_t>(id[i] - '0');
  }
  if (i == 0 || i >= id.size() || id[i] != '-') return 0;
  return n;
}

std::optional<int64_t> parse_i64(std::string_view s) {
  int64_t n = 0;
  if (s.empty()) return std::nullopt;
  size_t i = 0;
  bool neg = false;
  if (s[0] == '-') {
    neg = true;
    i = 1;
  }
  if (i >= s.size()) return std::nullopt;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9' || n > (std::numeric_limits<int64_t>::max() - 9) / 10)
      return std::nullopt;
    n = n * 10 + (s[i] - '0');
  }
  return neg ? -n : n;
}

}  // namespace

struct RedisBindingStore::Write : PendingWrite {};

struct RedisBindingStore::Impl {
  RedisBindingStoreOptions options;
  RedisUrl url;
  std::string k_aors, k_events, k_events_last, k_realm_names, aor_prefix, realm_prefix;

  // The writer's connection (writer thread only, after open).
  std::unique_ptr<RedisConnection> writer_conn;
  std::string replace_sha, trim_sha;
  size_t events_since_trim = 0;
  std::chrono::steady_clock::time_point last_trim{};

  // Reads, load and purge.
  std::mutex reader_mutex;
  std::unique_ptr<RedisConnection> reader;
  std::string purge_sha;

  std::mutex mu;
  std::condition_variable work_cv, space_cv, flushed_cv;
  std::deque<Write> queue;
  std::vector<Done> rejected;
  uint64_t accepted_issued = 0, accepted_completed = 0;
  uint64_t rejected_issued = 0, rejected_completed = 0;
  bool stopping = false;
  bool writer_idle = false;
  std::thread::id writer_id;
  std::thread writer;

  struct {
    std::atomic<uint64_t> writes{0}, writes_committed{0}, writes_failed{0}, writes_rejected{0},
        batches{0}, batches_failed{0}, largest_batch{0}, events_written{0}, events_trimmed{0},
        reconnects{0}, conflicts{0};
  } stats;
  std::atomic<bool> last_batch_ok{true};

  std::string aor_key(std::string_view aor) const { return aor_prefix + std::string(aor); }
  int64_t grace_ms() const {
    return std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(
                                    options.expiry_grace).count());
  }

  // This process's stamps: the instance number Redis gave it (24 bits) above
  // a counter (40 bits), so no two writes of any replica share one.
  uint64_t instance = 0;
  std::atomic<uint64_t> stamp_counter{0};

  // EVALSHA `sha`, or EVAL `script` when Redis does not know it (restarted, SCRIPT FLUSH).
  static RedisResult eval(RedisConnection& c, const std::string& sha, const char* script,
                          std::vector<std::string> args) {
    args.insert(args.begin(), sha);
    args.insert(args.begin(), "EVALSHA");
    RedisResult r = c.command(args);
    if (r.ok() && r.reply.is_error() && r.reply.str.rfind("NOSCRIPT", 0) == 0) {
      args[0] = "EVAL";
      args[1] = script;
      r = c.command(args);
    }
    return r;
  }

  static std::string load_script(RedisConnection& c, const char* script, std::string& sha) {
    RedisResult r = c.command({"SCRIPT", "LOAD", script});
    if (!r.ok()) return r.error;
    if (!r.reply.is_string()) return redis_error("SCRIPT LOAD", r.reply);
    sha = r.reply.str;
    return {};
  }

  std::vector<std::string> replace_args(const Write& w) const {
    std::vector<std::string> a;
    a.reserve(16 + 2 * w.events.size());
    a.push_back("5");
    a.push_back(aor_key(w.aor));
    a.push_back(k_aors);
    a.push_back(k_events);
    a.push_back(k_events_last);
    a.push_back(k_realm_names);
    a.push_back(w.aor);
    const uint64_t stamp = w.guard ? w.guard->stamp : 0;
    int64_t latest = 1;  // PXAT needs > 0
    if (w.bindings.empty()) {
      a.emplace_back();
      a.push_back("0");
    } else {
      a.push_back(encode_binding_set(w.aor, w.bindings, stamp));
      for (const Binding& b : w.bindings) latest = std::max(latest, to_epoch_ms(b.expires_at));
      a.push_back(std::to_string(latest));
    }
    a.push_back(realm_prefix);
    a.push_back(binding_set_realms(w.bindings));
    a.push_back(w.guard ? std::to_string(w.guard->expect) : std::string());
    a.push_back(std::to_string(stamp));
    a.push_back(std::to_string(latest + grace_ms()));
    a.push_back(std::to_string(w.events.size()));
    for (const RegistrationEvent& e : w.events) {
      a.push_back(std::to_string(to_epoch_ms(e.time)));
      a.push_back(encode_event(w.aor, e));
    }
    return a;
  }

  void maybe_trim() {
    const EventRetention& keep = options.events;
    if (keep.max_events == 0 && keep.max_age.count() <= 0) return;
    if (events_since_trim == 0) return;
    const auto now = std::chrono::steady_clock::now();
    const bool overdue = keep.max_events > 0 && events_since_trim > keep.max_events / 4;
    if (!overdue && now - last_trim < options.trim_interval) return;
    last_trim = now;
    events_since_trim = 0;
    std::string keep_from;
    if (keep.max_age.count() > 0) {
      const WallTime wall =
          options.clock != nullptr ? options.clock->wall_now() : std::chrono::system_clock::now();
      keep_from = std::to_string(to_epoch_ms(wall - keep.max_age));
    }
    const auto started = std::chrono::steady_clock::now();
    RedisResult r =
        eval(*writer_conn, trim_sha, redis_scripts::kTrimEvents,
             {"2", k_events, k_events_last, std::to_string(keep.max_events), keep_from});
    if (options.on_operation)
      options.on_operation("trim", std::chrono::steady_clock::now() - started);
    if (r.ok() && r.reply.is_integer()) {
      stats.events_trimmed.fetch_add(static_cast<uint64_t>(std::max(0LL, r.reply.integer)),
                                     std::memory_order_relaxed);
    }
  }

  void process(std::vector<Write>& batch) {
    std::vector<StoreResult> results(batch.size());
    std::vector<size_t> sent;  // indexes of the valid writes, in pipeline order
    std::vector<std::vector<std::string>> commands;
    sent.reserve(batch.size());
    commands.reserve(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      if (std::string why = invalid_write(batch[i]); !why.empty()) {
        results[i] = failure(std::move(why));
        continue;
      }
      std::vector<std::string> args = replace_args(batch[i]);
      args.insert(args.begin(), replace_sha);
      args.insert(args.begin(), "EVALSHA");
      commands.push_back(std::move(args));
      sent.push_back(i);
    }
    bool committed = false;
    if (!commands.empty()) {
      const auto started = std::chrono::steady_clock::now();
      RedisPipelineResult p = writer_conn->pipeline(commands);
      // Unknown script (Redis restarted or flushed): none of those ran; run them again with EVAL,
      // in order. A script Redis knows ran; only NOSCRIPT replies are resent.
      if (p.ok()) {
        std::vector<size_t> retry;
        for (size_t j = 0; j < p.replies.size(); ++j) {
          if (p.replies[j].is_error() && p.replies[j].str.rfind("NOSCRIPT", 0) == 0)
            retry.push_back(j);
        }
        if (!retry.empty()) {
          std::vector<std::vector<std::string>> again;
          again.reserve(retry.size());
          for (size_t j : retry) {
            std::vector<std::string> args = std::move(commands[j]);
            args[0] = "EVAL";
            args[1] = redis_scripts::kReplaceAor;
            again.push_back(std::move(args));
          }
          RedisPipelineResult q = writer_conn->pipeline(again);
          if (!q.ok()) {
            p.error = q.error;
          } else {
            for (size_t k = 0; k < retry.size(); ++k) p.replies[retry[k]] = std::move(q.replies[k]);
            // Later batches use EVALSHA again: EVAL cached the script.
          }
        }
      }
      if (options.on_operation)
        options.on_operation("commit", std::chrono::steady_clock::now() - started);
      const uint64_t connects = writer_conn->connects();
      stats.reconnects.store(connects > 1 ? connects - 1 : 0, std::memory_order_relaxed);
      if (!p.ok()) {
        stats.batches_failed.fetch_add(1, std::memory_order_relaxed);
        last_batch_ok.store(false, std::memory_order_relaxed);
        for (size_t i : sent) results[i] = failure("binding store: " + p.error);
      } else {
        committed = true;
        stats.batches.fetch_add(1, std::memory_order_relaxed);
        last_batch_ok.store(true, std::memory_order_relaxed);
        uint64_t events = 0;
        for (size_t j = 0; j < sent.size(); ++j) {
          const RedisReply& reply = p.replies[j];
          const size_t i = sent[j];
          if (reply.is_integer() && reply.integer >= 0) {
            results[i].first_sequence = static_cast<uint64_t>(reply.integer);
            events += batch[i].events.size();
          } else if (reply.is_error() && reply.str.rfind("CONFLICT", 0) == 0) {
            results[i] = failure("binding store: the AOR changed elsewhere (" + reply.str + ")");
            results[i].conflict = true;
            stats.conflicts.fetch_add(1, std::memory_order_relaxed);
          } else {
            results[i] = failure("binding store: " + redis_error("replace_aor script", reply));
          }
        }
        events_since_trim += events;
        stats.events_written.fetch_add(events, std::memory_order_relaxed);
        if (sent.size() > stats.largest_batch.load(std::memory_order_relaxed))
          stats.largest_batch.store(sent.size(), std::memory_order_relaxed);
      }
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      (results[i].ok ? stats.writes_committed : stats.writes_failed)
          .fetch_add(1, std::memory_order_relaxed);
      if (batch[i].done) batch[i].done(results[i]);
    }
    if (committed) maybe_trim();
  }

  void run_writer() {
    std::unique_lock lock(mu);
    writer_id = std::this_thread::get_id();
    std::vector<Write> batch;
    for (;;) {
      writer_idle = true;
      work_cv.wait(lock, [&] { return stopping || !queue.empty() || !rejected.empty(); });
      writer_idle = false;
      if (queue.empty() && rejected.empty()) break;
      std::vector<Done> refused = std::move(rejected);
      rejected.clear();
      const size_t n = std::min(queue.size(), options.max_batch);
      batch.clear();
      batch.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue.front()));
        queue.pop_front();
      }
      space_cv.notify_all();
      lock.unlock();
      for (Done& done : refused) {
        if (done) {
          done(failure("binding store queue full (" + std::to_string(options.max_queue) +
                       " writes pending)"));
        }
      }
      if (!batch.empty()) process(batch);
      batch.clear();
      lock.lock();
      accepted_completed += n;
      rejected_completed += refused.size();
      flushed_cv.notify_all();
    }
  }
};

RedisBindingStoreOpenResult RedisBindingStore::open(const RedisUrl& url,
                                                    const RedisBindingStoreOptions& options) {
  RedisBindingStoreOpenResult result;
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (impl->options.max_batch == 0) impl->options.max_batch = 1;
  if (impl->options.max_queue == 0) impl->options.max_queue = 1;
  impl->url = url;
  const std::string& p = impl->options.prefix;
  impl->k_aors = p + "aors";
  impl->k_events = p + "events";
  impl->k_events_last = p + "events:last";
  impl->k_realm_names = p + "realm-names";
  impl->aor_prefix = p + "aor:";
  impl->realm_prefix = p + "realm:";
  impl->writer_conn = std::make_unique<RedisConnection>(url, options.connection);
  impl->reader = std::make_unique<RedisConnection>(url, options.connection);
  for (RedisConnection* c : {impl->writer_conn.get(), impl->reader.get()}) {
    if (std::string e = c->connect(); !e.empty()) {
      result.error = std::move(e);
      return result;
    }
  }
  for (auto [script, sha] : {std::pair{redis_scripts::kReplaceAor, &impl->replace_sha},
                             std::pair{redis_scripts::kTrimEvents, &impl->trim_sha},
                             std::pair{redis_scripts::kPurgeExpired, &impl->purge_sha}}) {
    if (std::string e = Impl::load_script(*impl->writer_conn, script, *sha); !e.empty()) {
      result.error = std::move(e);
      return result;
    }
  }
  // A number for this process's stamps (see Impl::instance).
  for (int tries = 0; impl->instance == 0 && tries < 2; ++tries) {
    RedisResult r = impl->writer_conn->command({"INCR", p + "instances"});
    if (!r.ok()) {
      result.error = r.error;
      return result;
    }
    if (!r.reply.is_integer()) {
      result.error = redis_error("INCR " + p + "instances", r.reply);
      return result;
    }
    impl->instance = static_cast<uint64_t>(r.reply.integer) & 0xFFFFFF;
  }
  Impl* raw = impl.get();
  impl->writer = std::thread([raw] { raw->run_writer(); });
  result.store.reset(new RedisBindingStore(std::move(impl)));
  return result;
}

RedisBindingStore::RedisBindingStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RedisBindingStore::~RedisBindingStore() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->work_cv.notify_all();
  impl_->space_cv.notify_all();
  impl_->writer.join();
}

void RedisBindingStore::replace_aor(std::string aor, std::vector<Binding> bindings,
                                    std::vector<RegistrationEvent> events, Done done) {
  enqueue(Write{{std::move(aor), std::move(bindings), std::move(events), std::move(done), {}}});
}

void RedisBindingStore::replace_aor_guarded(std::string aor, AorGuard guard,
                                            std::vector<Binding> bindings,
                                            std::vector<RegistrationEvent> events, Done done) {
  enqueue(Write{{std::move(aor), std::move(bindings), std::move(events), std::move(done), guard}});
}

uint64_t RedisBindingStore::new_stamp() {
  const uint64_t n = impl_->stamp_counter.fetch_add(1, std::memory_order_relaxed) + 1;
  return (impl_->instance << kStampCounterBits) | (n & ((uint64_t{1} << kStampCounterBits) - 1));
}

uint64_t RedisBindingStore::stamp_instance(uint64_t stamp) { return stamp >> kStampCounterBits; }
uint64_t RedisBindingStore::stamp_counter(uint64_t stamp) {
  return stamp & ((uint64_t{1} << kStampCounterBits) - 1);
}
uint64_t RedisBindingStore::instance() const { return impl_->instance; }

void RedisBindingStore::enqueue(Write&& w) {
  Impl& m = *impl_;
  std::unique_lock lock(m.mu);
  const bool on_writer = std::this_thread::get_id() == m.writer_id;
  if (m.queue.size() >= m.options.max_queue && !on_writer) {
    if (m.options.when_full == RedisBindingStoreOptions::WhenFull::kFail) {
      m.rejected.push_back(std::move(w.done));
      ++m.rejected_issued;
      m.stats.writes_rejected.fetch_add(1, std::memory_order_relaxed);
      if (m.writer_idle) m.work_cv.notify_one();
      return;
    }
    m.space_cv.wait(lock, [&] { return m.queue.size() < m.options.max_queue || m.stopping; });
  }
  m.queue.push_back(std::move(w));
  ++m.accepted_issued;
  m.stats.writes.fetch_add(1, std::memory_order_relaxed);
  if (m.writer_idle) m.work_cv.notify_one();
}

std::optional<StoredAor> RedisBindingStore::read_aor(std::string_view aor) {
  Impl& m = *impl_;
  std::lock_guard lock(m.reader_mutex);
  RedisResult r = m.reader->command({"GET", m.aor_key(aor)});
  if (!r.ok() || !(r.reply.is_string() || r.reply.is_nil())) return std::nullopt;
  StoredAor out{.aor = std::string(aor), .stamp = 0, .bindings = {}};
  // A value that does not decode reads as nothing stored (stamp 0): the next
  // guarded write replaces it.
  if (r.reply.is_string() && !decode_binding_set(r.reply.str, aor, out.bindings, &out.stamp)) {
    out.bindings.clear();
    out.stamp = 0;
  }
  return out;
}

std::vector<StoredAor> RedisBindingStore::read_aors(const std::vector<std::string>& aors) {
  Impl& m = *impl_;
  std::vector<StoredAor> out;
  if (aors.empty()) return out;
  std::vector<std::string> mget{"MGET"};
  mget.reserve(aors.size() + 1);
  for (const std::string& a : aors) mget.push_back(m.aor_key(a));
  std::lock_guard lock(m.reader_mutex);
  RedisResult r = m.reader->command(mget);
  if (!r.ok() || !r.reply.is_array() || r.reply.elements.size() != aors.size()) return out;
  out.reserve(aors.size());
  for (size_t i = 0; i < aors.size(); ++i) {
    StoredAor a{.aor = aors[i], .stamp = 0, .bindings = {}};
    const RedisReply& v = r.reply.elements[i];
    if (v.is_string() && !decode_binding_set(v.str, a.aor, a.bindings, &a.stamp)) {
      a.bindings.clear();
      a.stamp = 0;
    }
    out.push_back(std::move(a));
  }
  return out;
}

std::vector<StoredAor> RedisBindingStore::load_sets(WallTime now) {
  Impl& m = *impl_;
  std::vector<StoredAor> out;
  std::vector<std::string> aors;
  {
    std::lock_guard lock(m.reader_mutex);
    RedisResult r = m.reader->command(
        {"ZRANGEBYSCORE", m.k_aors, "(" + std::to_string(to_epoch_ms(now)), "+inf"});
    if (!r.ok() || !r.reply.is_array()) return out;
    aors.reserve(r.reply.elements.size());
    for (RedisReply& e : r.reply.elements) {
      if (e.is_string()) aors.push_back(std::move(e.str));
    }
  }
  constexpr size_t kChunk = 512;
  for (size_t start = 0; start < aors.size(); start += kChunk) {
    std::vector<std::string> chunk(aors.begin() + static_cast<ptrdiff_t>(start),
                                   aors.begin() + static_cast<ptrdiff_t>(std::min(aors.size(), start + kChunk)));
    for (StoredAor& a : read_aors(chunk)) {
      if (!a.bindings.empty()) out.push_back(std::move(a));
    }
  }
  return out;
}

std::vector<RegistrationEvent> RedisBindingStore::read_events(uint64_t after, size_t limit) {
  Impl& m = *impl_;
  std::vector<RegistrationEvent> out;
  if (limit == 0 || after >= std::numeric_limits<uint64_t>::max() - 1) return out;
  std::lock_guard lock(m.reader_mutex);
  RedisResult r = m.reader->command({"XRANGE", m.k_events, std::to_string(after + 1) + "-0", "+",
                                     "COUNT", std::to_string(limit)});
  if (!r.ok() || !r.reply.is_array()) return out;
  out.reserve(r.reply.elements.size());
  for (const RedisReply& entry : r.reply.elements) {
    RegistrationEvent e;
    if (parse_event_entry(entry, e, nullptr)) out.push_back(std::move(e));
  }
  return out;
}

bool parse_event_entry(const RedisReply& entry, RegistrationEvent& e, uint64_t* stamp) {
  if (!entry.is_array() || entry.elements.size() != 2) return false;
  const uint64_t seq = id_sequence(entry.elements[0].str);
  if (seq == 0) return false;
  e = RegistrationEvent{};
  e.sequence = seq;
  std::string_view aor, blob;
  int64_t time = 0;
  uint64_t write_stamp = 0;
  const RedisReply& fields = entry.elements[1];
  for (size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
    const std::string& name = fields.elements[i].str;
    const std::string& value = fields.elements[i + 1].str;
    if (name == "t") time = parse_i64(value).value_or(0);
    if (name == "a") aor = value;
    if (name == "e") blob = value;
    if (name == "s") write_stamp = static_cast<uint64_t>(std::max<int64_t>(0, parse_i64(value).value_or(0)));
  }
  e.time = from_epoch_ms(time);
  if (!decode_event(blob, aor, time, e)) {
    const RegistrationEventType type = e.type;
    e.binding = Binding{};
    e.binding.aor = aor;
    e.previous = Binding{};
    e.type = type;
  }
  if (stamp != nullptr) *stamp = write_stamp;
  return true;
}

EventLogState RedisBindingStore::event_log_state() {
  Impl& m = *impl_;
  std::lock_guard lock(m.reader_mutex);
  // MULTI/EXEC: both values from one instant.
  RedisPipelineResult p = m.reader->pipeline({{"MULTI"},
                                              {"XRANGE", m.k_events, "-", "+", "COUNT", "1"},
                                              {"GET", m.k_events_last},
                                              {"EXEC"}});
  EventLogState state;
  if (!p.ok() || p.replies.size() != 4 || !p.replies[3].is_array() ||
      p.replies[3].elements.size() != 2) {
    return state;
  }
  const RedisReply& first = p.replies[3].elements[0];
  const RedisReply& last = p.replies[3].elements[1];
  const uint64_t last_seq =
      last.is_string()
          ? static_cast<uint64_t>(std::max<long long>(0, last.as_integer().value_or(0)))
          : 0;
  state.next_sequence = last_seq + 1;
  state.oldest_retained = state.next_sequence;
  if (first.is_array() && !first.elements.empty() && first.elements[0].is_array() &&
      !first.elements[0].elements.empty()) {
    const uint64_t seq = id_sequence(first.elements[0].elements[0].str);
    if (seq != 0 && seq < state.next_sequence) state.oldest_retained = seq;
  }
  return state;
}

std::vector<Binding> RedisBindingStore::load_unexpired(WallTime now) {
  std::vector<Binding> out;
  for (StoredAor& set : load_sets(now)) {
    for (Binding& b : set.bindings) {
      if (b.expires_at > now) out.push_back(std::move(b));
    }
  }
  return out;
}

size_t RedisBindingStore::purge_expired(WallTime now) {
  Impl& m = *impl_;
  constexpr size_t kPerCall = 1000;
  size_t purged = 0;
  std::lock_guard lock(m.reader_mutex);
  for (;;) {
    // Only what expired more than the grace ago: until then the replicas
    // report the expiries themselves (their EXPIRED events).
    RedisResult r = Impl::eval(*m.reader, m.purge_sha, redis_scripts::kPurgeExpired,
                               {"2", m.k_aors, m.k_realm_names,
                                std::to_string(to_epoch_ms(now) - m.grace_ms()),
                                m.aor_prefix, m.realm_prefix, std::to_string(kPerCall)});
    if (!r.ok() || !r.reply.is_integer() || r.reply.integer <= 0) break;
    purged += static_cast<size_t>(r.reply.integer);
    if (static_cast<size_t>(r.reply.integer) < kPerCall) break;
  }
  return purged;
}

void RedisBindingStore::flush() {
  Impl& m = *impl_;
  std::unique_lock lock(m.mu);
  const uint64_t accepted = m.accepted_issued, rejected = m.rejected_issued;
  m.flushed_cv.wait(
      lock, [&] { return m.accepted_completed >= accepted && m.rejected_completed >= rejected; });
}

bool RedisBindingStore::healthy() const {
  return impl_->last_batch_ok.load(std::memory_order_relaxed);
}

RedisBindingStoreStats RedisBindingStore::stats() const {
  const auto& s = impl_->stats;
  auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  return RedisBindingStoreStats{
      .writes = get(s.writes),
      .writes_committed = get(s.writes_committed),
      .writes_failed = get(s.writes_failed),
      .writes_rejected = get(s.writes_rejected),
      .batches = get(s.batches),
      .batches_failed = get(s.batches_failed),
      .largest_batch = get(s.largest_batch),
      .events_written = get(s.events_written),
      .events_trimmed = get(s.events_trimmed),
      .reconnects = get(s.reconnects),
      .conflicts = get(s.conflicts),
  };
}

}  // namespace registrar
