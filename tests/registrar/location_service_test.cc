// LocationService (registrar/location_service.h) on a ManualClock and a fake
// store whose commits the test triggers: events after commit, expiry exactly
// on time, stale heap entries, connection loss, the binding bound, and
// concurrent updates against the real SQLite store.
#include "registrar/location_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "binding_fixtures.h"
#include "fake_binding_store.h"
#include "registrar/store/sqlite_binding_store.h"
#include "sip/lex.h"
#include "temp_dir.h"

namespace registrar {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;
using testing::FakeBindingStore;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::make_binding;
using ::testing::SizeIs;

// Records every event, thread-safely: as text ("added <contact>", "removed
// <contact>", …) for readable expectations, and whole.
class RecordingObserver : public RegistrationObserver {
 public:
  void on_event(const RegistrationEvent& e) override {
    std::string text;
    switch (e.type) {
      case RegistrationEventType::kRegistered:
        text = "added " + e.binding.contact;
        break;
      case RegistrationEventType::kRefreshed:
        text = "refreshed " + e.binding.contact;
        break;
      case RegistrationEventType::kReplaced:
        text = "replaced " + e.previous.contact + " -> " + e.binding.contact;
        break;
      case RegistrationEventType::kUnregistered:
        text = "removed " + e.binding.contact;
        break;
      case RegistrationEventType::kExpired:
        text = "expired " + e.binding.contact;
        break;
      case RegistrationEventType::kAuthFailed:
        text = "auth_failed " + e.binding.username + "@" + e.binding.realm + " " + e.reason;
        break;
    }
    std::lock_guard lock(mu_);
    events_.push_back(std::move(text));
    full_.push_back(e);
  }
  std::vector<std::string> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }
  std::vector<RegistrationEvent> full() const {
    std::lock_guard lock(mu_);
    return full_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> events_;
  std::vector<RegistrationEvent> full_;
};

class LocationServiceTest : public ::testing::Test {
 protected:
  LocationServiceTest() { location_.add_observer(&observer_); }

  WallTime in(std::chrono::milliseconds d) const { return clock_.wall_now() + d; }

  Binding binding(const std::string& aor, const std::string& contact, std::chrono::milliseconds ttl,
                  uint64_t connection_id = 0) {
    Binding b = make_binding(aor, contact, in(ttl));
    b.connection_id = connection_id;
    if (connection_id != 0) b.transport = "tcp";
    return b;
  }

  // Adds `b` (or refreshes the binding with its contact) and returns the result once committed.
  std::optional<UpdateResult> put(const Binding& b) {
    std::optional<UpdateResult> result;
    location_.update(
        b.aor,
        [&](std::vector<Binding>& set, UpdateEvents& events) -> MutationStatus {
          for (Binding& existing : set) {
            if (existing.contact == b.contact) {
              existing = b;
              events.refreshed(b);
              return {};
            }
          }
          set.push_back(b);
          events.added(b);
          return {};
        },
        [&](const UpdateResult& r) { result = r; });
    store_.commit_all();
    return result;
  }

  sip::ManualClock clock_;
  FakeBindingStore store_;
  LocationService location_{store_, clock_, LocationOptions{.shards = 4, .max_bindings = 100}};
  RecordingObserver observer_;
};

// Verifies an added binding is in the cache at once, but done and on_added wait for the commit.
TEST_F(LocationServiceTest, AddIsVisibleAtOnceAndReportedAfterCommit) {
  const Binding b = binding("alice@acme.test", "sip:alice@192.0.2.4", seconds(60));
  std::optional<UpdateResult> result;
  location_.update(
      b.aor,
      [&](std::vector<Binding>& set, UpdateEvents& events) -> MutationStatus {
        set.push_back(b);
        events.added(b);
        return {};
      },
      [&](const UpdateResult& r) { result = r; });
  EXPECT_THAT(location_.lookup(b.aor), ElementsAre(b));
  EXPECT_FALSE(result) << "done before the commit";
  EXPECT_THAT(observer_.events(), IsEmpty());
  EXPECT_THAT(store_.pending_writes(), SizeIs(1));

  store_.commit_all();
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->ok());
  EXPECT_THAT(result->bindings, ElementsAre(b));
  EXPECT_THAT(observer_.events(), ElementsAre("added sip:alice@192.0.2.4"));
  EXPECT_THAT(store_.stored(b.aor), ElementsAre(b));
  EXPECT_EQ(location_.binding_count(), 1u);
  EXPECT_EQ(location_.aor_count(), 1u);
}

