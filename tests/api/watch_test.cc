// WatchRegistrations against the real server: live events in order, resume
// with since_sequence (no gap, no duplicate), OUT_OF_RANGE for a trimmed or
// future sequence, a stalled watcher ended with RESOURCE_EXHAUSTED while the
// publisher keeps going, client cancellation mid-stream, and 100 concurrent
// watchers receiving the same events, all without leaking a stream. Batched
// delivery: a lone event is never left in a buffer, bursts arrive whole and
// in order, and each event is serialized once for every watcher.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "api_fixture.h"

namespace apitest {
namespace {

using namespace std::chrono_literals;
using testing::ElementsAre;
using testing::ElementsAreArray;
using testing::HasSubstr;
using Type = v1::RegistrationEvent;
using switchboard::api::EncodedEventStats;

class WatchApi : public ApiTest {
 protected:
  struct Watch {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<grpc::ClientReader<v1::RegistrationEvent>> reader;
  };
  // Opens a stream and waits for its headers: the subscription exists then.
  Watch watch(std::optional<uint64_t> since = std::nullopt, const std::string& realm = "",
              v1::RegistrationService::Stub* stub = nullptr, const char* token = kReadToken) {
    v1::WatchRegistrationsRequest req;
    if (since) req.set_since_sequence(*since);
    req.set_realm(realm);
    Watch w;
    w.context = ctx(token);
    w.context->set_deadline(std::chrono::system_clock::now() + 30s);
    w.reader = (stub ? *stub : registrations()).WatchRegistrations(w.context.get(), req);
    w.reader->WaitForInitialMetadata();
    return w;
  }
  // Reads `n` events (fails the test when the stream ends first).
  static std::vector<v1::RegistrationEvent> read(Watch& w, size_t n) {
    std::vector<v1::RegistrationEvent> out;
    v1::RegistrationEvent e;
    while (out.size() < n && w.reader->Read(&e)) out.push_back(e);
    EXPECT_EQ(out.size(), n) << "stream ended: " << describe(w.reader->Finish());
    return out;
  }
  static std::vector<uint64_t> sequences(const std::vector<v1::RegistrationEvent>& events) {
    std::vector<uint64_t> out;
    for (const auto& e : events) out.push_back(e.sequence());
    return out;
  }
  // `n` REGISTERED events for distinct AORs alice0…; returns the last sequence.
  uint64_t publish(int n, const std::string& prefix = "user",
                   const std::string& realm = "acme.example") {
    for (int i = 0; i < n; ++i)
      put_binding(binding(prefix + std::to_string(i) + "@" + realm,
                          "sip:" + prefix + std::to_string(i) + "@192.0.2.4:5062"));
    return hub->last_sequence();
  }
  // Waits up to 5 s for `condition` (server-side state changes asynchronously).
  template <class F>
  static bool eventually(F condition) {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!condition()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(2ms);
    }
    return true;
  }
};

// Verifies register, refresh, API delete and expiry arrive live, in order, with
// consecutive sequences and the binding as it is (or was).
TEST_F(WatchApi, LiveEventsInOrder) {
  Watch w = watch();
  registrar::Binding b = binding("alice@acme.example", "sip:alice@192.0.2.4:5062;transport=udp");
  b.replica = "switchboard-1";
  put_binding(b);
  put_binding(b);  // refresh
  ASSERT_TRUE(location->remove(b.aor, b.contact, "api"));
  put_binding(binding("bob@acme.example", "sip:bob@[2001:db8::7]:5062"));
  clock.advance(std::chrono::seconds(3601));
  EXPECT_EQ(location->expire_due(), 1u);
  std::vector<v1::RegistrationEvent> events = read(w, 5);
  ASSERT_EQ(events.size(), 5u);
  std::vector<int> types;
  for (const auto& e : events) types.push_back(e.type());
  EXPECT_THAT(types, ElementsAre(Type::REGISTERED, Type::REFRESHED, Type::UNREGISTERED,
                                 Type::REGISTERED, Type::EXPIRED));
  for (size_t i = 1; i < events.size(); ++i)
    EXPECT_EQ(events[i].sequence(), events[0].sequence() + i);
  const v1::RegistrationEvent& reg = events[0];
  EXPECT_EQ(reg.binding().aor(), "sip:alice@acme.example");
  EXPECT_EQ(reg.binding().contact(), "sip:alice@192.0.2.4:5062;transport=udp");
  EXPECT_EQ(reg.binding().realm(), "realms/acme.example");
  EXPECT_THAT(reg.binding().name(),
              testing::MatchesRegex("realms/acme.example/aors/alice/bindings/[0-9a-f]{16}"));
  EXPECT_EQ(reg.binding().source_address(), "192.0.2.4:5062");
  EXPECT_EQ(reg.source_address(), "192.0.2.4:5062");
  EXPECT_EQ(reg.user_agent(), "ApiTest/1.0");
  EXPECT_EQ(reg.binding().replica(), "switchboard-1");
  EXPECT_EQ(events[3].binding().replica(), "");
  EXPECT_TRUE(reg.has_event_time());
  EXPECT_FALSE(reg.binding().has_q());
  EXPECT_EQ(events[2].reason(), "api");
  EXPECT_EQ(events[3].binding().source_address(), "192.0.2.4:5062");
  EXPECT_EQ(events[4].binding().aor(), "sip:bob@acme.example");
  w.context->TryCancel();
}

// Verifies since_sequence resumes with exactly the events after it, then the
// live ones: no gap, no duplicate.
TEST_F(WatchApi, SinceSequenceResumesWithoutGapOrDuplicate) {
  const uint64_t last = publish(6);
  ASSERT_GE(last, 6u);
  Watch w = watch(last - 3);
  publish(2, "late");
  std::vector<v1::RegistrationEvent> events = read(w, 5);
  EXPECT_THAT(sequences(events), ElementsAre(last - 2, last - 1, last, last + 1, last + 2));
  EXPECT_EQ(events[3].binding().aor(), "sip:late0@acme.example");
  w.context->TryCancel();

  // since_sequence 0: every retained event.
  Watch all = watch(0);
  EXPECT_EQ(read(all, last + 2).back().sequence(), last + 2);
  all.context->TryCancel();
}

// Verifies the realm filter: only that realm's events reach the watcher.
TEST_F(WatchApi, RealmFilter) {
  Watch w = watch(std::nullopt, "realms/other.example");
  publish(3, "a", "acme.example");
  publish(2, "o", "other.example");
  std::vector<v1::RegistrationEvent> events = read(w, 2);
  for (const auto& e : events) EXPECT_EQ(e.binding().realm(), "realms/other.example");
  w.context->TryCancel();
}

// Verifies an AUTH_FAILED event is delivered live with the latest stored sequence.
TEST_F(WatchApi, AuthFailedIsLiveWithLatestSequence) {
  const uint64_t last = publish(2);
  Watch w = watch();
  registrar::RegistrationEvent failed;
  failed.type = registrar::RegistrationEventType::kAuthFailed;
  failed.time = clock.wall_now();
  failed.binding.realm = "acme.example";
  failed.binding.aor = "mallory@acme.example";
  failed.binding.username = "mallory";
  failed.binding.source_ip = "2001:db8::66";
  failed.binding.source_port = 5060;
  failed.reason = "wrong password or unknown user";
  location->notify_auth_failed(failed);
  std::vector<v1::RegistrationEvent> events = read(w, 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type(), Type::AUTH_FAILED);
  EXPECT_EQ(events[0].sequence(), last);
  EXPECT_EQ(events[0].binding().username(), "mallory");
  EXPECT_EQ(events[0].binding().realm(), "realms/acme.example");
  EXPECT_EQ(events[0].source_address(), "[2001:db8::66]:5060");
  EXPECT_EQ(events[0].reason(), "wrong password or unknown user");
  w.context->TryCancel();
}

// Verifies a sequence newer than the newest is OUT_OF_RANGE naming both ends.
TEST_F(WatchApi, FutureSequenceIsOutOfRange) {
  const uint64_t last = publish(3);
  v1::WatchRegistrationsRequest req;
  req.set_since_sequence(last + 10);
  auto c = ctx(kReadToken);
  auto reader = registrations().WatchRegistrations(c.get(), req);
  v1::RegistrationEvent e;
  EXPECT_FALSE(reader->Read(&e));
  grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::OUT_OF_RANGE) << describe(s);
  EXPECT_THAT(s.error_message(), HasSubstr("newer than the newest event " + std::to_string(last)));
  auto info = error_info(s);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->reason(), "SEQUENCE_OUT_OF_RANGE");
  EXPECT_EQ(info->domain(), "switchboard.dev");
  EXPECT_EQ(info->metadata().at("newest_sequence"), std::to_string(last));
}

