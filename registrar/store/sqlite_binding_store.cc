// registrar/store/sqlite_binding_store.cc — group commit of AOR binding sets
// and their events into SQLite from one writer thread; the event log read on
// a second connection.
#include "registrar/store/sqlite_binding_store.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "registrar/store/binding_codec.h"
#include "registrar/store/sqlite_schema.h"

namespace registrar {
namespace {

using Done = std::function<void(const StoreResult&)>;

int64_t to_ms(WallTime t) { return to_epoch_ms(t); }

WallTime from_ms(int64_t ms) { return from_epoch_ms(ms); }

StoreResult failure(std::string error) {
  return StoreResult{.ok = false, .error = std::move(error)};
}

// Binding::replica has no column: the embedded store serves one process, so
// every binding it holds is that process's and its replica is "" (a binding
// written with another value loads back with ""). The event log keeps it (its
// blobs are binding_codec.h's).
constexpr std::string_view kColumns =
    "aor, contact, realm, username, transport, source_ip, source_port, local_address, "
    "connection_id, path, instance_id, reg_id, call_id, cseq, expires_at, q, user_agent, "
    "first_registered, last_registered";

struct Write {
  std::string aor;
  std::vector<Binding> bindings;
  std::vector<RegistrationEvent> events;
  Done done;
};

// Why a write breaks replace_aor()'s REQUIRES, or "".
std::string invalid_write(const Write& w) {
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
    contacts.reserve(w.bindings.size());
    for (const Binding& b : w.bindings) {
      if (!contacts.insert(b.contact).second) {
        return "replace_aor('" + w.aor + "'): contact '" + b.contact + "' appears twice";
      }
    }
  }
  return {};
}

}  // namespace

struct SqliteBindingStore::Impl {
  SqliteBindingStoreOptions options;
  std::unique_ptr<SqliteDatabase> db;

  // The connection and its statements: the writer's transactions, load, purge,
  // and trimming of the event log.
  std::mutex db_mutex;
  SqliteStatement begin, commit, rollback, delete_aor, insert, select_unexpired, delete_expired,
      insert_event, first_young_event, delete_old_events;
  std::string blob;  // insert_event's scratch buffer

  // The event log as the writer knows it (writer thread, or under db_mutex
  // before the writer starts).
  uint64_t last_sequence = 0;  // the highest ever given (sqlite_sequence)
  uint64_t trimmed_below = 0;  // no event < this is left
  size_t events_since_trim = 0;
  std::chrono::steady_clock::time_point last_trim{};

  // The read connection: read_events() and event_log_state().
  std::unique_ptr<SqliteDatabase> reader;
  std::mutex reader_mutex;
  SqliteStatement read_events, log_state;

  // The queue between producers and the writer.
  std::mutex mu;
  std::condition_variable work_cv;     // the writer waits for work
  std::condition_variable space_cv;    // producers wait for room (kBlock)
  std::condition_variable flushed_cv;  // flush() waits for completions
  std::deque<Write> queue;
  std::vector<Done> rejected;  // kFail: to be told on the writer thread
  uint64_t accepted_issued = 0, accepted_completed = 0;
  uint64_t rejected_issued = 0, rejected_completed = 0;
  bool stopping = false;
  bool writer_idle = false;       // waiting for any work
  bool writer_gathering = false;  // waiting up to max_batch_delay for a full batch
  std::thread::id writer_id;
  std::thread writer;

  struct {
    std::atomic<uint64_t> writes{0}, writes_committed{0}, writes_failed{0}, writes_rejected{0},
        writes_coalesced{0}, transactions{0}, transactions_failed{0}, rows_inserted{0},
        largest_batch{0}, events_written{0}, events_trimmed{0};
  } stats;
  std::atomic<bool> last_commit_ok{true};  // for readiness