// Verifies refresh, RFC 5626 replace and removal reach the matching observer callbacks.
TEST_F(LocationServiceTest, RefreshReplaceRemoveEvents) {
  Binding b = binding("alice@acme.test", "sip:alice@192.0.2.4", seconds(60));
  put(b);
  b.expires_at = in(seconds(120));
  put(b);
  const Binding flow = binding("alice@acme.test", "sip:alice@198.51.100.1", seconds(60));
  location_.update(
      b.aor,
      [&](std::vector<Binding>& set, UpdateEvents& events) -> MutationStatus {
        events.replaced(set[0], flow);
        set[0] = flow;
        return {};
      },
      nullptr);
  store_.commit_all();
  EXPECT_TRUE(location_.remove(b.aor, flow.contact));
  EXPECT_FALSE(location_.remove(b.aor, flow.contact));
  EXPECT_THAT(location_.lookup(b.aor), IsEmpty());
  store_.commit_all();
  EXPECT_THAT(observer_.events(),
              ElementsAre("added sip:alice@192.0.2.4", "refreshed sip:alice@192.0.2.4",
                          "replaced sip:alice@192.0.2.4 -> sip:alice@198.51.100.1",
                          "removed sip:alice@198.51.100.1"));
  EXPECT_THAT(store_.stored(b.aor), IsEmpty());
  EXPECT_EQ(location_.binding_count(), 0u);
  EXPECT_EQ(location_.aor_count(), 0u);
}

// Verifies a refusing mutation answers at once with its status and changes nothing.
TEST_F(LocationServiceTest, RefusalAnswersAtOnce) {
  const Binding b = binding("alice@acme.test", "sip:alice@192.0.2.4", seconds(60));
  put(b);
  std::optional<UpdateResult> result;
  location_.update(
      b.aor,
      [](std::vector<Binding>& set, UpdateEvents& events) -> MutationStatus {
        set.clear();
        return {423, "Interval Too Brief"};
      },
      [&](const UpdateResult& r) { result = r; });
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 423);
  EXPECT_EQ(result->reason, "Interval Too Brief");
  EXPECT_THAT(result->bindings, ElementsAre(b));
  EXPECT_EQ(store_.pending(), 0u);
  EXPECT_THAT(location_.lookup(b.aor), ElementsAre(b));
}

// Verifies an update that changes nothing (a query) answers at once without a write.
TEST_F(LocationServiceTest, NoChangeAnswersAtOnce) {
  const Binding b = binding("alice@acme.test", "sip:alice@192.0.2.4", seconds(60));
  put(b);
  std::optional<UpdateResult> result;
  location_.update(
      b.aor, [](std::vector<Binding>&, UpdateEvents&) -> MutationStatus { return {}; },
      [&](const UpdateResult& r) { result = r; });
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->ok());
  EXPECT_THAT(result->bindings, ElementsAre(b));
  EXPECT_EQ(store_.pending(), 0u);
}

// Verifies a binding expires exactly at expires_at: not 1 ms before, and on_expired fires once.
TEST_F(LocationServiceTest, ExpiresExactlyOnTime) {
  const Binding b = binding("alice@acme.test", "sip:alice@192.0.2.4", seconds(60));
  put(b);
  EXPECT_EQ(location_.next_expiry(), b.expires_at);

  clock_.advance(seconds(60) - milliseconds(1));
  EXPECT_EQ(location_.expire_due(), 0u);
  EXPECT_THAT(location_.lookup(b.aor), ElementsAre(b));
  EXPECT_EQ(store_.pending(), 0u);

  clock_.advance(milliseconds(1));
  EXPECT_THAT(location_.lookup(b.aor), IsEmpty()) << "lookup hides it even before expire_due";
  EXPECT_EQ(location_.expire_due(), 1u);
  EXPECT_EQ(location_.binding_count(), 0u);
  EXPECT_EQ(location_.aor_count(), 0u);
  EXPECT_FALSE(location_.next_expiry());
  store_.commit_all();
  EXPECT_THAT(store_.stored(b.aor), IsEmpty());
  EXPECT_EQ(location_.expire_due(), 0u);
  clock_.advance(seconds(3600));
  EXPECT_EQ(location_.expire_due(), 0u);
  store_.commit_all();
  EXPECT_THAT(observer_.events(),
              ElementsAre("added sip:alice@192.0.2.4", "expired sip:alice@192.0.2.4"));
}

// Verifies a refreshed binding's old heap entry is skipped, and it expires at its new time.
TEST_F(LocationServiceTest, StaleHeapEntriesAreSkipped) {
  Binding b = binding("alice@acme.test", "sip:alice@192.0.2.4", seconds(60));
  put(b);
  b.expires_at = in(seconds(120));
  put(b);
  EXPECT_EQ(location_.next_expiry(), b.expires_at) << "the 60 s entry is stale";
  clock_.advance(seconds(60));
  EXPECT_EQ(location_.expire_due(), 0u);
  EXPECT_THAT(location_.lookup(b.aor), ElementsAre(b));
  clock_.advance(seconds(60));
  EXPECT_EQ(location_.expire_due(), 1u);

  // A removed binding leaves only a stale entry behind.
  const Binding c = binding("bob@acme.test", "sip:bob@192.0.2.5", seconds(30));
  put(c);
  EXPECT_TRUE(location_.remove(c.aor, c.contact));
  EXPECT_FALSE(location_.next_expiry());
  clock_.advance(seconds(30));
  EXPECT_EQ(location_.expire_due(), 0u);
}