class TrimmedWatchApi : public WatchApi {
 protected:
  FixtureOptions options() const override {
    FixtureOptions o;
    o.max_events = 5;
    return o;
  }
};

// Verifies a sequence older than the retained log is OUT_OF_RANGE naming the
// oldest available, and resuming from there works.
TEST_F(TrimmedWatchApi, TrimmedSequenceIsOutOfRange) {
  const uint64_t last = publish(20);
  flush();
  const registrar::EventLogState log = bindings->event_log_state();
  ASSERT_GT(log.oldest_retained, 2u) << "the store did not trim";
  v1::WatchRegistrationsRequest req;
  req.set_since_sequence(1);
  auto c = ctx(kReadToken);
  auto reader = registrations().WatchRegistrations(c.get(), req);
  v1::RegistrationEvent e;
  EXPECT_FALSE(reader->Read(&e));
  grpc::Status s = reader->Finish();
  ASSERT_EQ(s.error_code(), grpc::StatusCode::OUT_OF_RANGE) << describe(s);
  EXPECT_THAT(s.error_message(), HasSubstr("older than the oldest retained event " +
                                           std::to_string(log.oldest_retained)));
  auto info = error_info(s);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->metadata().at("oldest_sequence"), std::to_string(log.oldest_retained));
  EXPECT_EQ(info->metadata().at("newest_sequence"), std::to_string(last));
  EXPECT_EQ(server->watch_counters().out_of_range.load(), 1u);

  Watch w = watch(log.oldest_retained - 1);
  EXPECT_EQ(read(w, last - log.oldest_retained + 1).back().sequence(), last);
  w.context->TryCancel();
}

