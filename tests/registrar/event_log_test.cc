// The event log contract of BindingStore (registrar/store/binding_store.h),
// run against MemoryBindingStore, SqliteBindingStore and RedisBindingStore (on
// a private redis-server; skipped when it is not installed): consecutive
// sequences in issue order, paging, retention by count and by age (a prefix,
// on an injected clock), refused AUTH_FAILED events, and readers running
// beside the writer. SQLite-only properties (coalesced batches, reopening,
// failed transactions, migration) are in sqlite_binding_store_test.cc, the
// Redis-only ones in redis_binding_store_test.cc.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <thread>

#include "binding_fixtures.h"
#include "registrar/store/memory_stores.h"
#include "registrar/store/redis/redis_binding_store.h"
#include "registrar/store/sqlite_binding_store.h"
#include "redis_server.h"
#include "sip/clock.h"
#include "temp_dir.h"

namespace registrar {
namespace {

using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::make_binding;
using testing::TempDir;

enum class Kind { kMemory, kSqlite, kRedis };

std::vector<uint64_t> sequences(const std::vector<RegistrationEvent>& events) {
  std::vector<uint64_t> out;
  for (const RegistrationEvent& e : events) out.push_back(e.sequence);
  return out;
}

class EventLogTest : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    if (GetParam() != Kind::kRedis) return;
    if (!testing::RedisServer::available()) GTEST_SKIP() << testing::RedisServer::kNotInstalled;
    ASSERT_TRUE(redis_.start()) << redis_.error();
  }

  std::unique_ptr<BindingStore> open(EventRetention retention = {}) {
    if (GetParam() == Kind::kMemory)
      return std::make_unique<MemoryBindingStore>(retention, &clock_);
    if (GetParam() == Kind::kRedis) {
      RedisBindingStoreOptions o;
      o.events = retention;
      o.trim_interval = std::chrono::milliseconds(0);
      o.clock = &clock_;
      auto opened = RedisBindingStore::open(redis_.url(), o);
      EXPECT_TRUE(opened.ok()) << opened.error;
      return std::move(opened.store);
    }
    SqliteBindingStoreOptions o;
    o.database.synchronous = SqliteSync::kOff;
    o.events = retention;
    o.trim_interval = std::chrono::milliseconds(0);  // trim after every commit
    o.clock = &clock_;
    auto opened = SqliteBindingStore::open(database_path(dir_.path()), o);
    EXPECT_TRUE(opened.ok()) << opened.error;
    return std::move(opened.store);
  }

  // A binding of `aor` whose contact names `tag`, with whole-millisecond times.
  Binding binding(const std::string& aor, const std::string& tag) {
    return make_binding(aor, "sip:" + tag + "@192.0.2.7", clock_.wall_now() + seconds(3600));
  }

  RegistrationEvent event(RegistrationEventType type, const Binding& b, std::string reason = {}) {
    RegistrationEvent e;
    e.time = clock_.wall_now();
    e.type = type;
    e.binding = b;
    e.reason = std::move(reason);
    return e;
  }

  // Writes and waits for the verdict and for the trimming that follows it.
  static StoreResult write(BindingStore& store, const std::string& aor, std::vector<Binding> set,
                           std::vector<RegistrationEvent> events) {
    std::promise<StoreResult> p;
    store.replace_aor(aor, std::move(set), std::move(events),
                      [&p](const StoreResult& r) { p.set_value(r); });
    StoreResult r = p.get_future().get();
    store.flush();
    return r;
  }

  // One write of `aor` with one REGISTERED event; returns its sequence.
  uint64_t write_one(BindingStore& store, const std::string& aor, const std::string& tag) {
    const Binding b = binding(aor, tag);
    const StoreResult r = write(store, aor, {b}, {event(RegistrationEventType::kRegistered, b)});
    EXPECT_TRUE(r.ok) << r.error;
    return r.first_sequence;
  }

  sip::ManualClock clock_;
  TempDir dir_;
  testing::RedisServer redis_;  // kRedis: a private redis-server, killed with the fixture
};

INSTANTIATE_TEST_SUITE_P(Stores, EventLogTest,
                         ::testing::Values(Kind::kMemory, Kind::kSqlite, Kind::kRedis),
                         [](const ::testing::TestParamInfo<Kind>& param) {
                           switch (param.param) {
                             case Kind::kMemory:
                               return "Memory";
                             case Kind::kSqlite:
                               return "Sqlite";
                             case Kind::kRedis:
                               break;
                           }
                           return "Redis";
                         });