// Verifies several AORs and bindings due at different times expire in order, each once.
TEST_F(LocationServiceTest, ExpiryAcrossAors) {
  put(binding("a@acme.test", "sip:a1@192.0.2.1", seconds(10)));
  put(binding("a@acme.test", "sip:a2@192.0.2.1", seconds(20)));
  put(binding("b@acme.test", "sip:b@192.0.2.1", seconds(10)));
  clock_.advance(seconds(10));
  EXPECT_EQ(location_.expire_due(), 2u);
  EXPECT_THAT(location_.lookup("a@acme.test"), SizeIs(1));
  EXPECT_EQ(location_.next_expiry(), clock_.wall_now() + seconds(10));
  clock_.advance(seconds(10));
  EXPECT_EQ(location_.expire_due(), 1u);
  EXPECT_EQ(location_.binding_count(), 0u);
}

// Verifies an update drops bindings already due (the mutation never sees them) and
// reports them as expired after the commit.
TEST_F(LocationServiceTest, UpdateDropsDueBindings) {
  const Binding old = binding("alice@acme.test", "sip:old@192.0.2.4", seconds(10));
  put(old);
  clock_.advance(seconds(10));
  const Binding fresh = binding("alice@acme.test", "sip:new@192.0.2.4", seconds(60));
  location_.update(
      old.aor,
      [&](std::vector<Binding>& set, UpdateEvents& events) -> MutationStatus {
        EXPECT_THAT(set, IsEmpty());
        set.push_back(fresh);
        events.added(fresh);
        return {};
      },
      nullptr);
  store_.commit_all();
  EXPECT_THAT(store_.stored(old.aor), ElementsAre(fresh));
  EXPECT_EQ(location_.binding_count(), 1u);
  EXPECT_EQ(location_.expire_due(), 0u);
  EXPECT_THAT(observer_.events(),
              ElementsAre("added sip:old@192.0.2.4", "expired sip:old@192.0.2.4",
                          "added sip:new@192.0.2.4"));
}

// Verifies closing a connection removes exactly the bindings made over it.
TEST_F(LocationServiceTest, RemoveConnection) {
  put(binding("a@acme.test", "sip:a@192.0.2.1;transport=tcp", seconds(60), 7));
  put(binding("b@acme.test", "sip:b1@192.0.2.2;transport=tcp", seconds(60), 7));
  put(binding("b@acme.test", "sip:b2@192.0.2.3;transport=tcp", seconds(60), 8));
  put(binding("c@acme.test", "sip:c@192.0.2.4", seconds(60)));
  // d moved from connection 7 to 9 with a refresh: it no longer belongs to 7.
  put(binding("d@acme.test", "sip:d@192.0.2.5;transport=tcp", seconds(60), 7));
  put(binding("d@acme.test", "sip:d@192.0.2.5;transport=tcp", seconds(90), 9));

  EXPECT_EQ(location_.remove_connection(7), 2u);
  EXPECT_THAT(location_.lookup("a@acme.test"), IsEmpty());
  EXPECT_THAT(location_.lookup("b@acme.test"), ElementsAre(Field(&Binding::connection_id, 8u)));
  EXPECT_THAT(location_.lookup("c@acme.test"), SizeIs(1));
  EXPECT_THAT(location_.lookup("d@acme.test"), SizeIs(1));
  EXPECT_EQ(location_.remove_connection(7), 0u);
  EXPECT_EQ(location_.remove_connection(0), 0u) << "0 means UDP, never a connection";
  store_.commit_all();
  EXPECT_THAT(store_.stored("a@acme.test"), IsEmpty());
  EXPECT_THAT(store_.stored("b@acme.test"), SizeIs(1));
  const auto events = observer_.events();
  EXPECT_EQ(std::count_if(events.begin(), events.end(),
                          [](const std::string& e) { return e.starts_with("removed"); }),
            2);
  EXPECT_EQ(location_.remove_connection(9), 1u);
  EXPECT_EQ(location_.remove_connection(8), 1u);
  EXPECT_EQ(location_.binding_count(), 1u);
}