class StalledWatchApi : public WatchApi {
 protected:
  FixtureOptions options() const override {
    FixtureOptions o;
    o.watcher_buffer = 16;
    return o;
  }
};

// Verifies a watcher that never reads is ended with RESOURCE_EXHAUSTED (with
// last_sequence to resume from) while registrations keep flowing, and that it
// resumes from there with nothing missing or repeated.
TEST_F(StalledWatchApi, StalledWatcherIsEndedAndResumes) {
  // No BDP probing: the client's flow-control window stays at 64 KiB, so a
  // reader that does not read stalls the stream quickly.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  auto stalled_channel = new_channel(args);
  auto stub = v1::RegistrationService::NewStub(stalled_channel);
  Watch stalled = watch(std::nullopt, "", stub.get());
  const uint64_t first = hub->last_sequence() + 1;

  const int kEvents = 2000;
  auto start = std::chrono::steady_clock::now();
  const uint64_t last = publish(kEvents);
  const auto publish_time = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(last, first + kEvents - 1);
  // The hub dropped the watcher's subscription (its bounded queue overflowed);
  // the stream ends once the client reads what was already in flight.
  ASSERT_TRUE(eventually([&] { return hub->subscription_count() == 0; }))
      << "the stalled watcher was never ended";
  // The publisher was never held up by the watcher (2000 commits, generous bound).
  EXPECT_LT(publish_time, 20s);

  // Now read what it got: a prefix of the events (possibly none: under load the
  // queue may overflow before the first write), then the error naming where
  // to resume — the last event delivered, or where the watch began.
  std::vector<uint64_t> got;
  v1::RegistrationEvent e;
  while (stalled.reader->Read(&e)) got.push_back(e.sequence());
  grpc::Status s = stalled.reader->Finish();
  ASSERT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << describe(s);
  ASSERT_LT(got.size(), size_t(kEvents));
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], first + i);
  const uint64_t resume_from = got.empty() ? first - 1 : got.back();
  auto info = error_info(s);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->reason(), "WATCHER_FELL_BEHIND");
  EXPECT_EQ(info->metadata().at("last_sequence"), std::to_string(resume_from));
  EXPECT_THAT(s.error_message(),
              HasSubstr("resume with since_sequence " + std::to_string(resume_from)));
  EXPECT_EQ(server->watch_counters().fell_behind.load(), 1u);

  // Resume: exactly the rest.
  Watch resumed = watch(resume_from);
  std::vector<v1::RegistrationEvent> rest = read(resumed, last - resume_from);
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest.front().sequence(), resume_from + 1);
  EXPECT_EQ(rest.back().sequence(), last);
  resumed.context->TryCancel();
}

