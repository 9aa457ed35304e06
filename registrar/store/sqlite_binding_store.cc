// registrar/store/sqlite_binding_store.cc — group commit of AOR binding sets
// into SQLite from one writer thread.
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

#include "registrar/store/sqlite_schema.h"

namespace registrar {
namespace {

using Done = std::function<void(const StoreResult&)>;

int64_t to_ms(WallTime t) {
  return std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

WallTime from_ms(int64_t ms) {
  return WallTime(std::chrono::duration_cast<WallTime::duration>(std::chrono::milliseconds(ms)));
}

StoreResult failure(std::string error) {
  return StoreResult{.ok = false, .error = std::move(error)};
}

constexpr std::string_view kColumns =
    "aor, contact, realm, username, transport, source_ip, source_port, local_address, "
    "connection_id, path, instance_id, reg_id, call_id, cseq, expires_at, q, user_agent, "
    "first_registered, last_registered";

struct Write {
  std::string aor;
  std::vector<Binding> bindings;
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

  // The connection and its statements: the writer's transactions, load, purge.
  std::mutex db_mutex;
  SqliteStatement begin, commit, rollback, delete_aor, insert, select_unexpired, delete_expired;

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
        largest_batch{0};
  } stats;

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
          {"DELETE FROM bindings WHERE expires_at <= ?1", &delete_expired}}) {
      if (StoreResult r = db->prepare(sql, *stmt); !r.ok) return r;
    }
    return {};
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
    return true;
  }

  // One transaction writing, for each AOR, the set of its last valid write.
  // `last` maps an AOR to the index in `batch` of that write.
  StoreResult write_transaction(const std::vector<Write>& batch,
                                const std::unordered_map<std::string_view, size_t>& last) {
    std::lock_guard lock(db_mutex);
    std::string error = run(begin, "BEGIN IMMEDIATE");
    uint64_t rows = 0;
    for (size_t i = 0; i < batch.size() && error.empty(); ++i) {
      auto it = last.find(batch[i].aor);
      if (it == last.end() || it->second != i) continue;
      delete_aor.bind(1, batch[i].aor);
      error = run(delete_aor, "DELETE bindings of '" + batch[i].aor + "'");
      for (const Binding& b : batch[i].bindings) {
        if (!error.empty()) break;
        bind_binding(b);
        error = run(insert, "INSERT binding of '" + batch[i].aor + "'");
        ++rows;
      }
    }
    if (error.empty()) error = run(commit, "COMMIT");
    if (!error.empty()) {
      if (db->in_transaction()) (void)run(rollback, "ROLLBACK");
      stats.transactions_failed.fetch_add(1, std::memory_order_relaxed);
      return failure("binding store: " + error);
    }
    stats.transactions.fetch_add(1, std::memory_order_relaxed);
    stats.rows_inserted.fetch_add(rows, std::memory_order_relaxed);
    return {};
  }

  // Validates, coalesces, commits and calls back one batch.
  void process(std::vector<Write>& batch) {
    std::vector<StoreResult> results(batch.size());
    std::unordered_map<std::string_view, size_t> last;
    last.reserve(batch.size());
    size_t valid = 0;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (std::string why = invalid_write(batch[i]); !why.empty()) {
        results[i] = failure(std::move(why));
        continue;
      }
      last[batch[i].aor] = i;
      ++valid;
    }
    if (!last.empty()) {
      StoreResult tx = write_transaction(batch, last);
      if (!tx.ok) {
        for (StoreResult& r : results) {
          if (r.ok) r = tx;
        }
      } else {
        stats.writes_coalesced.fetch_add(valid - last.size(), std::memory_order_relaxed);
        uint64_t largest = stats.largest_batch.load(std::memory_order_relaxed);
        if (valid > largest) stats.largest_batch.store(valid, std::memory_order_relaxed);
      }
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      (results[i].ok ? stats.writes_committed : stats.writes_failed)
          .fetch_add(1, std::memory_order_relaxed);
      if (batch[i].done) batch[i].done(results[i]);
    }
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

void SqliteBindingStore::replace_aor(std::string aor, std::vector<Binding> bindings, Done done) {
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
  m.queue.push_back(Write{std::move(aor), std::move(bindings), std::move(done)});
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
  };
}

}  // namespace registrar