// Verifies a connection carrying several AORs (an edge proxy's) keeps them all
// indexed while AORs leave and join it.
TEST_F(LocationServiceTest, ConnectionCarryingSeveralAors) {
  put(binding("a@acme.test", "sip:a@192.0.2.1;transport=tcp", seconds(60), 7));
  put(binding("b@acme.test", "sip:b@192.0.2.1;transport=tcp", seconds(60), 7));
  put(binding("c@acme.test", "sip:c@192.0.2.1;transport=tcp", seconds(60), 7));
  EXPECT_TRUE(location_.remove("b@acme.test", "sip:b@192.0.2.1;transport=tcp"));
  EXPECT_TRUE(location_.remove("c@acme.test", "sip:c@192.0.2.1;transport=tcp"));
  put(binding("d@acme.test", "sip:d@192.0.2.1;transport=tcp", seconds(60), 7));
  EXPECT_EQ(location_.remove_connection(7), 2u);
  EXPECT_THAT(location_.lookup("a@acme.test"), IsEmpty());
  EXPECT_THAT(location_.lookup("d@acme.test"), IsEmpty());
  EXPECT_EQ(location_.binding_count(), 0u);
  EXPECT_EQ(location_.aor_count(), 0u);
}

// Verifies lookup() gives back exactly the Binding that was stored, including
// values the cache keeps in compact form (times to the nanosecond, IPv6 text as
// sent, a username other than the AOR's user).
TEST_F(LocationServiceTest, LookupReturnsExactValues) {
  Binding b = binding("alice@acme.test", "sip:alice@[2001:db8::4]", seconds(60), 3);
  b.expires_at += std::chrono::nanoseconds(1);
  b.source_ip = "2001:DB8::4";
  b.username = "1001";
  b.instance_id = "<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";
  b.reg_id = 2;
  b.q = 500;
  put(b);
  Binding c = binding("alice@acme.test", "sip:alice@192.0.2.9", seconds(90));
  c.source_ip = "192.0.2.9";
  c.path = "<sip:edge.acme.test;lr>";
  put(c);
  EXPECT_THAT(location_.lookup(b.aor), ElementsAre(b, c));
  EXPECT_EQ(location_.next_expiry(), b.expires_at);
}

// Verifies an AOR that lost its last binding and came back with the same expiry
// time expires once, through its new record only.
TEST_F(LocationServiceTest, ReturningAorExpiresOnce) {
  const Binding b = binding("alice@acme.test", "sip:alice@192.0.2.4", seconds(60));
  put(b);
  EXPECT_TRUE(location_.remove(b.aor, b.contact));
  put(b);
  EXPECT_EQ(location_.next_expiry(), b.expires_at);
  clock_.advance(seconds(60));
  EXPECT_EQ(location_.expire_due(), 1u);
  EXPECT_FALSE(location_.next_expiry());
  store_.commit_all();
  EXPECT_THAT(observer_.events(),
              ElementsAre("added sip:alice@192.0.2.4", "removed sip:alice@192.0.2.4",
                          "added sip:alice@192.0.2.4", "expired sip:alice@192.0.2.4"));
}

// Verifies growth past max_bindings gets 503 at once, while refreshes at the limit work.
TEST_F(LocationServiceTest, MaxBindingsGives503) {
  LocationService small(store_, clock_, LocationOptions{.shards = 2, .max_bindings = 2});
  auto add = [&](const Binding& b) {
    std::optional<UpdateResult> result;
    small.update(
        b.aor,
        [&](std::vector<Binding>& set, UpdateEvents& events) -> MutationStatus {
          std::erase_if(set, [&](const Binding& x) { return x.contact == b.contact; });
          set.push_back(b);
          events.added(b);
          return {};
        },
        [&](const UpdateResult& r) { result = r; });
    store_.commit_all();
    return result;
  };
  EXPECT_TRUE(add(binding("a@acme.test", "sip:a@192.0.2.1", seconds(60)))->ok());
  EXPECT_TRUE(add(binding("b@acme.test", "sip:b@192.0.2.1", seconds(60)))->ok());
  auto refused = add(binding("c@acme.test", "sip:c@192.0.2.1", seconds(60)));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_THAT(refused->detail, HasSubstr("max_bindings"));
  EXPECT_THAT(small.lookup("c@acme.test"), IsEmpty());
  EXPECT_TRUE(add(binding("a@acme.test", "sip:a@192.0.2.1", seconds(90)))->ok()) << "refresh";
  EXPECT_EQ(small.binding_count(), 2u);
  EXPECT_EQ(small.stats().rejected_full, 1u);
}

