// tests/registrar/redis_replicas_test.cc — two replicas (each its own
// RedisBindingStore, LocationService, EventHub and RedisEventTailer, as two
// switchboard processes have) on one real redis-server: what one writes the
// other sees, both see one event order, and two writers of one AOR lose
// nothing (docs/scale-out.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "registrar/event_hub.h"
#include "registrar/location_service.h"
#include "registrar/store/redis/redis_binding_store.h"
#include "registrar/store/redis/redis_event_tailer.h"
#include "sip/clock.h"
#include "binding_fixtures.h"
#include "redis_server.h"

namespace registrar {
namespace {

using namespace std::chrono_literals;
using testing::RedisServer;

// Polls `pred` for up to `limit`.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = 5000ms) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

// One switchboard process's registrar state on the shared Redis.
struct Replica {
  std::string name;
  std::unique_ptr<RedisBindingStore> store;
  std::unique_ptr<EventHub> hub;
  std::unique_ptr<LocationService> location;
  std::unique_ptr<RedisEventTailer> tailer;

  ~Replica() {
    if (tailer) tailer->stop();
    if (store) store->flush();
  }
};

class RedisReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServer::available()) GTEST_SKIP() << RedisServer::kNotInstalled;
    ASSERT_TRUE(redis_.start()) << redis_.error();
  }

  // `follow`: start its tailer (a replica without one never hears of the
  // other's writes: its cache goes stale, which conflicts must catch).
  std::unique_ptr<Replica> replica(const std::string& name, bool follow = true) {
    auto r = std::make_unique<Replica>();
    r->name = name;
    RedisBindingStoreOptions o;
    o.clock = &clock_;
    // The manual clock's wall time is in the past: keep keys alive anyway.
    o.expiry_grace = std::chrono::hours(24 * 3650);
    auto opened = RedisBindingStore::open(redis_.url(), o);
    EXPECT_TRUE(opened.ok()) << opened.error;
    if (!opened.ok()) return nullptr;
    r->store = std::move(opened.store);
    r->hub = std::make_unique<EventHub>(*r->store);
    r->location = std::make_unique<LocationService>(*r->store, clock_,
                                                    LocationOptions{.replica = name});
    r->location->add_observer(r->hub.get());
    const uint64_t from = r->hub->last_sequence();
    r->location->load();
    if (follow) {
      RedisEventTailerOptions t;
      t.block = 200ms;
      t.clock = &clock_;
      r->tailer = std::make_unique<RedisEventTailer>(redis_.url(), *r->store, *r->location, t);
      r->tailer->start(from);
    }
    return r;
  }

  Binding binding(const std::string& aor, const std::string& tag, const std::string& replica) {
    Binding b = testing::make_binding(aor, "sip:" + tag + "@192.0.2.7",
                                      clock_.wall_now() + std::chrono::seconds(3600));
    b.replica = replica;
    return b;
  }

  // REGISTER-like: adds `b` (or refreshes the binding with its contact);
  // waits for the store's verdict.
  UpdateResult add(Replica& r, const Binding& b) {
    auto done = std::make_shared<std::promise<UpdateResult>>();
    auto result = done->get_future();
    r.location->update(
        b.aor,
        [b](std::vector<Binding>& bindings, UpdateEvents& events) {
          auto it = std::find_if(bindings.begin(), bindings.end(),
                                 [&](const Binding& x) { return x.contact == b.contact; });
          if (it != bindings.end()) {
            *it = b;
            events.refreshed(b);
          } else {
            bindings.push_back(b);
            events.added(b);
          }
          return MutationStatus{};
        },
        [done](const UpdateResult& u) { done->set_value(u); });
    if (result.wait_for(10s) != std::future_status::ready) {
      ADD_FAILURE() << "no verdict for " << b.aor;
      return UpdateResult{.status = 999, .reason = "timeout", .bindings = {}, .detail = {}};
    }
    return result.get();
  }

  static std::vector<std::string> contacts(const std::vector<Binding>& bindings) {
    std::vector<std::string> out;
    for (const Binding& b : bindings) out.push_back(b.contact);
    std::sort(out.begin(), out.end());
    return out;
  }

  // Every event the hub has from the start, up to `count` (waits for them).
  static std::vector<RegistrationEvent> events(Replica& r, size_t count) {
    auto sub = r.hub->subscribe(EventFilter{.since = 0, .realm = {}, .types = {}});
    EXPECT_TRUE(sub.ok()) << sub.message;
    std::vector<RegistrationEvent> out;
    if (!sub.ok()) return out;
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (out.size() < count && std::chrono::steady_clock::now() < until) {
      if (sub.subscription->wait_poll(out, count - out.size(), 100ms) ==
          Subscription::State::kEnded) {
        break;
      }
    }
    return out;
  }

  sip::ManualClock clock_;
  RedisServer redis_;
};

