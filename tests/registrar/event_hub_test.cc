// EventHub (registrar/event_hub.h): live fan-out, gap-free resume from the
// store's log (also while events keep coming, and across a restart),
// OUT_OF_RANGE, bounded queues, filters, live-only AUTH_FAILED events,
// watcher limits, wakeups and shutdown; polling shared events (one copy of a
// live event for every subscriber).
#include "registrar/event_hub.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <random>
#include <thread>

#include "binding_fixtures.h"
#include "registrar/location_service.h"
#include "registrar/store/memory_stores.h"
#include "registrar/store/sqlite_binding_store.h"
#include "sip/clock.h"
#include "temp_dir.h"

namespace registrar {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::make_binding;
using State = Subscription::State;
using Type = RegistrationEventType;

// Writes one event per write through a store and publishes it to a hub from
// the store's callback, as the LocationService does.
class Publisher {
 public:
  Publisher(BindingStore& store, EventHub& hub) : store_(store), hub_(hub) {}

  // Returns the event's sequence.
  uint64_t publish(Type type = Type::kRegistered, const std::string& realm = "acme.test") {
    const std::string aor = "u" + std::to_string(++n_ % 7) + "@" + realm;
    Binding b = make_binding(aor, "sip:" + std::to_string(n_) + "@192.0.2.1",
                             clock_.wall_now() + seconds(60));
    b.realm = realm;
    RegistrationEvent e;
    e.time = clock_.wall_now();  // real time: the stores' default retention is 24 h
    e.type = type;
    e.binding = b;
    std::promise<uint64_t> sequence;
    store_.replace_aor(aor, {b}, {e}, [&](const StoreResult& r) {
      EXPECT_TRUE(r.ok) << r.error;
      e.sequence = r.first_sequence;
      hub_.on_event(e);
      sequence.set_value(r.first_sequence);
    });
    return sequence.get_future().get();
  }
  void publish_n(int n) {
    for (int i = 0; i < n; ++i) publish();
  }