// Verifies a failed store write answers 503 (retry later) with the error, without observer events.
TEST_F(LocationServiceTest, StoreFailureAnswers503) {
  const Binding b = binding("alice@acme.test", "sip:alice@192.0.2.4", seconds(60));
  std::optional<UpdateResult> result;
  location_.update(
      b.aor,
      [&](std::vector<Binding>& set, UpdateEvents& events) -> MutationStatus {
        set.push_back(b);
        events.added(b);
        return {};
      },
      [&](const UpdateResult& r) { result = r; });
  store_.commit_all(StoreResult{.ok = false, .error = "disk I/O error"});
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 503);
  EXPECT_EQ(result->detail, "disk I/O error");
  EXPECT_THAT(observer_.events(), IsEmpty());
  EXPECT_EQ(location_.stats().store_failures, 1u);
  // The retry persists the whole set.
  EXPECT_TRUE(put(b)->ok());
  EXPECT_THAT(store_.stored(b.aor), ElementsAre(b));
}

// Verifies load() restores unexpired bindings with their expiries, and forgets
// connection ids of the previous process.
TEST_F(LocationServiceTest, LoadRestoresBindings) {
  Binding tcp = binding("a@acme.test", "sip:a@192.0.2.1;transport=tcp", seconds(60), 5);
  Binding udp = binding("a@acme.test", "sip:a2@192.0.2.1", seconds(30));
  Binding gone = binding("b@acme.test", "sip:b@192.0.2.1", seconds(-1));
  for (const Binding& b : {tcp, udp, gone}) store_.preload(b);
  EXPECT_EQ(location_.load(), 2u);
  EXPECT_EQ(location_.binding_count(), 2u);
  EXPECT_EQ(location_.aor_count(), 1u);
  EXPECT_EQ(location_.next_expiry(), udp.expires_at);
  EXPECT_EQ(location_.remove_connection(5), 0u) << "connection 5 of the old process is not ours";
  tcp.connection_id = 0;
  EXPECT_THAT(location_.lookup("a@acme.test"), ::testing::UnorderedElementsAre(tcp, udp));
  clock_.advance(seconds(60));
  EXPECT_EQ(location_.expire_due(), 2u);
}

// Verifies authentication failures fan out to the observers.
TEST_F(LocationServiceTest, AuthFailuresFanOut) {
  RegistrationEvent failure;
  failure.type = RegistrationEventType::kAuthFailed;
  failure.binding.realm = "acme.test";
  failure.binding.username = "mallory";
  failure.binding.source_ip = "203.0.113.9";
  failure.reason = "bad response";
  location_.notify_auth_failed(failure);
  EXPECT_THAT(observer_.events(), ElementsAre("auth_failed mallory@acme.test bad response"));
  EXPECT_THAT(observer_.full(), ElementsAre(failure)) << "as given, sequence 0";
  EXPECT_EQ(store_.pending(), 0u) << "never written";
}

// Verifies each kind of change becomes its event — type, reason, previous binding, the
// clock's wall time — with consecutive sequences in commit order.
TEST_F(LocationServiceTest, EventsDescribeEveryChange) {
  Binding b = binding("alice@acme.test", "sip:alice@192.0.2.4", seconds(60));
  put(b);  // 1 registered
  clock_.advance(seconds(1));
  b.expires_at = in(seconds(120));
  put(b);  // 2 refreshed
  const Binding flow = binding("alice@acme.test", "sip:alice@198.51.100.1", seconds(60));
  location_.update(
      b.aor,
      [&](std::vector<Binding>& set, UpdateEvents& events) -> MutationStatus {
        events.replaced(set[0], flow);
        set[0] = flow;
        return {};
      },
      nullptr);
  store_.commit_all();  // 3 replaced
  EXPECT_TRUE(location_.remove(b.aor, flow.contact, "api"));
  store_.commit_all();  // 4 unregistered (api)
  const Binding c = binding("carol@acme.test", "sip:carol@192.0.2.5", seconds(60));
  put(c);  // 5 registered
  location_.update(
      c.aor,
      [&](std::vector<Binding>& set, UpdateEvents& events) -> MutationStatus {
        events.removed(set[0], "expires=0");
        set.clear();
        return {};
      },
      nullptr);
  store_.commit_all();  // 6 unregistered (expires=0)
  const Binding tcp = binding("dave@acme.test", "sip:dave@192.0.2.6;transport=tcp", seconds(60), 9);
  put(tcp);  // 7 registered
  clock_.advance(seconds(2));
  EXPECT_EQ(location_.remove_connection(9), 1u);
  store_.commit_all();  // 8 unregistered (connection closed)
  const Binding e = binding("erin@acme.test", "sip:erin@192.0.2.7", seconds(10));
  put(e);  // 9 registered
  clock_.advance(seconds(10));
  EXPECT_EQ(location_.expire_due(), 1u);
  store_.commit_all();  // 10 expired

  const std::vector<RegistrationEvent> got = observer_.full();
  ASSERT_EQ(got.size(), 10u);
  using T = RegistrationEventType;
  const std::vector<std::pair<T, std::string>> want = {
      {T::kRegistered, ""}, {T::kRefreshed, ""},
      {T::kReplaced, ""},   {T::kUnregistered, "api"},
      {T::kRegistered, ""}, {T::kUnregistered, "expires=0"},
      {T::kRegistered, ""}, {T::kUnregistered, "connection closed"},
      {T::kRegistered, ""}, {T::kExpired, "expired"}};
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE("event " + std::to_string(i + 1));
    EXPECT_EQ(got[i].sequence, i + 1);
    EXPECT_EQ(got[i].type, want[i].first);
    EXPECT_EQ(got[i].reason, want[i].second);
  }
  EXPECT_EQ(got[2].binding, flow);
  EXPECT_EQ(got[2].previous.contact, "sip:alice@192.0.2.4");
  EXPECT_EQ(got[3].binding, flow);
  EXPECT_EQ(got[7].binding, tcp);
  EXPECT_EQ(got[9].binding, e);
  EXPECT_EQ(got[0].time, clock_.wall_now() - seconds(13));
  EXPECT_EQ(got[9].time, clock_.wall_now());
  EXPECT_EQ(store_.read_events(0, 100), got) << "the observers see what the store keeps";
}