  StoreResult prepare_all() {
    const std::string insert_sql =
        "INSERT INTO bindings (" + std::string(kColumns) +
        ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,"
        "?17,?18,?19)";
    const std::string select_sql =
        "SELECT " + std::string(kColumns) + " FROM bindings WHERE expires_at > ?1 ORDER BY aor";
    for (auto [sql, stmt] :
         {std::pair<std::string_view, SqliteStatement*>{"BEGIN IMMEDIATE", &begin},
          {"COMMIT", &commit},
          {"ROLLBACK", &rollback},
          {"DELETE FROM bindings WHERE aor = ?1", &delete_aor},
          {insert_sql, &insert},
          {select_sql, &select_unexpired},
          {"DELETE FROM bindings WHERE expires_at <= ?1", &delete_expired},
          {"INSERT INTO events (time, type, aor, reason, binding, previous) "
           "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
           &insert_event},
          // Scans from the oldest event to the first young one: the rows it
          // passes are the ones the trim deletes.
          {"SELECT sequence FROM events WHERE time >= ?1 ORDER BY sequence LIMIT 1",
           &first_young_event},
          {"DELETE FROM events WHERE sequence < ?1", &delete_old_events}}) {
      if (StoreResult r = db->prepare(sql, *stmt); !r.ok) return r;
    }
    for (auto [sql, stmt] : {std::pair<std::string_view, SqliteStatement*>{
                                 "SELECT sequence, time, type, aor, reason, binding, previous "
                                 "FROM events WHERE sequence > ?1 ORDER BY sequence LIMIT ?2",
                                 &read_events},
                             // One statement: both values from one snapshot.
                             {"SELECT (SELECT min(sequence) FROM events), (SELECT seq FROM "
                              "sqlite_sequence WHERE name = 'events')",
                              &log_state}}) {
      if (StoreResult r = reader->prepare(sql, *stmt); !r.ok) return r;
    }
    SqliteStatement last;
    if (StoreResult r =
            db->prepare("SELECT seq, (SELECT min(sequence) FROM events) FROM sqlite_sequence "
                        "WHERE name = 'events'",
                        last);
        !r.ok) {
      return r;
    }
    if (const int rc = last.step(); rc == SQLITE_ROW) {
      last_sequence = static_cast<uint64_t>(last.column_int64(0));
      trimmed_below =
          last.column_is_null(1) ? last_sequence + 1 : static_cast<uint64_t>(last.column_int64(1));
    } else if (rc != SQLITE_DONE) {
      return failure(db->error("read sqlite_sequence", rc));
    }
    return {};
  }

  void bind_event(const std::string& aor, const RegistrationEvent& e) {
    SqliteStatement& s = insert_event;
    const int64_t time = to_ms(e.time);
    s.bind(1, time);
    s.bind(2, int64_t{static_cast<uint8_t>(e.type)});
    s.bind(3, aor);
    s.bind(4, e.reason);
    blob.clear();
    encode_binding(e.binding, aor, time, blob);
    s.bind_blob(5, blob);
    if (e.type == RegistrationEventType::kReplaced) {
      blob.clear();
      encode_binding(e.previous, aor, time, blob);
      s.bind_blob(6, blob);
    } else {
      s.bind_null(6);
    }
  }

  // The event the read_events statement is on.
  static RegistrationEvent read_event(const SqliteStatement& s) {
    RegistrationEvent e;
    e.sequence = static_cast<uint64_t>(s.column_int64(0));
    const int64_t time = s.column_int64(1);
    e.time = from_ms(time);
    e.type = static_cast<RegistrationEventType>(s.column_int64(2));
    const std::string_view aor = s.column_text(3);
    e.reason = s.column_text(4);
    if (!decode_binding(s.column_blob(5), aor, time, e.binding)) {
      e.binding = Binding{};
      e.binding.aor = aor;
    }
    if (!s.column_is_null(6) && !decode_binding(s.column_blob(6), aor, time, e.previous)) {
      e.previous = Binding{};
    }
    return e;
  }