// Verifies shutdown completes within its grace period even with a stalled
// watcher whose write never completes (the call is cancelled at the deadline).
TEST_F(StalledWatchApi, ShutdownWithStalledWatcherCompletes) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  auto stub = v1::RegistrationService::NewStub(new_channel(args));
  Watch stalled = watch(std::nullopt, "", stub.get());
  publish(2000);
  ASSERT_TRUE(eventually([&] { return hub->subscription_count() == 0; }));
  auto start = std::chrono::steady_clock::now();
  server->shutdown();  // the fixture's grace period is 1 s
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(server->watch_streams().active, 0u);
  stalled.context->TryCancel();
}

// Verifies a client cancelling mid-stream ends the stream on the server (no
// leak) and publishing afterwards is unaffected.
TEST_F(WatchApi, ClientCancelMidStream) {
  Watch w = watch();
  publish(3);
  EXPECT_EQ(read(w, 3).size(), 3u);
  ASSERT_EQ(server->watch_streams().active, 1u);
  w.context->TryCancel();
  v1::RegistrationEvent e;
  while (w.reader->Read(&e)) {
  }
  EXPECT_EQ(w.reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(eventually([&] { return server->watch_streams().active == 0; }));
  EXPECT_TRUE(eventually([&] { return hub->subscription_count() == 0; }));
  publish(5, "after");
  EXPECT_EQ(server->watch_streams().active, 0u);
}

// Verifies cancelling while events are being pushed (the wakeup racing
// OnCancel/OnDone) never crashes or leaks, over many rounds.
TEST_F(WatchApi, CancelRacesPublishing) {
  std::atomic<bool> stop{false};
  std::thread publisher([&] {
    int i = 0;
    while (!stop.load()) {
      put_binding(binding("race" + std::to_string(i % 50) + "@acme.example",
                          "sip:race@192.0.2.4:" + std::to_string(5000 + i % 50)));
      ++i;
    }
  });
  for (int round = 0; round < 30; ++round) {
    Watch w = watch(0);
    v1::RegistrationEvent e;
    for (int k = 0; k < round % 4 && w.reader->Read(&e); ++k) {
    }
    w.context->TryCancel();
    while (w.reader->Read(&e)) {
    }
    w.reader->Finish();
  }
  stop = true;
  publisher.join();
  EXPECT_TRUE(eventually([&] { return server->watch_streams().active == 0; }));
  EXPECT_TRUE(eventually([&] { return hub->subscription_count() == 0; }));
}

// Verifies 100 concurrent watchers all receive the same events, in order.
TEST_F(WatchApi, HundredWatchersReceiveTheSameEvents) {
  std::vector<Watch> watchers;
  for (int i = 0; i < 100; ++i) watchers.push_back(watch());
  EXPECT_EQ(hub->subscription_count(), 100u);
  const uint64_t first = hub->last_sequence() + 1;
  const uint64_t last = publish(20);
  std::vector<uint64_t> want;
  for (uint64_t s = first; s <= last; ++s) want.push_back(s);
  for (Watch& w : watchers) EXPECT_THAT(sequences(read(w, want.size())), ElementsAreArray(want));
  for (Watch& w : watchers) w.context->TryCancel();
  for (Watch& w : watchers) {
    v1::RegistrationEvent e;
    while (w.reader->Read(&e)) {
    }
    w.reader->Finish();
  }
  EXPECT_TRUE(eventually([&] { return server->watch_streams().active == 0; }));
}

// Verifies each event arrives on its own, with nothing published after it: the last
// event of a burst is flushed, never left waiting in gRPC's buffer for a next one.
TEST_F(WatchApi, LoneEventsArriveWithoutAFollowingOne) {
  std::vector<Watch> watchers;
  for (int i = 0; i < 3; ++i) watchers.push_back(watch());
  for (int round = 0; round < 10; ++round) {
    const uint64_t sequence = publish(1, "lone" + std::to_string(round));
    for (Watch& w : watchers) {
      std::vector<v1::RegistrationEvent> got = read(w, 1);
      ASSERT_EQ(got.size(), 1u);
      EXPECT_EQ(got[0].sequence(), sequence);
    }
  }
  for (Watch& w : watchers) w.context->TryCancel();
}

// Verifies bursts (more events than one poll takes, published while the watchers
// write) arrive whole and in order on every watcher, live and resumed from the log.
TEST_F(WatchApi, BurstsArriveWholeAndInOrder) {
  const uint64_t before = hub->last_sequence();
  std::vector<Watch> watchers;
  for (int i = 0; i < 5; ++i) watchers.push_back(watch());
  watchers.push_back(watch(before));
  std::thread publisher([&] { publish(300, "burst"); });
  std::vector<uint64_t> want;
  for (uint64_t s = before + 1; s <= before + 300; ++s) want.push_back(s);
  for (Watch& w : watchers) EXPECT_EQ(sequences(read(w, want.size())), want);
  publisher.join();
  // Then a lone one: the burst's end flushed, this one is flushed too.
  const uint64_t last = publish(1, "after");
  for (Watch& w : watchers) EXPECT_EQ(sequences(read(w, 1)), std::vector<uint64_t>{last});
  for (Watch& w : watchers) w.context->TryCancel();
}

// Verifies an event is converted and serialized once, not once per watcher.
TEST_F(WatchApi, EachEventIsEncodedOnceForAllWatchers) {
  std::vector<Watch> watchers;
  for (int i = 0; i < 10; ++i) watchers.push_back(watch());
  const EncodedEventStats before = server->watch_streams().encoding;
  const uint64_t last = publish(20, "shared");
  for (Watch& w : watchers) EXPECT_EQ(read(w, 20).back().sequence(), last);
  const EncodedEventStats after = server->watch_streams().encoding;
  const uint64_t encoded = after.encoded - before.encoded;
  const uint64_t reused = after.reused - before.reused;
  EXPECT_EQ(encoded + reused, 10u * 20u) << "one encoding per write";
  EXPECT_GE(encoded, 20u);
  // Two streams missing the same event at the same moment may both encode it; far
  // fewer than one per watcher either way.
  EXPECT_LE(encoded, 40u);
  for (Watch& w : watchers) w.context->TryCancel();
}

class LimitedWatchApi : public WatchApi {
 protected:
  FixtureOptions options() const override {
    FixtureOptions o;
    o.max_watchers = 2;
    return o;
  }
};

// Verifies watchers beyond events.max_watchers get RESOURCE_EXHAUSTED TOO_MANY_WATCHERS.
TEST_F(LimitedWatchApi, TooManyWatchers) {
  Watch a = watch(), b = watch();
  v1::WatchRegistrationsRequest req;
  auto c = ctx(kReadToken);
  auto reader = registrations().WatchRegistrations(c.get(), req);
  v1::RegistrationEvent e;
  EXPECT_FALSE(reader->Read(&e));
  grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  ASSERT_TRUE(error_info(s));
  EXPECT_EQ(error_info(s)->reason(), "TOO_MANY_WATCHERS");
  a.context->TryCancel();
  b.context->TryCancel();
}

// Verifies server shutdown ends every stream with UNAVAILABLE and last_sequence.
TEST_F(WatchApi, ShutdownEndsStreamsWithUnavailable) {
  Watch w = watch();
  const uint64_t last = publish(2);
  EXPECT_EQ(read(w, 2).size(), 2u);
  server->shutdown();
  v1::RegistrationEvent e;
  EXPECT_FALSE(w.reader->Read(&e));
  grpc::Status s = w.reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << describe(s);
  ASSERT_TRUE(error_info(s));
  EXPECT_EQ(error_info(s)->metadata().at("last_sequence"), std::to_string(last));
  EXPECT_EQ(server->watch_streams().active, 0u);
}

// Verifies a malformed request is INVALID_ARGUMENT (bad realm, unknown type).
TEST_F(WatchApi, InvalidRequest) {
  v1::WatchRegistrationsRequest req;
  req.set_realm("realms/a/b");
  req.add_types(Type::TYPE_UNSPECIFIED);
  auto c = ctx(kReadToken);
  auto reader = registrations().WatchRegistrations(c.get(), req);
  v1::RegistrationEvent e;
  EXPECT_FALSE(reader->Read(&e));
  grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(violations(s), ElementsAre(HasSubstr("realm: expected"), HasSubstr("types[0]")));
}

}  // namespace
}  // namespace apitest