// Verifies expired bindings dropped by an update are stored as EXPIRED events before
// the mutation's own, in the same write.
TEST_F(LocationServiceTest, UpdateStoresDueBindingsAsExpiredFirst) {
  const Binding old = binding("alice@acme.test", "sip:old@192.0.2.4", seconds(10));
  put(old);
  clock_.advance(seconds(10));
  const Binding fresh = binding("alice@acme.test", "sip:new@192.0.2.4", seconds(60));
  location_.update(
      old.aor,
      [&](std::vector<Binding>& set, UpdateEvents& events) -> MutationStatus {
        set.push_back(fresh);
        events.added(fresh);
        return {};
      },
      nullptr);
  const auto writes = store_.pending_writes();
  ASSERT_EQ(writes.size(), 1u);
  ASSERT_EQ(writes[0].events.size(), 2u);
  EXPECT_EQ(writes[0].events[0].type, RegistrationEventType::kExpired);
  EXPECT_EQ(writes[0].events[0].binding, old);
  EXPECT_EQ(writes[0].events[1].type, RegistrationEventType::kRegistered);
  store_.commit_all();
  const auto got = observer_.full();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[1].sequence, 2u);
  EXPECT_EQ(got[2].sequence, 3u);
}

// Verifies that when the store fails, expiry and connection loss still change the cache
// but tell no observer (an event without a sequence cannot be resumed from).
TEST_F(LocationServiceTest, StoreFailureTellsNoObserver) {
  put(binding("a@acme.test", "sip:a@192.0.2.1", seconds(10)));
  put(binding("b@acme.test", "sip:b@192.0.2.1;transport=tcp", seconds(60), 4));
  const size_t before = observer_.events().size();
  clock_.advance(seconds(10));
  EXPECT_EQ(location_.expire_due(), 1u);
  EXPECT_EQ(location_.remove_connection(4), 1u);
  store_.commit_all(StoreResult{.ok = false, .error = "disk I/O error"});
  EXPECT_EQ(observer_.events().size(), before);
  EXPECT_EQ(location_.binding_count(), 0u);
  EXPECT_EQ(location_.stats().store_failures, 2u);
}