  // Runs a statement that returns no rows; "" or the error.
  std::string run(SqliteStatement& s, std::string_view what) { return db->run(s, what); }

  void bind_binding(const Binding& b) {
    SqliteStatement& s = insert;
    s.bind(1, b.aor);
    s.bind(2, b.contact);
    s.bind(3, b.realm);
    s.bind(4, b.username);
    s.bind(5, b.transport);
    s.bind(6, b.source_ip);
    s.bind(7, int64_t{b.source_port});
    s.bind(8, b.local_address);
    s.bind(9, static_cast<int64_t>(b.connection_id));
    s.bind(10, b.path);
    s.bind(11, b.instance_id);
    s.bind(12, int64_t{b.reg_id});
    s.bind(13, b.call_id);
    s.bind(14, int64_t{b.cseq});
    s.bind(15, to_ms(b.expires_at));
    s.bind(16, int64_t{b.q});
    s.bind(17, b.user_agent);
    s.bind(18, to_ms(b.first_registered));
    s.bind(19, to_ms(b.last_registered));
  }

  // Reads the row select_unexpired is on; false when a value is out of range.
  static bool read_binding(const SqliteStatement& s, Binding& b) {
    const int64_t port = s.column_int64(6), reg_id = s.column_int64(11), cseq = s.column_int64(13),
                  q = s.column_int64(15);
    constexpr int64_t kMaxU32 = std::numeric_limits<uint32_t>::max();
    if (port < 0 || port > 65535 || reg_id < 0 || reg_id > kMaxU32 || cseq < 0 || cseq > kMaxU32 ||
        q < -1 || q > 1000) {
      return false;
    }
    b.aor = s.column_text(0);
    b.contact = s.column_text(1);
    b.realm = s.column_text(2);
    b.username = s.column_text(3);
    b.transport = s.column_text(4);
    b.source_ip = s.column_text(5);
    b.source_port = static_cast<uint16_t>(port);
    b.local_address = s.column_text(7);
    b.connection_id = static_cast<uint64_t>(s.column_int64(8));
    b.path = s.column_text(9);
    b.instance_id = s.column_text(10);
    b.reg_id = static_cast<uint32_t>(reg_id);
    b.call_id = s.column_text(12);
    b.cseq = static_cast<uint32_t>(cseq);
    b.expires_at = from_ms(s.column_int64(14));
    b.q = static_cast<int>(q);
    b.user_agent = s.column_text(16);
    b.first_registered = from_ms(s.column_int64(17));
    b.last_registered = from_ms(s.column_int64(18));
    b.replica.clear();  // not stored: one process (kColumns)
    return true;
  }

  // One transaction writing every valid write's events, in issue order, and
  // for each AOR the set of its last valid write. `last` maps an AOR to the
  // index in `batch` of that write; `valid[i]` says whether write i is valid.
  // On success `first_sequence[i]` is write i's first event's sequence (0
  // when it has none).
  StoreResult write_transaction(const std::vector<Write>& batch, const std::vector<bool>& valid,
                                const std::unordered_map<std::string_view, size_t>& last,
                                std::vector<uint64_t>& first_sequence) {
    std::lock_guard lock(db_mutex);
    const auto started = std::chrono::steady_clock::now();
    std::string error = run(begin, "BEGIN IMMEDIATE");
    uint64_t rows = 0, events = 0, newest = last_sequence;
    for (size_t i = 0; i < batch.size() && error.empty(); ++i) {
      if (!valid[i]) continue;
      const Write& w = batch[i];
      for (const RegistrationEvent& e : w.events) {
        bind_event(w.aor, e);
        error = run(insert_event, "INSERT event of '" + w.aor + "'");
        if (!error.empty()) break;
        newest = static_cast<uint64_t>(sqlite3_last_insert_rowid(db->raw()));
        if (first_sequence[i] == 0) first_sequence[i] = newest;
        ++events;
      }
      auto it = last.find(w.aor);
      if (!error.empty() || it == last.end() || it->second != i) continue;
      delete_aor.bind(1, w.aor);
      error = run(delete_aor, "DELETE bindings of '" + w.aor + "'");
      for (const Binding& b : w.bindings) {
        if (!error.empty()) break;
        bind_binding(b);
        error = run(insert, "INSERT binding of '" + w.aor + "'");
        ++rows;
      }
    }
    if (error.empty()) error = run(commit, "COMMIT");
    if (options.on_operation) options.on_operation("commit", std::chrono::steady_clock::now() - started);
    if (!error.empty()) {
      if (db->in_transaction()) (void)run(rollback, "ROLLBACK");
      stats.transactions_failed.fetch_add(1, std::memory_order_relaxed);
      last_commit_ok.store(false, std::memory_order_relaxed);
      std::fill(first_sequence.begin(), first_sequence.end(), 0);
      return failure("binding store: " + error);
    }
    last_sequence = newest;
    events_since_trim += events;
    stats.transactions.fetch_add(1, std::memory_order_relaxed);
    last_commit_ok.store(true, std::memory_order_relaxed);
    stats.rows_inserted.fetch_add(rows, std::memory_order_relaxed);
    stats.events_written.fetch_add(events, std::memory_order_relaxed);
    return {};
  }