// A device registers through A; B's cache has its binding (with the replica
// holding its flow) within the tail's latency, and so does a new replica C
// that starts afterwards (from Redis, at load).
TEST_F(RedisReplicasTest, RegisteredThroughAListedThroughB) {
  auto a = replica("a");
  auto b = replica("b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(add(*a, binding("alice@acme.test", "alice", "a")).ok());
  ASSERT_TRUE(eventually([&] { return b->location->lookup("alice@acme.test").size() == 1; }));
  const Binding seen = b->location->lookup("alice@acme.test")[0];
  EXPECT_EQ(seen.contact, "sip:alice@192.0.2.7");
  EXPECT_EQ(seen.replica, "a");
  auto c = replica("c");
  ASSERT_TRUE(c);
  EXPECT_EQ(contacts(c->location->lookup("alice@acme.test")),
            std::vector<std::string>{"sip:alice@192.0.2.7"});

  // Unregistered through B: gone at A too.
  ASSERT_TRUE(b->location->remove("alice@acme.test", "sip:alice@192.0.2.7"));
  EXPECT_TRUE(eventually([&] { return a->location->lookup("alice@acme.test").empty(); }));
}

// Connection ids are per process: another replica's binding on its
// connection 256 is not ours, and ours on our connection 256 is found when
// that connection closes (only ours goes).
TEST_F(RedisReplicasTest, ConnectionIdsNameOnlyOurOwnConnections) {
  auto a = replica("a");
  auto b = replica("b");
  ASSERT_TRUE(a && b);
  Binding at_b = binding("bob@acme.test", "desk", "b");
  at_b.transport = "tcp";
  at_b.connection_id = 256;
  ASSERT_TRUE(add(*b, at_b).ok());
  ASSERT_TRUE(eventually([&] { return a->location->lookup("bob@acme.test").size() == 1; }));
  EXPECT_EQ(a->location->remove_connection(256), 0u) << "B's connection, not ours";
  Binding at_a = binding("bob@acme.test", "mobile", "a");
  at_a.transport = "tcp";
  at_a.connection_id = 256;
  ASSERT_TRUE(add(*a, at_a).ok());
  EXPECT_EQ(a->location->remove_connection(256), 1u);
  a->store->flush();
  EXPECT_TRUE(eventually([&] {
    auto stored = a->store->read_aor("bob@acme.test");
    return stored && contacts(stored->bindings) == std::vector<std::string>{"sip:desk@192.0.2.7"};
  }));
}

// Watchers on A and on B see the same events with the same sequences, in
// the log's order, whichever replica wrote them.
TEST_F(RedisReplicasTest, BothReplicasDeliverOneOrder) {
  auto a = replica("a");
  auto b = replica("b");
  ASSERT_TRUE(a && b);
  for (int i = 0; i < 6; ++i) {
    Replica& writer = i % 2 == 0 ? *a : *b;
    const std::string aor = "user" + std::to_string(i) + "@acme.test";
    ASSERT_TRUE(add(writer, binding(aor, "u" + std::to_string(i), writer.name)).ok());
  }
  const auto at_a = events(*a, 6);
  const auto at_b = events(*b, 6);
  ASSERT_EQ(at_a.size(), 6u);
  ASSERT_EQ(at_b.size(), 6u);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(at_a[i].sequence, i + 1);
    EXPECT_EQ(at_b[i].sequence, at_a[i].sequence);
    EXPECT_EQ(at_b[i].binding.aor, at_a[i].binding.aor);
    EXPECT_EQ(at_b[i].type, RegistrationEventType::kRegistered);
    EXPECT_EQ(at_a[i].binding.aor, "user" + std::to_string(i) + "@acme.test");
  }
  // Live watchers too, with nothing delivered twice.
  EXPECT_TRUE(eventually([&] { return a->hub->last_sequence() == 6 && b->hub->last_sequence() == 6; }));
}

// A replica whose cache is stale (it does not follow the log) adds a contact
// to an AOR the other replica changed: its write is refused, it re-reads the
// AOR and applies its change on top — both contacts are stored.
TEST_F(RedisReplicasTest, StaleWriterRereadsAndKeepsTheOtherContact) {
  auto a = replica("a");
  auto blind = replica("blind", /*follow=*/false);
  ASSERT_TRUE(a && blind);
  ASSERT_TRUE(add(*a, binding("bob@acme.test", "desk", "a")).ok());
  ASSERT_TRUE(blind->location->lookup("bob@acme.test").empty());  // stale
  const UpdateResult r = add(*blind, binding("bob@acme.test", "mobile", "blind"));
  ASSERT_TRUE(r.ok()) << r.detail;
  EXPECT_EQ(contacts(r.bindings),
            (std::vector<std::string>{"sip:desk@192.0.2.7", "sip:mobile@192.0.2.7"}));
  EXPECT_GE(blind->location->stats().conflicts, 1u);
  auto stored = blind->store->read_aor("bob@acme.test");
  ASSERT_TRUE(stored);
  EXPECT_EQ(contacts(stored->bindings),
            (std::vector<std::string>{"sip:desk@192.0.2.7", "sip:mobile@192.0.2.7"}));
  EXPECT_TRUE(eventually([&] { return a->location->lookup("bob@acme.test").size() == 2; }));
}