// Verifies remove_registered_by removes a credential's bindings (realm in any case,
// username exactly) or a whole realm's, each with one UNREGISTERED event and the reason.
TEST_F(LocationServiceTest, RemoveRegisteredBy) {
  auto with = [&](Binding b, const std::string& realm, const std::string& username) {
    b.realm = realm;
    b.username = username;
    return b;
  };
  put(with(binding("a@acme.test", "sip:a@192.0.2.1", seconds(60)), "acme.test", "a"));
  put(with(binding("c@acme.test", "sip:c1@192.0.2.1", seconds(60)), "acme.test", "c"));
  put(with(binding("c@acme.test", "sip:c2@192.0.2.1", seconds(60)), "acme.test", "C"));
  put(with(binding("c@acme.test", "sip:c3@192.0.2.1", seconds(60)), "other.test", "c"));
  put(with(binding("e@acme.test", "sip:e@192.0.2.1", seconds(60)), "ACME.test", "e"));
  put(with(binding("d@other.test", "sip:d@192.0.2.1", seconds(60)), "other.test", "d"));
  const size_t before = observer_.full().size();

  EXPECT_EQ(location_.remove_registered_by("Acme.Test", "c", "credential deleted"), 1u);
  EXPECT_THAT(location_.lookup("c@acme.test"), SizeIs(2));
  EXPECT_EQ(location_.remove_registered_by("acme.test", "nobody", "credential deleted"), 0u);
  EXPECT_EQ(location_.remove_registered_by("ACME.TEST", std::nullopt, "realm deleted"), 3u);
  store_.commit_all();
  EXPECT_THAT(location_.lookup("a@acme.test"), IsEmpty());
  EXPECT_THAT(location_.lookup("e@acme.test"), IsEmpty());
  EXPECT_THAT(location_.lookup("c@acme.test"),
              ElementsAre(Field(&Binding::contact, "sip:c3@192.0.2.1")));
  EXPECT_THAT(location_.lookup("d@other.test"), SizeIs(1));
  EXPECT_EQ(location_.binding_count(), 2u);
  EXPECT_THAT(store_.stored("a@acme.test"), IsEmpty());

  const auto got = observer_.full();
  ASSERT_EQ(got.size(), before + 4);
  EXPECT_EQ(got[before].binding.contact, "sip:c1@192.0.2.1");
  EXPECT_EQ(got[before].reason, "credential deleted");
  for (size_t i = before; i < got.size(); ++i) {
    EXPECT_EQ(got[i].type, RegistrationEventType::kUnregistered);
    if (i > before) {
      EXPECT_EQ(got[i].reason, "realm deleted");
    }
  }
}

// Verifies list() pages cover every unexpired binding exactly once, in whole AORs of
// ascending order, for page sizes 1, 3 and 1000, with and without a realm filter
// (case-insensitive, per binding).
TEST_F(LocationServiceTest, ListPagesCoverEveryBindingOnce) {
  LocationService big(store_, clock_, LocationOptions{.shards = 8});
  auto add = [&](Binding b) {
    big.update(
        b.aor,
        [&](std::vector<Binding>& set, UpdateEvents& events) -> MutationStatus {
          set.push_back(b);
          events.added(b);
          return {};
        },
        nullptr);
  };
  std::vector<Binding> all;
  for (int i = 0; i < 40; ++i) {
    const bool other = i % 4 == 0;
    const std::string aor =
        "u" + std::to_string(100 + i * 7 % 40) + (other ? "@other.test" : "@acme.test");
    for (int k = 0; k <= i % 3; ++k) {
      Binding b = binding(aor, "sip:" + std::to_string(k) + "@192.0.2.1", seconds(60));
      if (i % 5 == 1) b.realm = "ACME.test";
      all.push_back(b);
      add(b);
    }
  }
  Binding mixed = binding("mixed@acme.test", "sip:m1@192.0.2.1", seconds(60));
  all.push_back(mixed);
  add(mixed);
  mixed.contact = "sip:m2@192.0.2.1";
  mixed.realm = "other.test";
  all.push_back(mixed);
  add(mixed);
  add(binding("gone@acme.test", "sip:gone@192.0.2.1", seconds(5)));   // expired below
  add(binding("u107@acme.test", "sip:short@192.0.2.1", seconds(5)));  // beside live ones
  store_.commit_all();
  clock_.advance(seconds(5));

  for (std::string realm : {"", "acme.test", "OTHER.TEST"}) {
    std::multiset<std::pair<std::string, std::string>> expected;
    for (const Binding& b : all) {
      if (realm.empty() || sip::lex::iequals(b.realm, realm)) expected.emplace(b.aor, b.contact);
    }
    for (size_t size : {1u, 3u, 1000u}) {
      SCOPED_TRACE("realm '" + realm + "', pages of " + std::to_string(size));
      std::multiset<std::pair<std::string, std::string>> seen;
      std::string after, last_aor;
      int pages = 0;
      for (;;) {
        ASSERT_LT(++pages, 200) << "no progress";
        const LocationService::Page page = big.list(realm, after, size);
        std::set<std::string> aors;
        for (const Binding& b : page.bindings) {
          EXPECT_GT(b.aor, after);
          EXPECT_GE(b.aor, last_aor) << "ascending AORs";
          last_aor = b.aor;
          aors.insert(b.aor);
          seen.emplace(b.aor, b.contact);
        }
        EXPECT_LT(page.bindings.size(), size + 3) << "whole AORs of at most 3 bindings";
        if (page.next_aor.empty()) break;
        EXPECT_GE(page.bindings.size(), size) << "only the last page is short";
        EXPECT_EQ(page.next_aor, *aors.rbegin());
        after = page.next_aor;
      }
      EXPECT_EQ(seen, expected);
      if (size == 1000) {
        EXPECT_EQ(pages, 1);
      }
    }
  }
}