  // Deletes the oldest events beyond options.events, if it is time to.
  // Writer thread, after a commit.
  void maybe_trim() {
    const EventRetention& keep = options.events;
    if (keep.max_events == 0 && keep.max_age.count() <= 0) return;
    if (last_sequence < trimmed_below) return;  // nothing stored
    const auto now = std::chrono::steady_clock::now();
    const bool overdue = keep.max_events > 0 && events_since_trim > keep.max_events / 4;
    if (!overdue && now - last_trim < options.trim_interval) return;
    last_trim = now;
    events_since_trim = 0;

    std::lock_guard lock(db_mutex);
    uint64_t cutoff = 0;  // delete sequence < cutoff
    if (keep.max_events > 0 && last_sequence >= keep.max_events)
      cutoff = last_sequence - keep.max_events + 1;
    if (keep.max_age.count() > 0) {
      const WallTime wall =
          options.clock != nullptr ? options.clock->wall_now() : std::chrono::system_clock::now();
      first_young_event.bind(1, to_ms(wall - keep.max_age));
      // No row: every event is too old. An error: trim by count only this time.
      const int rc = first_young_event.step();
      uint64_t young = 0;
      if (rc == SQLITE_ROW) young = static_cast<uint64_t>(first_young_event.column_int64(0));
      if (rc == SQLITE_DONE) young = last_sequence + 1;
      first_young_event.reset();
      cutoff = std::max(cutoff, young);
    }
    if (cutoff <= trimmed_below) return;
    delete_old_events.bind(1, static_cast<int64_t>(cutoff));
    const auto started = std::chrono::steady_clock::now();
    const bool deleted = run(delete_old_events, "DELETE old events").empty();
    if (options.on_operation) options.on_operation("trim", std::chrono::steady_clock::now() - started);
    if (!deleted) return;  // retried next time
    stats.events_trimmed.fetch_add(static_cast<uint64_t>(db->changes()), std::memory_order_relaxed);
    trimmed_below = cutoff;
  }