// Verifies an empty log starts at sequence 1.
TEST_P(EventLogTest, EmptyLogStartsAtOne) {
  auto store = open();
  const EventLogState s = store->event_log_state();
  EXPECT_EQ(s.oldest_retained, 1u);
  EXPECT_EQ(s.next_sequence, 1u);
  EXPECT_THAT(store->read_events(0, 10), IsEmpty());
}

// Verifies writes' events get consecutive sequences in issue order, first_sequence names
// each write's first, a write without events gets 0, and events read back equal.
TEST_P(EventLogTest, ConsecutiveSequencesInIssueOrder) {
  auto store = open();
  const Binding a = binding("alice@acme.test", "a"), a2 = binding("alice@acme.test", "a2");
  const Binding b = binding("bob@acme.test", "b");
  Binding moved = a;
  moved.contact = "sip:a@198.51.100.9";
  std::vector<RegistrationEvent> first{event(RegistrationEventType::kRegistered, a),
                                       event(RegistrationEventType::kRegistered, a2)};
  RegistrationEvent replaced = event(RegistrationEventType::kReplaced, moved);
  replaced.previous = a;
  std::vector<RegistrationEvent> third{replaced,
                                       event(RegistrationEventType::kUnregistered, a2, "api")};

  const StoreResult r1 = write(*store, a.aor, {a, a2}, first);
  const StoreResult r2 = write(*store, b.aor, {b}, {});
  const StoreResult r3 = write(*store, a.aor, {moved}, third);
  ASSERT_TRUE(r1.ok && r2.ok && r3.ok);
  EXPECT_EQ(r1.first_sequence, 1u);
  EXPECT_EQ(r2.first_sequence, 0u) << "no event, no sequence";
  EXPECT_EQ(r3.first_sequence, 3u);

  std::vector<RegistrationEvent> expected = first;
  expected.insert(expected.end(), third.begin(), third.end());
  for (size_t i = 0; i < expected.size(); ++i) expected[i].sequence = i + 1;
  EXPECT_EQ(store->read_events(0, 100), expected);
  EXPECT_EQ(store->event_log_state().next_sequence, 5u);
  EXPECT_EQ(store->event_log_state().oldest_retained, 1u);
}