 private:
  BindingStore& store_;
  EventHub& hub_;
  sip::SystemClock clock_;
  int n_ = 0;
};

// A filter resuming after `sequence` (every type and realm).
EventFilter after(uint64_t sequence) {
  EventFilter f;
  f.since = sequence;
  return f;
}

// Polls until nothing is left; returns the sequences received and the last state.
std::vector<uint64_t> drain(Subscription& s, State* last = nullptr, size_t max = 64) {
  std::vector<uint64_t> out;
  for (;;) {
    std::vector<RegistrationEvent> batch;
    const State st = s.poll(batch, max);
    EXPECT_LE(batch.size(), max);
    for (const RegistrationEvent& e : batch) out.push_back(e.sequence);
    if (st != State::kEvents) {
      if (last != nullptr) *last = st;
      return out;
    }
  }
}

std::vector<uint64_t> range(uint64_t first, uint64_t last) {
  std::vector<uint64_t> out;
  for (uint64_t s = first; s <= last; ++s) out.push_back(s);
  return out;
}

// Verifies live events reach every subscriber, in order, once.
TEST(EventHub, LiveEventsReachEverySubscriberInOrder) {
  MemoryBindingStore store;
  EventHub hub(store);
  Publisher pub(store, hub);
  std::vector<std::unique_ptr<Subscription>> subs;
  for (int i = 0; i < 3; ++i) {
    SubscribeResult r = hub.subscribe({});
    ASSERT_TRUE(r.ok()) << r.message;
    subs.push_back(std::move(r.subscription));
  }
  pub.publish_n(5);
  for (auto& s : subs) {
    State last;
    EXPECT_EQ(drain(*s, &last, 2), range(1, 5));
    EXPECT_EQ(last, State::kEmpty);
    EXPECT_EQ(s->last_sequence(), 5u);
  }
  EXPECT_EQ(hub.last_sequence(), 5u);
  EXPECT_EQ(hub.subscription_count(), 3u);
}

// Verifies since=S delivers exactly S+1.. from the log (in chunks), then the live events.
TEST(EventHub, ResumeDeliversBacklogThenLive) {
  MemoryBindingStore store;
  EventHub hub(store, {.buffer = 16, .max_subscriptions = 10, .backlog_chunk = 2});
  Publisher pub(store, hub);
  pub.publish_n(10);
  SubscribeResult r = hub.subscribe(after(4));
  ASSERT_TRUE(r.ok()) << r.message;
  pub.publish_n(2);  // 11, 12: live
  EXPECT_EQ(drain(*r.subscription, nullptr, 3), range(5, 12));
  pub.publish();
  EXPECT_EQ(drain(*r.subscription), range(13, 13));
  EXPECT_EQ(r.subscription->last_sequence(), 13u);
}

// Verifies resuming at random points while another thread keeps publishing (20,000
// events through a LocationService) always yields consecutive sequences — no gap, no
// duplicate — across the switch from the log to the live queue, and after falling
// behind and resuming from the last sequence received.
TEST(EventHub, ResumeWhilePublishingIsGapFree) {
  sip::ManualClock clock;
  MemoryBindingStore store({.max_events = 100'000, .max_age = seconds(0)}, &clock);
  LocationService location(store, clock, LocationOptions{.shards = 8});
  EventHub hub(store, {.buffer = 256, .max_subscriptions = 16, .backlog_chunk = 64});
  location.add_observer(&hub);

  constexpr int kEvents = 20'000;
  std::atomic<bool> published{false};
  std::thread publisher([&] {
    for (int i = 0; i < kEvents; ++i) {
      const std::string aor = "p" + std::to_string(i % 500) + "@acme.test";
      Binding b = make_binding(aor, "sip:p@192.0.2.1", clock.wall_now() + seconds(60 + i));
      location.update(
          aor,
          [&](std::vector<Binding>& set, UpdateEvents& events) -> MutationStatus {
            if (set.empty()) {
              set.push_back(b);
              events.added(b);
            } else {
              set[0] = b;
              events.refreshed(b);
            }
            return {};
          },
          nullptr);
    }
    published = true;
  });

  std::atomic<int> resumes{0}, fell_behind{0};
  auto watcher = [&](unsigned seed) {
    std::mt19937 random(seed);
    uint64_t received = 0;  // checked across resumes after falling behind
    while (!published || received < kEvents) {
      const uint64_t newest = hub.last_sequence();
      uint64_t since = std::uniform_int_distribution<uint64_t>(newest > 3000 ? newest - 3000 : 0,
                                                               newest)(random);
      if (since == 0) since = 1;  // 0 means "every retained": tested elsewhere
      if (since > newest) since = newest;
      SubscribeResult r = hub.subscribe(after(since));
      if (!r.ok()) {
        ADD_FAILURE() << r.message;
        return;
      }
      ++resumes;
      uint64_t expect = since + 1;
      const uint64_t stop_after = since + std::uniform_int_distribution<uint64_t>(1, 4000)(random);
      for (;;) {
        std::vector<RegistrationEvent> batch;
        const State st = r.subscription->wait_poll(batch, 100, milliseconds(50));
        for (const RegistrationEvent& e : batch) {
          if (e.sequence != expect) {
            ADD_FAILURE() << "after resuming at " << since << ": got " << e.sequence
                          << ", expected " << expect;
            return;
          }
          ++expect;
        }
        received = std::max(received, expect - 1);
        if (st == State::kEnded) {
          ASSERT_EQ(r.subscription->error(), WatchError::kFellBehind) << r.subscription->message();
          ++fell_behind;
          // Resume where it stopped: the contiguity check continues.
          since = r.subscription->last_sequence() != 0 ? r.subscription->last_sequence() : since;
          ASSERT_EQ(since, expect - 1);
          r = hub.subscribe(after(since));
          ASSERT_TRUE(r.ok()) << r.message;
          continue;
        }
        if (expect - 1 >= stop_after || (published && expect - 1 >= kEvents)) break;
        if (st == State::kEmpty && published && hub.last_sequence() == expect - 1) break;
      }
    }
  };
  std::thread w1(watcher, 1u), w2(watcher, 2u), w3(watcher, 3u);
  publisher.join();
  w1.join();
  w2.join();
  w3.join();
  EXPECT_EQ(hub.last_sequence(), static_cast<uint64_t>(kEvents));
  EXPECT_GT(resumes.load(), 3);
  RecordProperty("resumes", resumes.load());
  RecordProperty("fell_behind", fell_behind.load());

  SubscribeResult all = hub.subscribe(after(0));
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(drain(*all.subscription, nullptr, 1000), range(1, kEvents));
}

// Verifies since below the oldest retained event or above the newest is OUT_OF_RANGE
// with both bounds and a readable message; the edges and since=0 are accepted.
TEST(EventHub, OutOfRangeBelowOldestAndAboveNewest) {
  MemoryBindingStore store({.max_events = 5, .max_age = seconds(0)});
  EventHub hub(store);
  Publisher pub(store, hub);
  pub.publish_n(12);  // retained: 8..12
  for (uint64_t since : {3u, 6u}) {
    SubscribeResult r = hub.subscribe(after(since));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error, WatchError::kOutOfRange);
    EXPECT_EQ(r.oldest_sequence, 8u);
    EXPECT_EQ(r.newest_sequence, 12u);
    EXPECT_THAT(r.message, HasSubstr("is older than the oldest retained event (8)"));
  }
  SubscribeResult newer = hub.subscribe(after(13));
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.error, WatchError::kOutOfRange);
  EXPECT_THAT(newer.message, HasSubstr("since_sequence 13 is newer than the newest event (12)"));
  EXPECT_EQ(hub.subscription_count(), 0u);

  SubscribeResult edge = hub.subscribe(after(7));
  ASSERT_TRUE(edge.ok()) << edge.message;
  EXPECT_EQ(drain(*edge.subscription), range(8, 12));
  SubscribeResult newest = hub.subscribe(after(12));
  ASSERT_TRUE(newest.ok());
  EXPECT_THAT(drain(*newest.subscription), IsEmpty());
  SubscribeResult everything = hub.subscribe(after(0));
  ASSERT_TRUE(everything.ok());
  EXPECT_EQ(drain(*everything.subscription), range(8, 12));
}

// Verifies events trimmed while a watcher is still reading its backlog end it with
// OUT_OF_RANGE instead of a silent gap.
TEST(EventHub, TrimDuringBacklogIsOutOfRange) {
  MemoryBindingStore store({.max_events = 5, .max_age = seconds(0)});
  EventHub hub(store, {.buffer = 64, .max_subscriptions = 10, .backlog_chunk = 2});
  Publisher pub(store, hub);
  pub.publish_n(5);
  SubscribeResult r = hub.subscribe(after(1));
  ASSERT_TRUE(r.ok());
  std::vector<RegistrationEvent> batch;
  ASSERT_EQ(r.subscription->poll(batch, 1), State::kEvents);  // reads 2, 3; delivers 2
  pub.publish_n(10);                                          // the log is now 11..15
  std::vector<uint64_t> got = drain(*r.subscription);
  EXPECT_EQ(got, range(3, 3)) << "what was read before the trim is fine";
  EXPECT_EQ(r.subscription->poll(batch, 10), State::kEnded);
  EXPECT_EQ(r.subscription->error(), WatchError::kOutOfRange);
  EXPECT_THAT(r.subscription->message(), HasSubstr("were trimmed"));
  EXPECT_EQ(hub.subscription_count(), 0u);
}

// Verifies a watcher that does not keep up is ended with FELL_BEHIND naming its resume
// point, the publisher never waits for it, and resuming from there loses nothing.
TEST(EventHub, FellBehindWithATinyBuffer) {
  MemoryBindingStore store;
  EventHub hub(store, {.buffer = 4, .max_subscriptions = 10, .backlog_chunk = 256});
  Publisher pub(store, hub);
  pub.publish_n(3);
  SubscribeResult r = hub.subscribe({});
  ASSERT_TRUE(r.ok());
  pub.publish_n(2);
  EXPECT_EQ(drain(*r.subscription), range(4, 5));
  pub.publish_n(5);  // 6..10: one more than the buffer
  std::vector<RegistrationEvent> batch;
  EXPECT_EQ(r.subscription->poll(batch, 100), State::kEnded);
  EXPECT_THAT(batch, IsEmpty());
  EXPECT_EQ(r.subscription->error(), WatchError::kFellBehind);
  EXPECT_EQ(r.subscription->message(), "watcher fell behind: 4 events queued; resume from 5");
  EXPECT_EQ(r.subscription->last_sequence(), 5u);
  EXPECT_EQ(hub.subscription_count(), 0u);
  SubscribeResult again = hub.subscribe(after(r.subscription->last_sequence()));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(drain(*again.subscription), range(6, 10));
}

// Verifies poll() into SharedEvents hands every subscriber the same copy of a live event
// (backlog events are the subscription's own), with the copying poll's order, resume
// point and end.
TEST(EventHub, SharedPollHandsOutOneCopyPerLiveEvent) {
  MemoryBindingStore store;
  EventHub hub(store, {.buffer = 4, .max_subscriptions = 10, .backlog_chunk = 2});
  Publisher pub(store, hub);
  pub.publish_n(3);
  SubscribeResult a = hub.subscribe({});
  SubscribeResult b = hub.subscribe(after(1));
  SubscribeResult copying = hub.subscribe({});
  ASSERT_TRUE(a.ok() && b.ok() && copying.ok());
  pub.publish_n(2);  // 4, 5

  std::vector<SharedEvent> from_a, from_b;
  EXPECT_EQ(a.subscription->poll(from_a, 10), State::kEvents);
  while (b.subscription->poll(from_b, 1) == State::kEvents) {
  }
  std::vector<uint64_t> seq_a, seq_b;
  for (const SharedEvent& e : from_a) seq_a.push_back(e->sequence);
  for (const SharedEvent& e : from_b) seq_b.push_back(e->sequence);
  EXPECT_EQ(seq_a, range(4, 5));
  EXPECT_EQ(seq_b, range(2, 5)) << "backlog 2, 3 from the log, then live 4, 5";
  ASSERT_EQ(from_b.size(), 4u);
  EXPECT_EQ(from_a[0].get(), from_b[2].get()) << "one copy of live event 4 for both";
  EXPECT_EQ(from_a[1].get(), from_b[3].get());
  EXPECT_EQ(a.subscription->last_sequence(), 5u);
  EXPECT_EQ(b.subscription->last_sequence(), 5u);
  std::vector<RegistrationEvent> copies;
  EXPECT_EQ(copying.subscription->poll(copies, 10), State::kEvents);
  ASSERT_EQ(copies.size(), 2u);
  EXPECT_EQ(copies[0], *from_a[0]) << "the copying poll delivers the same event";

  // Appends after what `out` already holds; ends like the copying poll.
  std::vector<SharedEvent> more = from_a;
  EXPECT_EQ(a.subscription->poll(more, 10), State::kEmpty);
  EXPECT_EQ(more.size(), 2u);
  pub.publish_n(5);  // 6..10: one more than the buffer
  EXPECT_EQ(a.subscription->poll(more, 10), State::kEnded);
  EXPECT_EQ(more.size(), 2u) << "nothing appended once ended";
  EXPECT_EQ(a.subscription->error(), WatchError::kFellBehind);
  EXPECT_EQ(a.subscription->last_sequence(), 5u);
}

// Verifies a resume point survives a restart: a new hub on the reopened SQLite store
// delivers the old events from the log, then new ones live.
TEST(EventHub, ResumeAcrossRestart) {
  testing::TempDir dir;
  SqliteBindingStoreOptions options;
  options.database.synchronous = SqliteSync::kOff;
  const std::string path = database_path(dir.path());
  {
    auto opened = SqliteBindingStore::open(path, options);
    ASSERT_TRUE(opened.ok()) << opened.error;
    EventHub hub(*opened.store);
    Publisher(*opened.store, hub).publish_n(5);
  }
  auto opened = SqliteBindingStore::open(path, options);
  ASSERT_TRUE(opened.ok()) << opened.error;
  EventHub hub(*opened.store);
  EXPECT_EQ(hub.last_sequence(), 5u);
  SubscribeResult r = hub.subscribe(after(2));
  ASSERT_TRUE(r.ok()) << r.message;
  Publisher pub(*opened.store, hub);
  EXPECT_EQ(pub.publish(), 6u);
  EXPECT_EQ(drain(*r.subscription), range(3, 6));
  EXPECT_FALSE(hub.subscribe(after(7)).ok());
}

// Verifies realm (case-insensitive) and type filters apply to the backlog and the live
// events alike.
TEST(EventHub, FiltersApplyToBacklogAndLive) {
  MemoryBindingStore store;
  EventHub hub(store);
  Publisher pub(store, hub);
  pub.publish(Type::kRegistered, "other.test");  // 1
  pub.publish(Type::kRefreshed, "Other.Test");   // 2 ✓
  pub.publish(Type::kRefreshed, "acme.test");    // 3
  pub.publish(Type::kExpired, "other.test");     // 4 ✓
  SubscribeResult r = hub.subscribe(
      {.since = 0, .realm = "OTHER.test", .types = {Type::kRefreshed, Type::kExpired}});
  ASSERT_TRUE(r.ok());
  pub.publish(Type::kRefreshed, "other.test");     // 5 ✓
  pub.publish(Type::kUnregistered, "other.test");  // 6
  pub.publish(Type::kRefreshed, "acme.test");      // 7
  EXPECT_THAT(drain(*r.subscription), ElementsAre(2, 4, 5));
  EXPECT_EQ(r.subscription->last_sequence(), 5u);
}

// Verifies AUTH_FAILED events go to live watchers only, after the events before them,
// stamped with the last published sequence, and never reach the store's log.
TEST(EventHub, AuthFailuresAreStampedLiveAndNotStored) {
  MemoryBindingStore store;
  EventHub hub(store);
  Publisher pub(store, hub);
  pub.publish_n(3);
  SubscribeResult resuming = hub.subscribe(after(1));
  SubscribeResult live = hub.subscribe({});
  SubscribeResult registered_only =
      hub.subscribe({.since = std::nullopt, .realm = "", .types = {Type::kRegistered}});
  ASSERT_TRUE(resuming.ok() && live.ok() && registered_only.ok());

  RegistrationEvent failure;
  failure.type = Type::kAuthFailed;
  failure.binding.realm = "acme.test";
  failure.binding.username = "mallory";
  failure.reason = "wrong password or unknown user";
  hub.on_event(failure);

  std::vector<RegistrationEvent> got;
  while (resuming.subscription->poll(got, 10) == State::kEvents) {
  }
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].sequence, 2u);
  EXPECT_EQ(got[1].sequence, 3u);
  EXPECT_EQ(got[2].type, Type::kAuthFailed);
  EXPECT_EQ(got[2].sequence, 3u) << "the latest stored event's";
  EXPECT_EQ(got[2].binding.username, "mallory");
  got.clear();
  EXPECT_EQ(live.subscription->poll(got, 10), State::kEvents);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].sequence, 3u);
  EXPECT_THAT(drain(*registered_only.subscription), IsEmpty());

  EXPECT_EQ(store.event_log_state().next_sequence, 4u);
  EXPECT_EQ(hub.last_sequence(), 3u);
  SubscribeResult later = hub.subscribe(after(0));
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(drain(*later.subscription), range(1, 3)) << "not in the log";
}