// Verifies concurrent updates of different AORs from several threads, against the real
// SQLite store, leave the cache, the counts and the store consistent.
TEST(LocationServiceConcurrency, ConcurrentUpdatesStayConsistent) {
  testing::TempDir dir;
  SqliteBindingStoreOptions options;
  options.database.synchronous = SqliteSync::kOff;
  auto opened = SqliteBindingStore::open(database_path(dir.path()), options);
  ASSERT_TRUE(opened.ok()) << opened.error;
  sip::ManualClock clock;
  LocationService location(*opened.store, clock, LocationOptions{.shards = 8});
  RecordingObserver observer;
  location.add_observer(&observer);

  constexpr int kThreads = 4, kAors = 100, kRounds = 5;
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        for (int i = 0; i < kAors; ++i) {
          const std::string aor = "t" + std::to_string(t) + "-" + std::to_string(i) + "@acme.test";
          Binding b = make_binding(aor, "sip:" + std::to_string(round % 2) + "@192.0.2.1",
                                   clock.wall_now() + seconds(60 + round));
          location.update(
              aor,
              [&](std::vector<Binding>& set, UpdateEvents& events) -> MutationStatus {
                // Round r keeps contact (r % 2) and adds/refreshes it: two contacts per AOR.
                for (Binding& x : set) {
                  if (x.contact == b.contact) {
                    x = b;
                    events.refreshed(b);
                    return {};
                  }
                }
                set.push_back(b);
                events.added(b);
                return {};
              },
              [&](const UpdateResult& r) { (r.ok() ? ok : failed).fetch_add(1); });
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  opened.store->flush();
  EXPECT_EQ(ok.load(), kThreads * kAors * kRounds);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(location.aor_count(), static_cast<size_t>(kThreads * kAors));
  EXPECT_EQ(location.binding_count(), static_cast<size_t>(kThreads * kAors * 2));
  const std::vector<Binding> stored = opened.store->load_unexpired(clock.wall_now());
  EXPECT_EQ(stored.size(), static_cast<size_t>(kThreads * kAors * 2));
  for (const Binding& b : stored) {
    EXPECT_THAT(location.lookup(b.aor), ::testing::Contains(b)) << b.aor;
  }
  const auto events = observer.events();
  EXPECT_EQ(std::count_if(events.begin(), events.end(),
                          [](const std::string& e) { return e.starts_with("added"); }),
            kThreads * kAors * 2);
  clock.advance(seconds(65));
  EXPECT_EQ(location.expire_due(), static_cast<size_t>(kThreads * kAors * 2));
  opened.store->flush();
  EXPECT_TRUE(opened.store->load_unexpired(clock.wall_now() - seconds(30)).empty());
}

// Verifies updates, removals, expiry and connection loss racing on several
// threads leave no binding, AOR or heap entry behind once everything is due
// (heap entries and the connection index share AOR records with the cache).
TEST(LocationServiceConcurrency, ExpiryRacesUpdates) {
  FakeBindingStore store;
  sip::ManualClock clock;
  LocationService location(store, clock, LocationOptions{.shards = 4});
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 3; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 3000; ++i) {
        const std::string aor = "u" + std::to_string((i * 7 + t) % 40) + "@acme.test";
        if (i % 5 == 4) {
          location.remove(aor, "sip:" + std::to_string(i % 3) + "@192.0.2.1");
          continue;
        }
        Binding b = make_binding(aor, "sip:" + std::to_string(i % 3) + "@192.0.2.1",
                                 clock.wall_now() + milliseconds(100 * (1 + i % 20)));
        b.connection_id = static_cast<uint64_t>(1 + i % 4);
        location.update(
            aor,
            [&](std::vector<Binding>& set, UpdateEvents& events) -> MutationStatus {
              std::erase_if(set, [&](const Binding& x) { return x.contact == b.contact; });
              set.push_back(b);
              events.added(b);
              return {};
            },
            nullptr);
      }
    });
  }
  std::thread reaper([&] {
    for (int i = 0; !stop.load(); ++i) {
      clock.advance(milliseconds(50));
      location.expire_due();
      (void)location.next_expiry();
      if (i % 10 == 0) location.remove_connection(static_cast<uint64_t>(1 + i % 4));
      for (int n = 0; n < 4 && !stop.load(); ++n) (void)location.lookup("u1@acme.test");
      store.commit_all();
    }
  });
  for (std::thread& w : writers) w.join();
  stop = true;
  reaper.join();
  clock.advance(seconds(10));
  location.expire_due();
  store.commit_all();
  EXPECT_EQ(location.binding_count(), 0u);
  EXPECT_EQ(location.aor_count(), 0u);
  EXPECT_FALSE(location.next_expiry());
  for (int i = 0; i < 40; ++i) {
    EXPECT_THAT(location.lookup("u" + std::to_string(i) + "@acme.test"), IsEmpty());
  }
}

}  // namespace
}  // namespace registrar
