// SqliteBindingStore (registrar/store/sqlite_binding_store.h): every Binding
// field round-trips, group commit batches and coalesces, callbacks run only
// after the COMMIT, and failures reach every callback of the batch.
#include "registrar/store/sqlite_binding_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <limits>
#include <mutex>
#include <thread>

#include "binding_fixtures.h"
#include "registrar/store/sqlite_schema.h"
#include "sip/clock.h"
#include "temp_dir.h"

namespace registrar {
namespace {

using ::testing::HasSubstr;
using testing::make_binding;
using testing::TempDir;
using ::testing::UnorderedElementsAre;
using testing::wall_ms;

constexpr int64_t kNow = 1'790'000'000'000;  // ms since the epoch

SqliteBindingStoreOptions fast_options() {
  SqliteBindingStoreOptions o;
  o.database.synchronous = SqliteSync::kOff;  // these tests are not about fsync
  o.events.max_age = std::chrono::seconds(0);  // kNow is fixed: no trimming by the real clock
  return o;
}

std::unique_ptr<SqliteBindingStore> open_store(const TempDir& dir,
                                               SqliteBindingStoreOptions options = fast_options()) {
  auto opened = SqliteBindingStore::open(database_path(dir.path()), options);
  EXPECT_TRUE(opened.ok()) << opened.error;
  return std::move(opened.store);
}

// Blocks the writer thread inside a callback until open(), so that writes
// issued meanwhile queue up (what happens naturally during a slow fsync).
class WriterGate {
 public:
  std::function<void(const StoreResult&)> blocker() {
    return [this](const StoreResult&) {
      entered_.set_value();
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return open_; });
    };
  }
  void wait_until_blocking() { entered_.get_future().wait(); }
  void open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::promise<void> entered_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Synchronous replace_aor for tests.
StoreResult replace(SqliteBindingStore& store, const std::string& aor, std::vector<Binding> set) {
  std::promise<StoreResult> p;
  store.replace_aor(aor, std::move(set), {}, [&p](const StoreResult& r) { p.set_value(r); });
  return p.get_future().get();
}

// Verifies every Binding field, including extreme values, survives a write and a reopen.
TEST(SqliteBindingStore, EveryFieldRoundTrips) {
  TempDir dir;
  Binding a = make_binding("alice@acme.test", "sip:alice@192.0.2.4:5062;transport=tcp",
                           wall_ms(kNow + 3'600'123));
  a.realm = "Acme.Test";
  a.username = "alice";
  a.transport = "tls";
  a.source_ip = "2001:db8::1";
  a.source_port = 65535;
  a.local_address = "tls:[2001:db8::a]:5061";
  a.connection_id = std::numeric_limits<uint64_t>::max();  // above INT64_MAX
  a.path = "<sip:p1.example.com;lr>,<sip:p2.example.com;lr>";
  a.instance_id = "<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";
  a.reg_id = std::numeric_limits<uint32_t>::max();
  a.call_id = "it's \"odd\" ünïcode@host";
  a.cseq = std::numeric_limits<uint32_t>::max();
  a.q = 1000;
  a.user_agent = "";
  a.first_registered = wall_ms(kNow - 86'400'000);
  a.last_registered = wall_ms(kNow - 1);
  Binding b = make_binding("alice@acme.test", "sip:alice@198.51.100.7", wall_ms(kNow + 1));
  b.q = -1;
  b.connection_id = 0;
  b.reg_id = 0;

  {
    auto store = open_store(dir);
    StoreResult r = replace(*store, "alice@acme.test", {a, b});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_THAT(store->load_unexpired(wall_ms(kNow)), UnorderedElementsAre(a, b));
  }
  auto store = open_store(dir);
  EXPECT_THAT(store->load_unexpired(wall_ms(kNow)), UnorderedElementsAre(a, b));
}

// Verifies the bindings table does not keep Binding::replica (one process runs on the
// embedded store): a binding written with one loads with replica "".
TEST(SqliteBindingStore, ReplicaIsNotStored) {
  TempDir dir;
  auto store = open_store(dir);
  Binding b = make_binding("alice@acme.test", "sip:alice@192.0.2.4", wall_ms(kNow + 60'000));
  b.replica = "switchboard-1";
  ASSERT_TRUE(replace(*store, b.aor, {b}).ok);
  b.replica.clear();
  EXPECT_THAT(store->load_unexpired(wall_ms(kNow)), UnorderedElementsAre(b));
}

// Verifies times are stored as whole milliseconds (sub-millisecond parts are dropped).
TEST(SqliteBindingStore, TimesAreMilliseconds) {
  TempDir dir;
  auto store = open_store(dir);
  Binding b = make_binding("bob@acme.test", "sip:bob@192.0.2.9",
                           wall_ms(kNow + 5000) + std::chrono::microseconds(999));
  ASSERT_TRUE(replace(*store, b.aor, {b}).ok);
  auto loaded = store->load_unexpired(wall_ms(kNow));
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded[0].expires_at, wall_ms(kNow + 5000));
}

// Verifies replace_aor replaces the whole set and an empty set deletes the AOR.
TEST(SqliteBindingStore, ReplaceIsWholeSet) {
  TempDir dir;
  auto store = open_store(dir);
  Binding b1 = make_binding("carol@acme.test", "sip:c1@192.0.2.1", wall_ms(kNow + 60'000));
  Binding b2 = make_binding("carol@acme.test", "sip:c2@192.0.2.2", wall_ms(kNow + 60'000));
  Binding other = make_binding("dave@acme.test", "sip:d@192.0.2.3", wall_ms(kNow + 60'000));
  ASSERT_TRUE(replace(*store, "carol@acme.test", {b1, b2}).ok);
  ASSERT_TRUE(replace(*store, "dave@acme.test", {other}).ok);
  ASSERT_TRUE(replace(*store, "carol@acme.test", {b2}).ok);
  EXPECT_THAT(store->load_unexpired(wall_ms(kNow)), UnorderedElementsAre(b2, other));
  ASSERT_TRUE(replace(*store, "carol@acme.test", {}).ok);
  EXPECT_THAT(store->load_unexpired(wall_ms(kNow)), UnorderedElementsAre(other));
}

// Verifies load_unexpired keeps expires_at > now only, and purge_expired deletes the rest.
TEST(SqliteBindingStore, LoadFiltersAndPurgeDeletesExpired) {
  TempDir dir;
  auto store = open_store(dir);
  Binding past = make_binding("e@acme.test", "sip:e@192.0.2.1", wall_ms(kNow - 1));
  Binding now = make_binding("f@acme.test", "sip:f@192.0.2.1", wall_ms(kNow));
  Binding soon = make_binding("g@acme.test", "sip:g@192.0.2.1", wall_ms(kNow + 1));
  for (const Binding& b : {past, now, soon}) ASSERT_TRUE(replace(*store, b.aor, {b}).ok);
  EXPECT_THAT(store->load_unexpired(wall_ms(kNow)), UnorderedElementsAre(soon));
  EXPECT_EQ(store->purge_expired(wall_ms(kNow)), 2u);
  EXPECT_EQ(store->purge_expired(wall_ms(kNow)), 0u);
  EXPECT_THAT(store->load_unexpired(wall_ms(kNow - 10)), UnorderedElementsAre(soon));
}

// Verifies 1000 writes from 4 threads while the writer is busy become a handful of
// transactions, and every callback reports success.
TEST(SqliteBindingStore, GroupCommitBatches) {
  TempDir dir;
  auto store = open_store(dir);
  WriterGate gate;
  store->replace_aor("gate@acme.test", {}, {}, gate.blocker());
  gate.wait_until_blocking();

  constexpr int kThreads = 4, kPerThread = 250;
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string aor = "u" + std::to_string(t) + "-" + std::to_string(i) + "@acme.test";
        store->replace_aor(aor, {make_binding(aor, "sip:" + aor, wall_ms(kNow + 60'000))}, {},
                           [&](const StoreResult& r) { (r.ok ? ok : failed).fetch_add(1); });
      }
    });
  }
  for (auto& t : threads) t.join();
  gate.open();
  store->flush();

  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_EQ(failed.load(), 0);
  const SqliteBindingStoreStats s = store->stats();
  EXPECT_EQ(s.writes, 1001u);
  EXPECT_EQ(s.writes_committed, 1001u);
  EXPECT_LE(s.transactions, 3u) << "1000 writes queued behind a busy writer";
  EXPECT_GE(s.largest_batch, 1000u);
  EXPECT_EQ(s.rows_inserted, 1000u);
  EXPECT_EQ(store->load_unexpired(wall_ms(kNow)).size(), 1000u);
}

// Verifies writes from several threads with nothing holding the writer back still
// batch (natural batching under a real fsync) and all succeed.
TEST(SqliteBindingStore, NaturalBatchingUnderLoad) {
  TempDir dir;
  SqliteBindingStoreOptions options;  // synchronous=FULL: each commit waits for fsync
  auto store = open_store(dir, options);
  constexpr int kThreads = 4, kPerThread = 250;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string aor = "n" + std::to_string(t) + "-" + std::to_string(i) + "@acme.test";
        store->replace_aor(aor, {make_binding(aor, "sip:" + aor, wall_ms(kNow + 60'000))}, {},
                           [&](const StoreResult& r) { ok.fetch_add(r.ok ? 1 : 0); });
      }
    });
  }
  for (auto& t : threads) t.join();
  store->flush();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  const SqliteBindingStoreStats s = store->stats();
  EXPECT_LT(s.transactions, 1000u);
  RecordProperty("transactions", static_cast<int>(s.transactions));
  RecordProperty("largest_batch", static_cast<int>(s.largest_batch));
}

// Verifies a callback runs only once its write is visible to another connection
// (i.e. committed), and on the writer thread.
TEST(SqliteBindingStore, CallbackRunsAfterCommit) {
  TempDir dir;
  auto store = open_store(dir);
  auto reader = SqliteDatabase::open(database_path(dir.path()), {});
  ASSERT_TRUE(reader.ok());
  SqliteStatement count;
  ASSERT_TRUE(reader.db->prepare("SELECT count(*) FROM bindings WHERE aor = ?1", count).ok);

  std::mutex mu;
  std::vector<int64_t> seen;
  std::vector<std::thread::id> threads;
  for (int i = 0; i < 20; ++i) {
    const std::string aor = "v" + std::to_string(i) + "@acme.test";
    store->replace_aor(aor, {make_binding(aor, "sip:" + aor, wall_ms(kNow + 60'000))}, {},
                       [&, aor](const StoreResult& r) {
                         std::lock_guard lock(mu);
                         count.bind(1, aor);
                         EXPECT_EQ(count.step(), SQLITE_ROW);
                         seen.push_back(r.ok ? count.column_int64(0) : -1);
                         count.reset();
                         threads.push_back(std::this_thread::get_id());
                       });
  }
  store->flush();
  ASSERT_EQ(seen.size(), 20u);
  for (int64_t n : seen) EXPECT_EQ(n, 1);
  for (auto id : threads) EXPECT_NE(id, std::this_thread::get_id());
}

// Verifies that within one batch only an AOR's last set is written, yet every
// callback runs, in issue order.
TEST(SqliteBindingStore, BatchCoalescesPerAor) {
  TempDir dir;
  auto store = open_store(dir);
  WriterGate gate;
  store->replace_aor("gate@acme.test", {}, {}, gate.blocker());
  gate.wait_until_blocking();
  std::vector<int> order;
  for (int i = 0; i < 10; ++i) {
    Binding b = make_binding("h@acme.test", "sip:h" + std::to_string(i) + "@192.0.2.1",
                             wall_ms(kNow + 60'000));
    store->replace_aor("h@acme.test", {b}, {}, [&order, i](const StoreResult& r) {
      EXPECT_TRUE(r.ok) << r.error;
      order.push_back(i);
    });
  }
  gate.open();
  store->flush();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(store->stats().writes_coalesced, 9u);
  EXPECT_EQ(store->stats().rows_inserted, 1u);
  auto loaded = store->load_unexpired(wall_ms(kNow));
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded[0].contact, "sip:h9@192.0.2.1");
}

// Verifies a statement failing mid-batch rolls the whole batch back and every
// callback of it gets the SQLite error; the next batch works.
TEST(SqliteBindingStore, FailedTransactionFailsTheBatch) {
  TempDir dir;
  auto store = open_store(dir);
  {
    auto db = SqliteDatabase::open(database_path(dir.path()), {});
    ASSERT_TRUE(
        db.db
            ->exec("CREATE TRIGGER boom BEFORE INSERT ON bindings WHEN NEW.contact = 'sip:boom' "
                   "BEGIN SELECT RAISE(ABORT, 'injected failure'); END;")
            .ok);
  }
  WriterGate gate;
  store->replace_aor("gate@acme.test", {}, {}, gate.blocker());
  gate.wait_until_blocking();
  std::vector<StoreResult> results(2);
  Binding good = make_binding("i@acme.test", "sip:i@192.0.2.1", wall_ms(kNow + 60'000));
  Binding bad = make_binding("j@acme.test", "sip:boom", wall_ms(kNow + 60'000));
  store->replace_aor(good.aor, {good}, {}, [&](const StoreResult& r) { results[0] = r; });
  store->replace_aor(bad.aor, {bad}, {}, [&](const StoreResult& r) { results[1] = r; });
  gate.open();
  store->flush();
  for (const StoreResult& r : results) {
    EXPECT_FALSE(r.ok);
    EXPECT_THAT(r.error, HasSubstr("injected failure"));
  }
  EXPECT_TRUE(store->load_unexpired(wall_ms(kNow)).empty()) << "the good AOR was rolled back too";
  EXPECT_EQ(store->stats().transactions_failed, 1u);
  EXPECT_EQ(store->stats().writes_failed, 2u);
  EXPECT_TRUE(replace(*store, good.aor, {good}).ok);
  EXPECT_THAT(store->load_unexpired(wall_ms(kNow)), UnorderedElementsAre(good));
}

// Verifies a database locked by another writer makes the batch fail with "database is
// locked" after busy_timeout, and the store recovers once the lock goes.
TEST(SqliteBindingStore, LockedDatabaseFailsCleanly) {
  TempDir dir;
  SqliteBindingStoreOptions options = fast_options();
  options.database.busy_timeout = std::chrono::milliseconds(20);
  auto store = open_store(dir, options);
  auto other = SqliteDatabase::open(database_path(dir.path()), {});
  ASSERT_TRUE(other.db->exec("BEGIN IMMEDIATE").ok);
  Binding b = make_binding("k@acme.test", "sip:k@192.0.2.1", wall_ms(kNow + 60'000));
  StoreResult r = replace(*store, b.aor, {b});
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.error, HasSubstr("database is locked"));
  ASSERT_TRUE(other.db->exec("ROLLBACK").ok);
  EXPECT_TRUE(replace(*store, b.aor, {b}).ok);
}

// Verifies a write that breaks replace_aor's REQUIRES fails alone; its batch-mates commit.
TEST(SqliteBindingStore, InvalidWriteFailsAlone) {
  TempDir dir;
  auto store = open_store(dir);
  WriterGate gate;
  store->replace_aor("gate@acme.test", {}, {}, gate.blocker());
  gate.wait_until_blocking();
  std::vector<StoreResult> results(3);
  Binding good = make_binding("l@acme.test", "sip:l@192.0.2.1", wall_ms(kNow + 60'000));
  Binding foreign = make_binding("m@acme.test", "sip:m@192.0.2.1", wall_ms(kNow + 60'000));
  store->replace_aor(good.aor, {good}, {}, [&](const StoreResult& r) { results[0] = r; });
  store->replace_aor("n@acme.test", {foreign}, {}, [&](const StoreResult& r) { results[1] = r; });
  store->replace_aor(good.aor, {good, good}, {}, [&](const StoreResult& r) { results[2] = r; });
  gate.open();
  store->flush();
  EXPECT_TRUE(results[0].ok);
  EXPECT_FALSE(results[1].ok);
  EXPECT_THAT(results[1].error, HasSubstr("belongs to AOR 'm@acme.test'"));
  EXPECT_FALSE(results[2].ok);
  EXPECT_THAT(results[2].error, HasSubstr("appears twice"));
  EXPECT_THAT(store->load_unexpired(wall_ms(kNow)), UnorderedElementsAre(good));
}

// Verifies with WhenFull::kFail a full queue refuses writes with a clear error,
// delivered on the writer thread, and flush() still returns.
TEST(SqliteBindingStore, FullQueueFailsWhenConfigured) {
  TempDir dir;
  SqliteBindingStoreOptions options = fast_options();
  options.max_queue = 2;
  options.when_full = SqliteBindingStoreOptions::WhenFull::kFail;
  auto store = open_store(dir, options);
  WriterGate gate;
  store->replace_aor("gate@acme.test", {}, {}, gate.blocker());
  gate.wait_until_blocking();
  std::vector<StoreResult> results(4);
  std::vector<std::thread::id> where(4);
  for (int i = 0; i < 4; ++i) {
    const std::string aor = "o" + std::to_string(i) + "@acme.test";
    store->replace_aor(aor, {make_binding(aor, "sip:" + aor, wall_ms(kNow + 60'000))}, {},
                       [&, i](const StoreResult& r) {
                         results[i] = r;
                         where[i] = std::this_thread::get_id();
                       });
  }
  EXPECT_EQ(where[2], std::thread::id()) << "not called inside replace_aor";
  gate.open();
  store->flush();
  EXPECT_TRUE(results[0].ok);
  EXPECT_TRUE(results[1].ok);
  for (int i : {2, 3}) {
    EXPECT_FALSE(results[i].ok);
    EXPECT_THAT(results[i].error, HasSubstr("binding store queue full"));
    EXPECT_NE(where[i], std::this_thread::get_id());
  }
  EXPECT_EQ(store->stats().writes_rejected, 2u);
}

// Verifies with WhenFull::kBlock a tiny queue throttles producers without losing or
// deadlocking writes, including ones issued from inside a callback.
TEST(SqliteBindingStore, FullQueueBlocksProducers) {
  TempDir dir;
  SqliteBindingStoreOptions options = fast_options();
  options.max_queue = 1;
  auto store = open_store(dir, options);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string aor = "p" + std::to_string(t) + "-" + std::to_string(i) + "@acme.test";
        Binding b = make_binding(aor, "sip:" + aor, wall_ms(kNow + 60'000));
        store->replace_aor(aor, {b}, {}, [&, aor, b](const StoreResult& r) {
          ok.fetch_add(r.ok ? 1 : 0);
          // A follow-up write from the writer thread never blocks on the full queue.
          store->replace_aor(aor, {b}, {},
                             [&](const StoreResult& r2) { ok.fetch_add(r2.ok ? 1 : 0); });
        });
      }
    });
  }
  for (auto& t : threads) t.join();
  store->flush();
  store->flush();  // the follow-ups issued by the first wave
  EXPECT_EQ(ok.load(), 300);
}

// Verifies destroying the store completes every queued write and its callback.
TEST(SqliteBindingStore, DestructorDrainsTheQueue) {
  TempDir dir;
  std::atomic<int> ok{0};
  {
    auto store = open_store(dir);
    for (int i = 0; i < 100; ++i) {
      const std::string aor = "q" + std::to_string(i) + "@acme.test";
      store->replace_aor(aor, {make_binding(aor, "sip:" + aor, wall_ms(kNow + 60'000))}, {},
                         [&](const StoreResult& r) { ok.fetch_add(r.ok ? 1 : 0); });
    }
  }
  EXPECT_EQ(ok.load(), 100);
  EXPECT_EQ(open_store(dir)->load_unexpired(wall_ms(kNow)).size(), 100u);
}

// Verifies opening a store creates switchboard.db with the current schema.
TEST(SqliteBindingStore, OpenCreatesSchema) {
  TempDir dir;
  open_store(dir);
  auto db = SqliteDatabase::open(database_path(dir.path()), {});
  EXPECT_EQ(db.db->user_version(), switchboard_schema_version());
}

// --- The event log ---------------------------------------------------------------

RegistrationEvent registered(const Binding& b, WallTime at) {
  RegistrationEvent e;
  e.time = at;
  e.type = RegistrationEventType::kRegistered;
  e.binding = b;
  return e;
}

// Synchronous replace_aor with events, for tests.
StoreResult replace(SqliteBindingStore& store, const std::string& aor, std::vector<Binding> set,
                    std::vector<RegistrationEvent> events) {
  std::promise<StoreResult> p;
  store.replace_aor(aor, std::move(set), std::move(events),
                    [&p](const StoreResult& r) { p.set_value(r); });
  StoreResult r = p.get_future().get();
  store.flush();  // retention trims after the callbacks
  return r;
}

// Verifies every write of a batch stores its events in issue order with consecutive
// sequences — also writes whose binding set was coalesced away — each reported as
// first_sequence in callback order, and the events are visible once done runs.
TEST(SqliteEventLog, EventsCommitWithTheirBatchEvenWhenCoalesced) {
  TempDir dir;
  auto store = open_store(dir);
  auto reader = SqliteDatabase::open(database_path(dir.path()), {});
  ASSERT_TRUE(reader.ok());
  SqliteStatement count;
  ASSERT_TRUE(reader.db->prepare("SELECT count(*) FROM events", count).ok);
  WriterGate gate;
  store->replace_aor("gate@acme.test", {}, {}, gate.blocker());
  gate.wait_until_blocking();

  std::vector<std::pair<int, uint64_t>> done;  // (write, first_sequence), in callback order
  std::vector<int64_t> visible;                // events committed when each callback ran
  for (int i = 0; i < 10; ++i) {
    const std::string aor = i % 3 == 2 ? "other@acme.test" : "h@acme.test";
    Binding b =
        make_binding(aor, "sip:h" + std::to_string(i) + "@192.0.2.1", wall_ms(kNow + 60'000));
    std::vector<RegistrationEvent> events{registered(b, wall_ms(kNow + i))};
    if (i == 4) events.push_back(registered(b, wall_ms(kNow + i)));  // two events in one write
    store->replace_aor(aor, {b}, std::move(events), [&, i](const StoreResult& r) {
      EXPECT_TRUE(r.ok) << r.error;
      done.emplace_back(i, r.first_sequence);
      EXPECT_EQ(count.step(), SQLITE_ROW);
      visible.push_back(count.column_int64(0));
      count.reset();
    });
  }
  gate.open();
  store->flush();
  EXPECT_EQ(done,
            (std::vector<std::pair<int, uint64_t>>{
                {0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 7}, {6, 8}, {7, 9}, {8, 10}, {9, 11}}));
  for (int64_t n : visible)
    EXPECT_EQ(n, 11) << "one transaction: all visible at the first callback";
  EXPECT_EQ(store->stats().transactions, 2u);  // the gate's, then the batch
  EXPECT_EQ(store->stats().writes_coalesced, 8u);
  EXPECT_EQ(store->stats().events_written, 11u);
  const std::vector<RegistrationEvent> log = store->read_events(0, 100);
  ASSERT_EQ(log.size(), 11u);
  for (size_t i = 0; i < log.size(); ++i) EXPECT_EQ(log[i].sequence, i + 1);
  EXPECT_EQ(log[0].binding.contact, "sip:h0@192.0.2.1");
  EXPECT_EQ(log[5].binding.contact, "sip:h4@192.0.2.1");
  EXPECT_EQ(log[10].binding.contact, "sip:h9@192.0.2.1");
  EXPECT_EQ(log[10].time, wall_ms(kNow + 9));
}

// Verifies sequences continue after closing and reopening the file, even when
// retention had trimmed every event (AUTOINCREMENT never reuses one).
TEST(SqliteEventLog, SequencesContinueAfterReopenEvenWhenAllTrimmed) {
  TempDir dir;
  sip::ManualClock clock;
  SqliteBindingStoreOptions options = fast_options();
  options.events = {.max_events = 0, .max_age = std::chrono::seconds(60)};
  options.trim_interval = std::chrono::milliseconds(0);
  options.clock = &clock;
  const Binding b =
      make_binding("r@acme.test", "sip:r@192.0.2.1", clock.wall_now() + std::chrono::hours(1));
  {
    auto store = open_store(dir, options);
    for (int i = 0; i < 5; ++i)
      ASSERT_TRUE(replace(*store, b.aor, {b}, {registered(b, clock.wall_now())}).ok);
    clock.advance(std::chrono::seconds(61));
    ASSERT_EQ(replace(*store, "s@acme.test", {}, {}).first_sequence, 0u);  // a commit: trims
    EXPECT_EQ(store->event_log_state().oldest_retained, 6u);
    EXPECT_EQ(store->event_log_state().next_sequence, 6u);
    EXPECT_TRUE(store->read_events(0, 10).empty());
    EXPECT_EQ(store->stats().events_trimmed, 5u);
  }
  auto store = open_store(dir, options);
  EXPECT_EQ(store->event_log_state().oldest_retained, 6u);
  EXPECT_EQ(store->event_log_state().next_sequence, 6u);
  EXPECT_EQ(replace(*store, b.aor, {b}, {registered(b, clock.wall_now())}).first_sequence, 6u);
  const auto log = store->read_events(0, 10);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].sequence, 6u);
}

// Verifies a rolled-back batch stores no event, reports first_sequence 0, and uses
// no sequence: the next write's event gets the one the failed write would have had.
TEST(SqliteEventLog, FailedTransactionStoresNoEvent) {
  TempDir dir;
  auto store = open_store(dir);
  {
    auto db = SqliteDatabase::open(database_path(dir.path()), {});
    ASSERT_TRUE(db.db
                    ->exec("CREATE TRIGGER boom BEFORE INSERT ON bindings WHEN NEW.contact = "
                           "'sip:boom' BEGIN SELECT RAISE(ABORT, 'injected failure'); END;")
                    .ok);
  }
  const Binding good = make_binding("t@acme.test", "sip:t@192.0.2.1", wall_ms(kNow + 60'000));
  const Binding bad = make_binding("u@acme.test", "sip:boom", wall_ms(kNow + 60'000));
  ASSERT_EQ(replace(*store, good.aor, {good}, {registered(good, wall_ms(kNow))}).first_sequence,
            1u);
  WriterGate gate;
  store->replace_aor("gate@acme.test", {}, {}, gate.blocker());
  gate.wait_until_blocking();
  std::vector<StoreResult> results(2);
  store->replace_aor(good.aor, {good}, {registered(good, wall_ms(kNow))},
                     [&](const StoreResult& r) { results[0] = r; });
  store->replace_aor(bad.aor, {bad}, {registered(bad, wall_ms(kNow))},
                     [&](const StoreResult& r) { results[1] = r; });
  gate.open();
  store->flush();
  for (const StoreResult& r : results) {
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.first_sequence, 0u);
  }
  EXPECT_EQ(store->read_events(0, 10).size(), 1u);
  EXPECT_EQ(store->event_log_state().next_sequence, 2u);
  EXPECT_EQ(replace(*store, good.aor, {good}, {registered(good, wall_ms(kNow))}).first_sequence,
            2u);
}

// Verifies a database of schema version 1 (before the event log) opens, migrates, and
// keeps its bindings, with the log starting at 1.
TEST(SqliteEventLog, VersionOneDatabaseGainsTheEventLog) {
  TempDir dir;
  const Binding b = make_binding("v@acme.test", "sip:v@192.0.2.1", wall_ms(kNow + 60'000));
  {
    auto db = SqliteDatabase::open(database_path(dir.path()), {});
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db.db->migrate(switchboard_migrations().first(1)).ok);
    ASSERT_EQ(db.db->user_version(), 1);
    ASSERT_TRUE(db.db
                    ->exec("INSERT INTO bindings VALUES ('v@acme.test', 'sip:v@192.0.2.1', "
                           "'acme.test', 'v', 'udp', '192.0.2.4', 5062, 'udp:127.0.0.1:5060', 0, "
                           "'', '', 0, 'a84b4c76e66710@pc33.atlanta.example.com', 1, " +
                           std::to_string(kNow + 60'000) + ", -1, 'Switchboard-Test/1.0', " +
                           std::to_string(kNow + 60'000 - 3'600'000) + ", " +
                           std::to_string(kNow + 60'000 - 3'600'000) + ")")
                    .ok);
  }
  auto store = open_store(dir);
  ASSERT_TRUE(store);
  EXPECT_THAT(store->load_unexpired(wall_ms(kNow)), UnorderedElementsAre(b));
  EXPECT_EQ(store->event_log_state().next_sequence, 1u);
  EXPECT_EQ(replace(*store, b.aor, {b}, {registered(b, wall_ms(kNow))}).first_sequence, 1u);
  auto db = SqliteDatabase::open(database_path(dir.path()), {});
  EXPECT_EQ(db.db->user_version(), switchboard_schema_version());
}

// Verifies every field of an event and of both its bindings round-trips, including
// extreme values and a binding whose aor differs from the write's.
TEST(SqliteEventLog, EveryEventFieldRoundTrips) {
  TempDir dir;
  auto store = open_store(dir);
  Binding now = make_binding("w@acme.test", "sip:w@[2001:db8::1]:5061;transport=tls",
                             wall_ms(kNow + 3'600'123));
  now.realm = "Acme.Test";
  now.transport = "tls";
  now.source_ip = "2001:db8::1";
  now.source_port = 65535;
  now.connection_id = std::numeric_limits<uint64_t>::max();
  now.path = "<sip:p1.example.com;lr>";
  now.instance_id = "<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";
  now.reg_id = std::numeric_limits<uint32_t>::max();
  now.cseq = std::numeric_limits<uint32_t>::max();
  now.call_id = std::string("nul\0 and ünïcode", 17);
  now.q = 1000;
  now.replica = "switchboard-1";  // events keep it, unlike the bindings table
  now.first_registered = wall_ms(0);
  now.last_registered = wall_ms(kNow - 1);
  Binding before = make_binding("other@acme.test", "sip:w@192.0.2.1", wall_ms(kNow - 5));
  before.q = 0;
  before.user_agent = std::string(300, 'x');
  RegistrationEvent replaced;
  replaced.time = wall_ms(kNow);
  replaced.type = RegistrationEventType::kReplaced;
  replaced.binding = now;
  replaced.previous = before;
  replaced.reason = "why not";
  RegistrationEvent gone = replaced;
  gone.type = RegistrationEventType::kExpired;
  gone.previous = {};
  gone.reason = "expired";
  ASSERT_TRUE(replace(*store, now.aor, {now}, {replaced, gone}).ok);
  replaced.sequence = 1;
  gone.sequence = 2;
  EXPECT_EQ(store->read_events(0, 10), (std::vector<RegistrationEvent>{replaced, gone}));
}

// Verifies an event whose binding cannot be decoded is still returned, with its
// sequence and the row's columns, so the log stays consecutive.
TEST(SqliteEventLog, UndecodableBindingKeepsItsSequence) {
  TempDir dir;
  auto store = open_store(dir);
  const Binding b = make_binding("x@acme.test", "sip:x@192.0.2.1", wall_ms(kNow + 60'000));
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(replace(*store, b.aor, {b}, {registered(b, wall_ms(kNow))}).ok);
  {
    auto db = SqliteDatabase::open(database_path(dir.path()), {});
    ASSERT_TRUE(db.db->exec("UPDATE events SET binding = x'01ff' WHERE sequence = 2").ok);
  }
  const auto log = store->read_events(0, 10);
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[1].sequence, 2u);
  EXPECT_EQ(log[1].type, RegistrationEventType::kRegistered);
  EXPECT_EQ(log[1].binding.aor, "x@acme.test");
  EXPECT_TRUE(log[1].binding.contact.empty());
  EXPECT_EQ(log[2].binding, b);
}

// Verifies that with a long trim interval the log still stays within max_events plus a
// quarter (the trim runs early once that many events have come in).
TEST(SqliteEventLog, CountRetentionIsBoundedBetweenTrims) {
  TempDir dir;
  SqliteBindingStoreOptions options = fast_options();
  options.events = {.max_events = 100, .max_age = std::chrono::seconds(0)};
  options.trim_interval = std::chrono::hours(1);
  auto store = open_store(dir, options);
  const Binding b = make_binding("y@acme.test", "sip:y@192.0.2.1", wall_ms(kNow + 60'000));
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(replace(*store, b.aor, {b}, {registered(b, wall_ms(kNow))}).ok);
    const EventLogState s = store->event_log_state();
    ASSERT_LE(s.next_sequence - s.oldest_retained, 126u) << "after write " << i;
  }
  const EventLogState s = store->event_log_state();
  EXPECT_GE(s.next_sequence - s.oldest_retained, 100u);
  EXPECT_EQ(s.next_sequence, 1001u);
  EXPECT_EQ(store->stats().events_trimmed, 1000u - (s.next_sequence - s.oldest_retained));
}

}  // namespace
}  // namespace registrar