// Verifies subscriptions beyond max_subscriptions are refused until one leaves.
TEST(EventHub, TooManyWatchers) {
  MemoryBindingStore store;
  EventHub hub(store, {.buffer = 16, .max_subscriptions = 2, .backlog_chunk = 16});
  SubscribeResult a = hub.subscribe({}), b = hub.subscribe(after(0));
  ASSERT_TRUE(a.ok() && b.ok());
  SubscribeResult c = hub.subscribe({});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error, WatchError::kTooManyWatchers);
  EXPECT_THAT(c.message, HasSubstr("too many watchers (2)"));
  a.subscription->cancel();
  EXPECT_EQ(hub.subscription_count(), 1u);
  std::vector<RegistrationEvent> batch;
  EXPECT_EQ(a.subscription->poll(batch, 1), State::kEnded);
  EXPECT_EQ(a.subscription->error(), WatchError::kClosed);
  EXPECT_TRUE(hub.subscribe({}).ok());
  b.subscription.reset();  // the destructor detaches too
  EXPECT_EQ(hub.subscription_count(), 0u) << "the third one went with its result";
}

// Verifies the wakeup runs once after each empty poll when something arrives, not before.
TEST(EventHub, WakeupFollowsAnEmptyPoll) {
  MemoryBindingStore store;
  EventHub hub(store);
  Publisher pub(store, hub);
  SubscribeResult r = hub.subscribe({});
  ASSERT_TRUE(r.ok());
  std::atomic<int> wakeups{0};
  r.subscription->set_wakeup([&] { ++wakeups; });
  pub.publish();
  EXPECT_EQ(wakeups.load(), 0) << "never polled empty";
  EXPECT_EQ(drain(*r.subscription), range(1, 1));
  pub.publish_n(3);
  EXPECT_EQ(wakeups.load(), 1);
  EXPECT_EQ(drain(*r.subscription), range(2, 4));
  pub.publish();
  EXPECT_EQ(wakeups.load(), 2);
}