// Two replicas write the same AORs at the same moment (a phone whose
// REGISTERs a load balancer now sends elsewhere, many times over): every
// acknowledged contact is stored, and both caches end as Redis is.
TEST_F(RedisReplicasTest, ConcurrentWritersOfOneAorLoseNothing) {
  auto a = replica("a");
  auto b = replica("b");
  ASSERT_TRUE(a && b);
  constexpr int kAors = 40;
  auto writer = [&](Replica& r, const std::string& tag) {
    std::vector<std::shared_ptr<std::promise<UpdateResult>>> verdicts;
    for (int i = 0; i < kAors; ++i) {
      auto p = std::make_shared<std::promise<UpdateResult>>();
      verdicts.push_back(p);
      const Binding bd = binding("shared" + std::to_string(i) + "@acme.test", tag, r.name);
      r.location->update(
          bd.aor,
          [bd](std::vector<Binding>& bindings, UpdateEvents& events) {
            bindings.push_back(bd);
            events.added(bd);
            return MutationStatus{};
          },
          [p](const UpdateResult& u) { p->set_value(u); });
    }
    int ok = 0;
    for (auto& p : verdicts) {
      auto f = p->get_future();
      if (f.wait_for(10s) == std::future_status::ready && f.get().ok()) ++ok;
    }
    return ok;
  };
  auto from_a = std::async(std::launch::async, writer, std::ref(*a), "a-phone");
  auto from_b = std::async(std::launch::async, writer, std::ref(*b), "b-phone");
  EXPECT_EQ(from_a.get(), kAors);
  EXPECT_EQ(from_b.get(), kAors);
  const std::vector<std::string> both{"sip:a-phone@192.0.2.7", "sip:b-phone@192.0.2.7"};
  for (int i = 0; i < kAors; ++i) {
    const std::string aor = "shared" + std::to_string(i) + "@acme.test";
    auto stored = a->store->read_aor(aor);
    ASSERT_TRUE(stored);
    EXPECT_EQ(contacts(stored->bindings), both) << aor;
    EXPECT_TRUE(eventually([&] { return contacts(a->location->lookup(aor)) == both; })) << aor;
    EXPECT_TRUE(eventually([&] { return contacts(b->location->lookup(aor)) == both; })) << aor;
  }
}

// Both replicas reap the same expired binding: the EXPIRED event is written
// once (the second writer's guarded write conflicts and finds nothing left).
TEST_F(RedisReplicasTest, ExpiryIsReportedOnce) {
  auto a = replica("a");
  auto b = replica("b");
  ASSERT_TRUE(a && b);
  Binding short_lived = binding("carol@acme.test", "carol", "a");
  short_lived.expires_at = clock_.wall_now() + std::chrono::seconds(60);
  ASSERT_TRUE(add(*a, short_lived).ok());
  ASSERT_TRUE(eventually([&] { return b->location->lookup("carol@acme.test").size() == 1; }));
  clock_.advance(std::chrono::seconds(61));
  auto reap_a = std::async(std::launch::async, [&] { return a->location->expire_due(); });
  auto reap_b = std::async(std::launch::async, [&] { return b->location->expire_due(); });
  reap_a.get();
  reap_b.get();
  ASSERT_TRUE(eventually([&] { return a->hub->last_sequence() >= 2 && b->hub->last_sequence() >= 2; }));
  a->store->flush();
  b->store->flush();
  std::this_thread::sleep_for(300ms);  // a second EXPIRED would have landed by now
  const auto log = a->store->read_events(0, 100);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].type, RegistrationEventType::kRegistered);
  EXPECT_EQ(log[1].type, RegistrationEventType::kExpired);
  EXPECT_EQ(log[1].binding.contact, "sip:carol@192.0.2.7");
  auto stored = a->store->read_aor("carol@acme.test");
  ASSERT_TRUE(stored);
  EXPECT_TRUE(stored->bindings.empty());
}

// Redis goes away: the tail reports unhealthy (readiness), and once Redis is
// back (empty: no persistence here) it resynchronises and follows new writes.
TEST_F(RedisReplicasTest, TailSurvivesRedisRestart) {
  auto a = replica("a");
  auto b = replica("b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(add(*a, binding("dave@acme.test", "dave", "a")).ok());
  ASSERT_TRUE(eventually([&] { return b->location->lookup("dave@acme.test").size() == 1; }));
  redis_.stop();
  EXPECT_TRUE(eventually([&] { return !b->tailer->healthy(); }, 5000ms));
  ASSERT_TRUE(redis_.start()) << redis_.error();
  EXPECT_TRUE(eventually([&] { return b->tailer->healthy(); }, 5000ms));
  // Redis lost everything; a new registration through A still reaches B.
  UpdateResult r;
  ASSERT_TRUE(eventually(
      [&] {
        r = add(*a, binding("erin@acme.test", "erin", "a"));
        return r.ok();
      },
      5000ms))
      << r.detail;
  EXPECT_TRUE(eventually([&] { return b->location->lookup("erin@acme.test").size() == 1; }));
}

}  // namespace
}  // namespace registrar