  // Validates, coalesces, commits and calls back one batch.
  void process(std::vector<Write>& batch) {
    std::vector<StoreResult> results(batch.size());
    std::vector<bool> valid(batch.size(), false);
    std::vector<uint64_t> first_sequence(batch.size(), 0);
    std::unordered_map<std::string_view, size_t> last;
    last.reserve(batch.size());
    size_t valid_count = 0;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (std::string why = invalid_write(batch[i]); !why.empty()) {
        results[i] = failure(std::move(why));
        continue;
      }
      valid[i] = true;
      last[batch[i].aor] = i;
      ++valid_count;
    }
    bool committed = false;
    if (!last.empty()) {
      StoreResult tx = write_transaction(batch, valid, last, first_sequence);
      if (!tx.ok) {
        for (StoreResult& r : results) {
          if (r.ok) r = tx;
        }
      } else {
        committed = true;
        for (size_t i = 0; i < batch.size(); ++i) results[i].first_sequence = first_sequence[i];
        stats.writes_coalesced.fetch_add(valid_count - last.size(), std::memory_order_relaxed);
        uint64_t largest = stats.largest_batch.load(std::memory_order_relaxed);
        if (valid_count > largest)
          stats.largest_batch.store(valid_count, std::memory_order_relaxed);
      }
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      (results[i].ok ? stats.writes_committed : stats.writes_failed)
          .fetch_add(1, std::memory_order_relaxed);
      if (batch[i].done) batch[i].done(results[i]);
    }
    if (committed) maybe_trim();  // after the callbacks: not on a REGISTER's path
  }

  void run_writer() {
    std::unique_lock lock(mu);
    writer_id = std::this_thread::get_id();
    size_t last_batch = 0;
    std::vector<Write> batch;
    for (;;) {
      writer_idle = true;
      work_cv.wait(lock, [&] { return stopping || !queue.empty() || !rejected.empty(); });
      writer_idle = false;
      if (queue.empty() && rejected.empty()) break;  // stopping, and nothing left
      if (options.max_batch_delay.count() > 0 && last_batch > 1 &&
          queue.size() < options.max_batch && !stopping) {
        writer_gathering = true;
        work_cv.wait_for(lock, options.max_batch_delay,
                         [&] { return stopping || queue.size() >= options.max_batch; });
        writer_gathering = false;
      }
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
      last_batch = batch.size();
      batch.clear();  // releases the bindings and callbacks before the next wait

      lock.lock();
      accepted_completed += n;
      rejected_completed += refused.size();
      flushed_cv.notify_all();
    }
  }
};

SqliteBindingStoreOpenResult SqliteBindingStore::open(const std::string& path,
                                                      const SqliteBindingStoreOptions& options) {
  SqliteBindingStoreOpenResult result;
  SqliteOpenResult opened = SqliteDatabase::open(path, options.database);
  if (!opened.ok()) {
    result.error = std::move(opened.error);
    return result;
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (impl->options.max_batch == 0) impl->options.max_batch = 1;
  if (impl->options.max_queue == 0) impl->options.max_queue = 1;
  impl->db = std::move(opened.db);
  if (StoreResult r = apply_switchboard_schema(*impl->db); !r.ok) {
    result.error = "sqlite '" + path + "': " + r.error;
    return result;
  }
  SqliteOpenResult reader = SqliteDatabase::open(path, options.database);
  if (!reader.ok()) {
    result.error = std::move(reader.error);
    return result;
  }
  impl->reader = std::move(reader.db);
  if (StoreResult r = impl->prepare_all(); !r.ok) {
    result.error = "sqlite '" + path + "': " + r.error;
    return result;
  }
  Impl* raw = impl.get();
  impl->writer = std::thread([raw] { raw->run_writer(); });
  result.store.reset(new SqliteBindingStore(std::move(impl)));
  return result;
}

SqliteBindingStore::SqliteBindingStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SqliteBindingStore::~SqliteBindingStore() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->work_cv.notify_all();
  impl_->space_cv.notify_all();
  impl_->writer.join();
}