// Verifies wait_poll returns as soon as an event arrives, and kEmpty after its timeout.
TEST(EventHub, WaitPollWakesOrTimesOut) {
  MemoryBindingStore store;
  EventHub hub(store);
  Publisher pub(store, hub);
  SubscribeResult r = hub.subscribe({});
  ASSERT_TRUE(r.ok());
  std::vector<RegistrationEvent> batch;
  EXPECT_EQ(r.subscription->wait_poll(batch, 10, milliseconds(5)), State::kEmpty);
  std::thread later([&] { pub.publish(); });  // before or while wait_poll waits
  EXPECT_EQ(r.subscription->wait_poll(batch, 10, seconds(30)), State::kEvents);
  later.join();
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0].sequence, 1u);
}

// Verifies destroying the hub ends every subscription with kClosed and wakes waiting
// consumers; the subscriptions stay safe to use and destroy afterwards.
TEST(EventHub, DestructorEndsSubscriptionsWithClosed) {
  MemoryBindingStore store;
  auto hub = std::make_unique<EventHub>(store);
  Publisher(store, *hub).publish_n(3);
  SubscribeResult waiting = hub->subscribe({});
  SubscribeResult backlog = hub->subscribe(after(0));
  ASSERT_TRUE(waiting.ok() && backlog.ok());
  std::atomic<int> wakeups{0};
  waiting.subscription->set_wakeup([&] { ++wakeups; });
  std::vector<RegistrationEvent> batch;
  ASSERT_EQ(waiting.subscription->poll(batch, 1), State::kEmpty);
  hub.reset();
  EXPECT_EQ(wakeups.load(), 1);
  EXPECT_EQ(waiting.subscription->poll(batch, 1), State::kEnded);
  EXPECT_EQ(waiting.subscription->error(), WatchError::kClosed);
  EXPECT_EQ(backlog.subscription->poll(batch, 1), State::kEnded) << "no store read after";
  EXPECT_EQ(backlog.subscription->error(), WatchError::kClosed);
  EXPECT_THAT(batch, IsEmpty());
}