// Verifies read_events pages through the log: `after` is exclusive, `limit` bounds a page.
TEST_P(EventLogTest, ReadEventsPages) {
  auto store = open();
  for (int i = 0; i < 10; ++i) write_one(*store, "u" + std::to_string(i) + "@acme.test", "x");
  std::vector<uint64_t> all;
  for (uint64_t after = 0;;) {
    const std::vector<RegistrationEvent> page = store->read_events(after, 3);
    if (page.empty()) break;
    EXPECT_LE(page.size(), 3u);
    for (const RegistrationEvent& e : page) all.push_back(e.sequence);
    after = page.back().sequence;
  }
  EXPECT_EQ(all, (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  EXPECT_THAT(sequences(store->read_events(7, 100)), ElementsAre(8, 9, 10));
  EXPECT_THAT(store->read_events(10, 100), IsEmpty());
  EXPECT_THAT(store->read_events(0, 0), IsEmpty());
}

// Verifies retention by count keeps the newest max_events, as a contiguous range.
TEST_P(EventLogTest, RetentionByCount) {
  auto store = open({.max_events = 5, .max_age = seconds(0)});
  for (int i = 0; i < 12; ++i) write_one(*store, "c@acme.test", "c" + std::to_string(i));
  const EventLogState s = store->event_log_state();
  EXPECT_EQ(s.oldest_retained, 8u);
  EXPECT_EQ(s.next_sequence, 13u);
  EXPECT_THAT(sequences(store->read_events(0, 100)), ElementsAre(8, 9, 10, 11, 12));
  EXPECT_THAT(sequences(store->read_events(9, 100)), ElementsAre(10, 11, 12));
}

// Verifies retention by age drops the events older than max_age on the injected clock.
TEST_P(EventLogTest, RetentionByAge) {
  auto store = open({.max_events = 0, .max_age = seconds(60)});
  write_one(*store, "d@acme.test", "t0");  // 1 at t0
  clock_.advance(seconds(30));
  write_one(*store, "d@acme.test", "t30");  // 2 at t0+30
  clock_.advance(seconds(31));
  write_one(*store, "d@acme.test", "t61");  // 3 at t0+61: 1 is now 61 s old
  EXPECT_THAT(sequences(store->read_events(0, 100)), ElementsAre(2, 3));
  clock_.advance(seconds(60));
  write_one(*store, "d@acme.test", "t121");  // 4: 2 is 91 s old, 3 exactly 60 s
  EXPECT_THAT(sequences(store->read_events(0, 100)), ElementsAre(3, 4));
  EXPECT_EQ(store->event_log_state().oldest_retained, 3u);
}

// Verifies age retention removes only a prefix: an old event behind a younger one stays
// (the retained log never has holes).
TEST_P(EventLogTest, AgeRetentionTrimsOnlyAPrefix) {
  auto store = open({.max_events = 0, .max_age = seconds(60)});
  const Binding b = binding("e@acme.test", "e");
  RegistrationEvent young = event(RegistrationEventType::kRegistered, b);
  young.time += seconds(100);
  RegistrationEvent old = event(RegistrationEventType::kRefreshed, b);
  ASSERT_TRUE(write(*store, b.aor, {b}, {young, old}).ok);
  clock_.advance(seconds(90));
  write_one(*store, "f@acme.test", "f");
  EXPECT_THAT(sequences(store->read_events(0, 100)), ElementsAre(1, 2, 3));
}

// Verifies a write carrying an AUTH_FAILED event is refused and changes nothing.
TEST_P(EventLogTest, AuthFailedEventsAreRefused) {
  auto store = open();
  const Binding b = binding("g@acme.test", "g");
  const StoreResult r = write(*store, b.aor, {b}, {event(RegistrationEventType::kAuthFailed, b)});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_sequence, 0u);
  EXPECT_THAT(store->read_events(0, 10), IsEmpty());
  EXPECT_THAT(store->load_unexpired(clock_.wall_now()), IsEmpty());
  EXPECT_EQ(write_one(*store, b.aor, "g"), 1u) << "no sequence was used";
}

// Verifies readers paging through the log while a writer appends see consecutive
// sequences, each with the content written under it, and never beyond the log's state.
TEST_P(EventLogTest, ConcurrentReadsSeeConsistentPrefix) {
  auto store = open();
  constexpr int kWrites = 2000;
  std::atomic<bool> failed{false};
  std::thread writer([&] {
    for (int i = 0; i < kWrites; ++i) {
      const std::string aor = "w" + std::to_string(i % 50) + "@acme.test";
      const Binding b = binding(aor, "w" + std::to_string(i));
      store->replace_aor(aor, {b}, {event(RegistrationEventType::kRegistered, b)},
                         [&failed, i](const StoreResult& r) {
                           if (!r.ok || r.first_sequence != static_cast<uint64_t>(i) + 1)
                             failed = true;
                         });
    }
  });
  auto reader = [&] {
    uint64_t cursor = 0;
    while (cursor < kWrites && !failed) {
      const EventLogState before = store->event_log_state();
      const std::vector<RegistrationEvent> page = store->read_events(cursor, 97);
      for (const RegistrationEvent& e : page) {
        if (e.sequence != cursor + 1 ||
            e.binding.contact != "sip:w" + std::to_string(cursor) + "@192.0.2.7") {
          ADD_FAILURE() << "event " << e.sequence << " after " << cursor << ": "
                        << e.binding.contact;
          failed = true;
          return;
        }
        cursor = e.sequence;
      }
      if (store->event_log_state().next_sequence < before.next_sequence ||
          cursor >= store->event_log_state().next_sequence) {
        ADD_FAILURE() << "read " << cursor << " beyond the log's state";
        failed = true;
        return;
      }
    }
  };
  std::thread r1(reader), r2(reader);
  writer.join();
  r1.join();
  r2.join();
  store->flush();
  EXPECT_FALSE(failed);
  EXPECT_EQ(store->event_log_state().next_sequence, kWrites + 1u);
}

// Verifies a MemoryBindingStore without a clock ages events by the newest event's time
// (so events stamped by a test's ManualClock are not trimmed by the real date).
TEST(MemoryEventLog, WithoutAClockAgesByTheNewestEvent) {
  MemoryBindingStore store({.max_events = 0, .max_age = seconds(60)});
  sip::ManualClock clock;  // years away from the system clock, either way
  auto write_at = [&](const std::string& tag) {
    const Binding b = make_binding("m@acme.test", "sip:" + tag + "@192.0.2.1",
                                   clock.wall_now() + seconds(600));
    RegistrationEvent e;
    e.time = clock.wall_now();
    e.binding = b;
    store.replace_aor(b.aor, {b}, {e}, nullptr);
  };
  write_at("a");
  clock.advance(seconds(30));
  write_at("b");
  EXPECT_EQ(store.read_events(0, 10).size(), 2u);
  clock.advance(seconds(31));
  write_at("c");
  EXPECT_THAT(sequences(store.read_events(0, 10)), ElementsAre(2, 3));
}

}  // namespace
}  // namespace registrar