void SqliteBindingStore::replace_aor(std::string aor, std::vector<Binding> bindings,
                                     std::vector<RegistrationEvent> events, Done done) {
  Impl& m = *impl_;
  std::unique_lock lock(m.mu);
  const bool on_writer = std::this_thread::get_id() == m.writer_id;
  if (m.queue.size() >= m.options.max_queue && !on_writer) {
    if (m.options.when_full == SqliteBindingStoreOptions::WhenFull::kFail) {
      m.rejected.push_back(std::move(done));
      ++m.rejected_issued;
      m.stats.writes_rejected.fetch_add(1, std::memory_order_relaxed);
      if (m.writer_idle) m.work_cv.notify_one();
      return;
    }
    m.space_cv.wait(lock, [&] { return m.queue.size() < m.options.max_queue || m.stopping; });
  }
  m.queue.push_back(Write{std::move(aor), std::move(bindings), std::move(events), std::move(done)});
  ++m.accepted_issued;
  m.stats.writes.fetch_add(1, std::memory_order_relaxed);
  if (m.writer_idle || (m.writer_gathering && m.queue.size() >= m.options.max_batch)) {
    m.work_cv.notify_one();
  }
}

std::vector<Binding> SqliteBindingStore::load_unexpired(WallTime now) {
  Impl& m = *impl_;
  std::vector<Binding> out;
  std::lock_guard lock(m.db_mutex);
  SqliteStatement& s = m.select_unexpired;
  s.bind(1, to_ms(now));
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    Binding b;
    if (Impl::read_binding(s, b)) out.push_back(std::move(b));
  }
  s.reset();
  return out;
}

std::vector<RegistrationEvent> SqliteBindingStore::read_events(uint64_t after, size_t limit) {
  Impl& m = *impl_;
  std::vector<RegistrationEvent> out;
  if (limit == 0) return out;
  std::lock_guard lock(m.reader_mutex);
  SqliteStatement& s = m.read_events;
  s.bind(1, static_cast<int64_t>(std::min<uint64_t>(after, std::numeric_limits<int64_t>::max())));
  s.bind(2, static_cast<int64_t>(std::min<uint64_t>(limit, std::numeric_limits<int64_t>::max())));
  out.reserve(std::min<size_t>(limit, 256));
  while (s.step() == SQLITE_ROW) out.push_back(Impl::read_event(s));
  s.reset();
  return out;
}

EventLogState SqliteBindingStore::event_log_state() {
  Impl& m = *impl_;
  std::lock_guard lock(m.reader_mutex);
  SqliteStatement& s = m.log_state;
  EventLogState state;
  if (s.step() == SQLITE_ROW) {
    state.next_sequence = s.column_is_null(1) ? 1 : static_cast<uint64_t>(s.column_int64(1)) + 1;
    state.oldest_retained =
        s.column_is_null(0) ? state.next_sequence : static_cast<uint64_t>(s.column_int64(0));
  }
  s.reset();
  return state;
}

size_t SqliteBindingStore::purge_expired(WallTime now) {
  Impl& m = *impl_;
  std::lock_guard lock(m.db_mutex);
  m.delete_expired.bind(1, to_ms(now));
  if (!m.run(m.delete_expired, "DELETE expired bindings").empty()) return 0;
  return static_cast<size_t>(m.db->changes());
}

void SqliteBindingStore::flush() {
  Impl& m = *impl_;
  std::unique_lock lock(m.mu);
  const uint64_t accepted = m.accepted_issued, rejected = m.rejected_issued;
  m.flushed_cv.wait(
      lock, [&] { return m.accepted_completed >= accepted && m.rejected_completed >= rejected; });
}

bool SqliteBindingStore::healthy() const {
  return impl_->last_commit_ok.load(std::memory_order_relaxed);
}

SqliteBindingStoreStats SqliteBindingStore::stats() const {
  const auto& s = impl_->stats;
  auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  return SqliteBindingStoreStats{
      .writes = get(s.writes),
      .writes_committed = get(s.writes_committed),
      .writes_failed = get(s.writes_failed),
      .writes_rejected = get(s.writes_rejected),
      .writes_coalesced = get(s.writes_coalesced),
      .transactions = get(s.transactions),
      .transactions_failed = get(s.transactions_failed),
      .rows_inserted = get(s.rows_inserted),
      .largest_batch = get(s.largest_batch),
      .events_written = get(s.events_written),
      .events_trimmed = get(s.events_trimmed),
  };
}

}  // namespace registrar