// A store whose log reads can be made to fail (return nothing).
class FlakyReadStore final : public BindingStore {
 public:
  void replace_aor(std::string aor, std::vector<Binding> bindings,
                   std::vector<RegistrationEvent> events,
                   std::function<void(const StoreResult&)> done) override {
    inner_.replace_aor(std::move(aor), std::move(bindings), std::move(events), std::move(done));
  }
  std::vector<RegistrationEvent> read_events(uint64_t after, size_t limit) override {
    if (fail_reads) return {};
    return inner_.read_events(after, limit);
  }
  EventLogState event_log_state() override { return inner_.event_log_state(); }
  std::vector<Binding> load_unexpired(WallTime now) override { return inner_.load_unexpired(now); }
  size_t purge_expired(WallTime now) override { return inner_.purge_expired(now); }
  void flush() override {}

  std::atomic<bool> fail_reads{false};

 private:
  MemoryBindingStore inner_;
};

// Verifies a backlog read that fails although nothing was trimmed ends the watcher with
// kStoreFailed (not a misleading OUT_OF_RANGE).
TEST(EventHub, FailedLogReadIsStoreFailed) {
  FlakyReadStore store;
  EventHub hub(store);
  Publisher(store, hub).publish_n(3);
  SubscribeResult r = hub.subscribe(after(1));
  ASSERT_TRUE(r.ok());
  store.fail_reads = true;
  std::vector<RegistrationEvent> batch;
  EXPECT_EQ(r.subscription->poll(batch, 10), State::kEnded);
  EXPECT_EQ(r.subscription->error(), WatchError::kStoreFailed);
  EXPECT_THAT(r.subscription->message(), HasSubstr("resume from 1"));
}

}  // namespace
}  // namespace registrar
