// RedisBindingStore (registrar/store/redis/redis_binding_store.h) and its
// connection, against a private redis-server per test: URL parsing, AUTH and
// SELECT, timeouts; every Binding field round-trips; the per-realm index; the
// key's TTL is the set's latest expiry and Redis drops it; purge; group
// commit; sequences across reopen and trims; Redis killed and restarted; and
// garbage in Redis' keys. The event log contract is in event_log_test.cc.
#include "registrar/store/redis/redis_binding_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include "binding_fixtures.h"
#include "redis_server.h"
#include "registrar/store/binding_codec.h"
#include "registrar/store/redis/redis_codec.h"
#include "registrar/store/varint.h"

namespace registrar {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::make_binding;
using ::testing::Not;
using testing::RedisServer;
using ::testing::UnorderedElementsAre;

// Now, in whole milliseconds (what the store keeps).
WallTime now_ms() { return from_epoch_ms(to_epoch_ms(std::chrono::system_clock::now())); }

StoreResult write(BindingStore& store, const std::string& aor, std::vector<Binding> set,
                  std::vector<RegistrationEvent> events = {}) {
  std::promise<StoreResult> p;
  store.replace_aor(aor, std::move(set), std::move(events),
                    [&p](const StoreResult& r) { p.set_value(r); });
  return p.get_future().get();
}

RegistrationEvent registered(const Binding& b) {
  RegistrationEvent e;
  e.time = now_ms();
  e.binding = b;
  return e;
}

class RedisStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServer::available()) GTEST_SKIP() << RedisServer::kNotInstalled;
    ASSERT_TRUE(redis_.start()) << redis_.error();
  }

  std::unique_ptr<RedisBindingStore> open(RedisBindingStoreOptions o = {}) {
    auto opened = RedisBindingStore::open(redis_.url(), o);
    EXPECT_TRUE(opened.ok()) << opened.error;
    return std::move(opened.store);
  }

  // A command on a connection of the test's own.
  RedisReply redis(const std::vector<std::string>& args) {
    if (!raw_) raw_ = std::make_unique<RedisConnection>(redis_.url(), RedisConnectionOptions{});
    RedisResult r = raw_->command(args);
    EXPECT_TRUE(r.ok()) << r.error;
    return r.reply;
  }

  Binding binding(const std::string& aor, const std::string& tag, WallTime expires) {
    return make_binding(aor, "sip:" + tag + "@192.0.2.7", expires);
  }

  RedisServer redis_;
  std::unique_ptr<RedisConnection> raw_;
};

// --- the connection ------------------------------------------------------------------

// Verifies the URL forms: host, port, db, password alone, user and password, IPv6.
TEST(RedisUrl, Parses) {
  auto u = parse_redis_url("redis://10.0.0.5:6380/2");
  ASSERT_TRUE(u.ok()) << u.error;
  EXPECT_EQ(u.url->host, "10.0.0.5");
  EXPECT_EQ(u.url->port, 6380);
  EXPECT_EQ(u.url->db, 2);
  EXPECT_EQ(u.url->password, "");
  u = parse_redis_url("redis://:s3cr%40t@redis.svc");
  ASSERT_TRUE(u.ok()) << u.error;
  EXPECT_EQ(u.url->host, "redis.svc");
  EXPECT_EQ(u.url->port, 6379);
  EXPECT_EQ(u.url->password, "s3cr@t");
  EXPECT_EQ(u.url->user, "");
  EXPECT_THAT(u.url->redacted(), Not(HasSubstr("s3cr")));
  u = parse_redis_url("redis://switchboard:pw@[::1]:7000/0");
  ASSERT_TRUE(u.ok()) << u.error;
  EXPECT_EQ(u.url->user, "switchboard");
  EXPECT_EQ(u.url->password, "pw");
  EXPECT_EQ(u.url->host, "::1");
  EXPECT_EQ(u.url->port, 7000);
  for (const char* bad : {"http://x", "redis://", "redis://h:0", "redis://h:99999", "redis://h:1/x",
                          "redis://:pw@h:port"}) {
    auto r = parse_redis_url(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_THAT(r.error, Not(HasSubstr("pw"))) << bad;
  }
  auto tls = parse_redis_url("rediss://:pw@redis.internal:6380/0");
  EXPECT_FALSE(tls.ok());
  EXPECT_THAT(tls.error, HasSubstr("TLS"));
  EXPECT_THAT(tls.error, Not(HasSubstr("pw")));
}

// Verifies AUTH (password alone, and user + password) and SELECT on connect, and that a
// wrong password fails with Redis' message but never the password.
TEST(RedisConnection, AuthAndSelect) {
  if (!RedisServer::available()) GTEST_SKIP() << RedisServer::kNotInstalled;
  RedisServer server;
  server.extra_args = {"--requirepass", "right-password"};
  ASSERT_TRUE(server.start()) << server.error();
  RedisUrl url = server.url();
  url.password = "wrong-password";
  RedisConnection wrong(url, {});
  const std::string error = wrong.connect();
  EXPECT_THAT(error, HasSubstr("redis AUTH"));
  EXPECT_THAT(error, Not(HasSubstr("wrong-password")));
  EXPECT_FALSE(wrong.connected());

  url.password = "right-password";
  url.db = 3;
  RedisConnection right(url, {});
  ASSERT_EQ(right.connect(), "");
  ASSERT_TRUE(right.command({"SET", "k", "v"}).ok());
  RedisResult r = right.command({"CLIENT", "INFO"});
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(r.reply.str, HasSubstr("db=3"));

  url.user = "default";
  RedisConnection with_user(url, {});
  ASSERT_EQ(with_user.connect(), "");
  EXPECT_EQ(with_user.command({"GET", "k"}).reply.str, "v");
}

// Verifies a server that accepts but never answers fails a call after the I/O timeout,
// and a closed port fails at once: a dead Redis never hangs the caller.
TEST(RedisConnection, DeadServerNeverHangs) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 4), 0);  // the kernel completes handshakes; nobody reads
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  RedisUrl url;
  url.port = ntohs(addr.sin_port);
  RedisConnection c(url, {.connect_timeout = milliseconds(300), .io_timeout = milliseconds(300)});
  const auto started = std::chrono::steady_clock::now();
  RedisResult r = c.command({"PING"});
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.error, HasSubstr("redis PING"));
  EXPECT_LT(took, seconds(2));
  EXPECT_FALSE(c.connected()) << "dropped: the next call reconnects";
  close(fd);
  const auto again = std::chrono::steady_clock::now();
  EXPECT_FALSE(c.command({"PING"}).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - again, seconds(1));
}

// Verifies a pipeline returns one reply per command, in order, error replies included.
TEST_F(RedisStoreTest, PipelineRepliesInOrder) {
  RedisConnection c(redis_.url(), {});
  RedisPipelineResult p =
      c.pipeline({{"SET", "a", "1"}, {"INCR", "a"}, {"HGET", "a", "x"}, {"GET", "missing"}});
  ASSERT_TRUE(p.ok()) << p.error;
  ASSERT_EQ(p.replies.size(), 4u);
  EXPECT_EQ(p.replies[0].str, "OK");
  EXPECT_EQ(p.replies[1].integer, 2);
  EXPECT_TRUE(p.replies[2].is_error());
  EXPECT_THAT(redis_error("HGET", p.replies[2]), HasSubstr("redis HGET: WRONGTYPE"));
  EXPECT_TRUE(p.replies[3].is_nil());
}

// --- the binding store -------------------------------------------------------------

// Verifies every Binding field survives replace and load, and an empty set deletes the AOR.
TEST_F(RedisStoreTest, EveryFieldRoundTrips) {
  auto store = open();
  const WallTime now = now_ms();
  Binding a = binding("alice@acme.test", "a", now + seconds(3600));
  a.transport = "tls";
  a.source_ip = "2001:db8::7";
  a.source_port = 65535;
  a.local_address = "tls:[2001:db8::1]:5061";
  a.connection_id = (uint64_t{1} << 63) + 5;
  a.path = "<sip:edge.acme.test;lr>,<sip:core;lr>";
  a.instance_id = "<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>";
  a.reg_id = 4'000'000'000u;
  a.cseq = 4'294'967'295u;
  a.q = 1000;
  a.user_agent = "Yealink T46U \xe2\x98\x8e";
  a.replica = "switchboard-1";
  a.first_registered = now - seconds(86400);
  a.last_registered = now - milliseconds(1);
  Binding a2 = binding("alice@acme.test", "a2", now + seconds(60));
  a2.q = 0;
  ASSERT_TRUE(write(*store, a.aor, {a, a2}).ok);
  EXPECT_THAT(store->load_unexpired(now), UnorderedElementsAre(a, a2));
  EXPECT_THAT(store->load_unexpired(now + seconds(61)), ElementsAre(a)) << "filtered per binding";
  EXPECT_THAT(store->load_unexpired(now + seconds(3600)), IsEmpty());

  ASSERT_TRUE(write(*store, a.aor, {}).ok);
  EXPECT_THAT(store->load_unexpired(now), IsEmpty());
  EXPECT_EQ(redis({"EXISTS", "sb:aor:alice@acme.test"}).integer, 0);
  EXPECT_EQ(redis({"ZCARD", "sb:aors"}).integer, 0);
}

// Verifies the replica that holds a binding's flow survives in the AOR's value and in
// events (binding and previous), and an AOR value written before replicas existed
// (binding blobs of version 1) still loads, with replica "".
TEST_F(RedisStoreTest, ReplicaRoundTripsInSetsAndEvents) {
  auto store = open();
  const WallTime now = now_ms();
  Binding held = binding("alice@acme.test", "a", now + seconds(600));
  held.replica = "switchboard-0";
  Binding moved = held;
  moved.replica = "switchboard-1";
  moved.source_port = 5070;
  RegistrationEvent replaced = registered(moved);
  replaced.type = RegistrationEventType::kReplaced;
  replaced.previous = held;
  ASSERT_TRUE(write(*store, held.aor, {held}, {registered(held)}).ok);
  ASSERT_TRUE(write(*store, held.aor, {moved}, {replaced}).ok);
  EXPECT_THAT(store->load_unexpired(now), ElementsAre(moved));
  const std::vector<RegistrationEvent> events = store->read_events(0, 10);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].binding.replica, "switchboard-0");
  EXPECT_EQ(events[1].binding, moved);
  EXPECT_EQ(events[1].previous, held);

  // A version 1 blob is a version 2 blob of an empty replica without its last byte
  // (the replica's length, 0), tagged 1 (binding_codec.h).
  Binding old = binding("old@acme.test", "o", now + seconds(600));
  const std::string value = encode_binding_set(old.aor, {old});
  std::string blob;
  encode_binding(old, old.aor, to_epoch_ms(old.expires_at), blob);
  ASSERT_EQ(blob.back(), '\0');
  std::string framed;
  put_string(framed, blob);
  ASSERT_TRUE(value.ends_with(framed));
  std::string v1 = value.substr(0, value.size() - framed.size());
  put_string(v1, '\x01' + blob.substr(1, blob.size() - 2));
  redis({"SET", "sb:aor:" + old.aor, v1});
  redis({"ZADD", "sb:aors", std::to_string(to_epoch_ms(old.expires_at)), old.aor});
  EXPECT_THAT(store->load_unexpired(now), UnorderedElementsAre(moved, old));
}

// Verifies the per-realm index follows the AORs' sets: added, moved to another realm, removed.
TEST_F(RedisStoreTest, PerRealmIndex) {
  auto store = open();
  const WallTime exp = now_ms() + seconds(600);
  ASSERT_TRUE(write(*store, "alice@acme.test", {binding("alice@acme.test", "a", exp)}).ok);
  ASSERT_TRUE(write(*store, "bob@acme.test", {binding("bob@acme.test", "b", exp)}).ok);
  ASSERT_TRUE(write(*store, "carol@other.test", {binding("carol@other.test", "c", exp)}).ok);
  auto members = [&](const std::string& realm) {
    std::vector<std::string> out;
    for (const RedisReply& e : redis({"ZRANGE", "sb:realm:" + realm, "0", "-1"}).elements)
      out.push_back(e.str);
    return out;
  };
  EXPECT_THAT(members("acme.test"), ElementsAre("alice@acme.test", "bob@acme.test"));
  EXPECT_THAT(members("other.test"), ElementsAre("carol@other.test"));
  EXPECT_EQ(redis({"ZSCORE", "sb:realm:acme.test", "bob@acme.test"}).str,
            std::to_string(to_epoch_ms(exp)));

  Binding moved = binding("alice@acme.test", "a", exp);
  moved.realm = "other.test";
  ASSERT_TRUE(write(*store, moved.aor, {moved}).ok);
  EXPECT_THAT(members("acme.test"), ElementsAre("bob@acme.test"));
  EXPECT_THAT(members("other.test"), ElementsAre("alice@acme.test", "carol@other.test"));
  ASSERT_TRUE(write(*store, "bob@acme.test", {}).ok);
  EXPECT_THAT(members("acme.test"), IsEmpty());
}

// Verifies the AOR key's expiry is the set's latest expires_at plus the grace, that Redis
// drops the key itself once it passes, and that a set already expired is not kept at all
// (grace 0 here; the default grace is checked at the end).
TEST_F(RedisStoreTest, KeyExpiresWithItsLatestBinding) {
  RedisBindingStoreOptions no_grace;
  no_grace.expiry_grace = seconds(0);
  auto store = open(no_grace);
  const WallTime now = now_ms();
  const WallTime latest = now + seconds(60);
  ASSERT_TRUE(write(*store, "alice@acme.test",
                    {binding("alice@acme.test", "a", now + seconds(30)),
                     binding("alice@acme.test", "b", latest)})
                  .ok);
  EXPECT_EQ(redis({"PEXPIRETIME", "sb:aor:alice@acme.test"}).integer, to_epoch_ms(latest));
  const long long pttl = redis({"PTTL", "sb:aor:alice@acme.test"}).integer;
  EXPECT_GT(pttl, 55'000);
  EXPECT_LE(pttl, 60'000);

  ASSERT_TRUE(
      write(*store, "bob@acme.test", {binding("bob@acme.test", "b", now + milliseconds(1200))}).ok);
  ASSERT_TRUE(write(*store, "old@acme.test", {binding("old@acme.test", "o", now - seconds(1))}).ok);
  EXPECT_EQ(redis({"EXISTS", "sb:aor:old@acme.test"}).integer, 0) << "expired on arrival";
  EXPECT_EQ(redis({"EXISTS", "sb:aor:bob@acme.test"}).integer, 1);
  std::this_thread::sleep_for(milliseconds(1500));
  EXPECT_EQ(redis({"EXISTS", "sb:aor:bob@acme.test"}).integer, 0) << "dropped by Redis";
  EXPECT_THAT(store->load_unexpired(now_ms()),
              ElementsAre(::testing::Field(&Binding::aor, "alice@acme.test"),
                          ::testing::Field(&Binding::aor, "alice@acme.test")));

  // The default: Redis keeps the key 10 minutes longer, for the replicas to
  // report the expiry themselves.
  auto graceful = open();
  ASSERT_TRUE(
      write(*graceful, "carol@acme.test", {binding("carol@acme.test", "c", now + seconds(30))}).ok);
  EXPECT_EQ(redis({"PEXPIRETIME", "sb:aor:carol@acme.test"}).integer,
            to_epoch_ms(now + seconds(30 + 600)));
}

// Verifies purge_expired removes the AORs expired longer than the grace from both indexes
// (their keys are gone) and keeps the live ones and those still within the grace.
TEST_F(RedisStoreTest, PurgeExpired) {
  RedisBindingStoreOptions o;
  o.expiry_grace = seconds(2);
  auto store = open(o);
  const WallTime now = now_ms();
  ASSERT_TRUE(
      write(*store, "live@acme.test", {binding("live@acme.test", "l", now + seconds(600))}).ok);
  ASSERT_TRUE(
      write(*store, "dead@acme.test", {binding("dead@acme.test", "d", now - seconds(5))}).ok);
  ASSERT_TRUE(
      write(*store, "dead@other.test", {binding("dead@other.test", "d", now - seconds(5))}).ok);
  EXPECT_EQ(redis({"ZCARD", "sb:aors"}).integer, 3);
  EXPECT_EQ(store->purge_expired(now - seconds(4)), 0u) << "within the grace";
  EXPECT_EQ(store->purge_expired(now), 2u);
  EXPECT_EQ(store->purge_expired(now), 0u);
  EXPECT_EQ(redis({"ZCARD", "sb:aors"}).integer, 1);
  EXPECT_EQ(redis({"ZCARD", "sb:realm:acme.test"}).integer, 1);
  EXPECT_EQ(redis({"EXISTS", "sb:realm:other.test"}).integer, 0);
  EXPECT_EQ(store->load_unexpired(now).size(), 1u);
}

// Verifies 1,000 concurrent writes are committed in far fewer round trips (batches), with
// consecutive sequences whose `done` callbacks run in sequence order.
TEST_F(RedisStoreTest, GroupCommit) {
  auto store = open();
  constexpr int kThreads = 8, kPerThread = 125;
  std::mutex mu;
  std::vector<uint64_t> order;
  std::atomic<int> failed{0};
  const WallTime exp = now_ms() + seconds(600);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string aor = "u" + std::to_string(t * kPerThread + i) + "@acme.test";
        const Binding b = binding(aor, "x", exp);
        store->replace_aor(aor, {b}, {registered(b)}, [&](const StoreResult& r) {
          if (!r.ok) failed.fetch_add(1);
          std::lock_guard lock(mu);
          order.push_back(r.first_sequence);
        });
      }
    });
  }
  for (std::thread& t : threads) t.join();
  store->flush();
  EXPECT_EQ(failed.load(), 0);
  ASSERT_EQ(order.size(), 1000u);
  for (size_t i = 0; i < order.size(); ++i) ASSERT_EQ(order[i], i + 1) << "done in sequence order";
  const RedisBindingStoreStats s = store->stats();
  EXPECT_EQ(s.writes_committed, 1000u);
  EXPECT_EQ(s.events_written, 1000u);
  EXPECT_LT(s.batches, 250u) << "group commit: far fewer round trips than writes";
  EXPECT_GT(s.largest_batch, 1u);
  EXPECT_EQ(store->load_unexpired(now_ms()).size(), 1000u);
  EXPECT_EQ(store->event_log_state().next_sequence, 1001u);
}

// Verifies sequences continue after reopening the store, after trims, and after the whole
// stream was trimmed away: never reused.
TEST_F(RedisStoreTest, SequencesSurviveReopenAndTrims) {
  const WallTime exp = now_ms() + seconds(600);
  auto one = [&](BindingStore& s, const std::string& tag) {
    const Binding b = binding("s@acme.test", tag, exp);
    const StoreResult r = write(s, b.aor, {b}, {registered(b)});
    EXPECT_TRUE(r.ok) << r.error;
    s.flush();
    return r.first_sequence;
  };
  {
    RedisBindingStoreOptions o;
    o.events = {.max_events = 3, .max_age = seconds(0)};
    o.trim_interval = milliseconds(0);
    auto store = open(o);
    for (int i = 1; i <= 5; ++i) EXPECT_EQ(one(*store, "a" + std::to_string(i)), uint64_t(i));
    EXPECT_EQ(store->event_log_state().oldest_retained, 3u);
    EXPECT_EQ(store->stats().events_trimmed, 2u);
  }
  {
    auto store = open();
    EXPECT_EQ(store->event_log_state().next_sequence, 6u);
    EXPECT_EQ(one(*store, "b"), 6u);
    redis({"XTRIM", "sb:events", "MAXLEN", "0"});
    const EventLogState s = store->event_log_state();
    EXPECT_EQ(s.oldest_retained, 7u);
    EXPECT_EQ(s.next_sequence, 7u);
    EXPECT_THAT(store->read_events(0, 10), IsEmpty());
    EXPECT_EQ(one(*store, "c"), 7u);
    EXPECT_EQ(store->read_events(0, 10).size(), 1u);
  }
  // A lost counter does not make sequences go back: the stream's last ID wins.
  redis({"DEL", "sb:events:last"});
  auto store = open();
  EXPECT_EQ(one(*store, "d"), 8u);
}

// Verifies writes fail quickly (no hang) with "redis …" and healthy() turns false while
// Redis is down, and the next writes reconnect and succeed once it is back (its scripts
// forgotten: EVAL fallback).
TEST_F(RedisStoreTest, RedisDownThenBack) {
  auto store = open();
  const WallTime exp = now_ms() + seconds(600);
  const Binding b = binding("alice@acme.test", "a", exp);
  ASSERT_TRUE(write(*store, b.aor, {b}, {registered(b)}).ok);
  EXPECT_TRUE(store->healthy());

  redis_.stop();
  for (int i = 0; i < 3; ++i) {
    const auto started = std::chrono::steady_clock::now();
    const StoreResult r = write(*store, b.aor, {b}, {registered(b)});
    EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(2));
    EXPECT_FALSE(r.ok);
    EXPECT_THAT(r.error, HasSubstr("redis"));
    EXPECT_EQ(r.first_sequence, 0u);
    EXPECT_FALSE(store->healthy());
  }
  EXPECT_THAT(store->read_events(0, 10), IsEmpty());
  EXPECT_EQ(store->event_log_state().next_sequence, 1u) << "{1, 1} when the read fails";

  ASSERT_TRUE(redis_.start()) << redis_.error();  // same port, empty (no persistence)
  const StoreResult r = write(*store, b.aor, {b}, {registered(b)});
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.first_sequence, 1u);
  EXPECT_TRUE(store->healthy());
  EXPECT_GE(store->stats().reconnects, 1u);
  EXPECT_GE(store->stats().batches_failed, 3u);
  EXPECT_THAT(store->load_unexpired(now_ms()), ElementsAre(b));
  EXPECT_EQ(store->read_events(0, 10).size(), 1u);
}

// Verifies hostile values are skipped on load (not crashed on), undecodable events keep
// their sequence, and a key of the wrong type fails the write without changing anything.
TEST_F(RedisStoreTest, GarbageIsSkipped) {
  auto store = open();
  const WallTime now = now_ms();
  const std::string far = std::to_string(to_epoch_ms(now + seconds(600)));
  const Binding good = binding("good@acme.test", "g", now + seconds(600));
  ASSERT_TRUE(write(*store, good.aor, {good}, {registered(good)}).ok);
  const std::vector<std::string> garbage = {"",
                                            "sb1 ",
                                            "sb1 5\nab",
                                            "sb1 0\n\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
                                            "sb1 0\n\x01\x05\x03"
                                            "abc",
                                            "sb1 99999999999\n",
                                            std::string("sb1 0\n\x00\x01\x02\x01\x00", 11),
                                            "not a binding at all"};
  for (size_t i = 0; i < garbage.size(); ++i) {
    const std::string aor = "bad" + std::to_string(i) + "@acme.test";
    redis({"SET", "sb:aor:" + aor, garbage[i]});
    redis({"ZADD", "sb:aors", far, aor});
  }
  redis({"HSET", "sb:aor:hash@acme.test", "f", "v"});
  redis({"ZADD", "sb:aors", far, "hash@acme.test"});
  redis({"ZADD", "sb:aors", far, "vanished@acme.test"});
  EXPECT_THAT(store->load_unexpired(now), ElementsAre(good));

  // An undecodable event keeps its sequence (and time); the log stays consecutive.
  redis({"XADD", "sb:events", "2-0", "t", "12", "a", "x@acme.test", "e", "\x01\x09junk"});
  redis({"SET", "sb:events:last", "2"});
  const std::vector<RegistrationEvent> events = store->read_events(0, 10);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].sequence, 2u);
  EXPECT_EQ(events[1].binding.aor, "x@acme.test");
  const Binding next = binding("next@acme.test", "n", now + seconds(600));
  EXPECT_EQ(write(*store, next.aor, {next}, {registered(next)}).first_sequence, 3u);

  // Wrong types: refused before anything is written.
  redis({"DEL", "sb:events:last"});
  redis({"HSET", "sb:events:last", "x", "y"});
  const Binding other = binding("other@acme.test", "o", now + seconds(600));
  StoreResult r = write(*store, other.aor, {other}, {registered(other)});
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.error, HasSubstr("WRONGTYPE"));
  EXPECT_EQ(redis({"EXISTS", "sb:aor:other@acme.test"}).integer, 0) << "atomic: nothing written";
  redis({"DEL", "sb:events:last"});
  redis({"SET", "sb:realm:acme.test", "not a zset"});
  r = write(*store, other.aor, {other}, {registered(other)});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(redis({"EXISTS", "sb:aor:other@acme.test"}).integer, 0);
  EXPECT_EQ(redis({"XLEN", "sb:events"}).integer, 3);
  EXPECT_TRUE(store->healthy()) << "a script error is the write's, not the connection's";
}

// Verifies the prefix option keeps two stores' keys apart.
TEST_F(RedisStoreTest, PrefixSeparatesStores) {
  RedisBindingStoreOptions o;
  o.prefix = "tenant2:";
  auto a = open();
  auto b = open(o);
  const Binding x = binding("x@acme.test", "x", now_ms() + seconds(600));
  ASSERT_TRUE(write(*a, x.aor, {x}, {registered(x)}).ok);
  EXPECT_THAT(b->load_unexpired(now_ms()), IsEmpty());
  EXPECT_EQ(b->event_log_state().next_sequence, 1u);
  EXPECT_EQ(redis({"EXISTS", "sb:aor:x@acme.test"}).integer, 1);
}

// Verifies a full queue with kFail refuses writes with a reason instead of blocking.
TEST_F(RedisStoreTest, QueueFullFails) {
  RedisBindingStoreOptions o;
  o.max_queue = 1;
  o.when_full = RedisBindingStoreOptions::WhenFull::kFail;
  auto store = open(o);
  std::atomic<int> rejected{0}, ok{0};
  const Binding x = binding("x@acme.test", "x", now_ms() + seconds(600));
  for (int i = 0; i < 200; ++i) {
    store->replace_aor(x.aor, {x}, {}, [&](const StoreResult& r) {
      if (r.ok)
        ok.fetch_add(1);
      else if (r.error.find("queue full") != std::string::npos)
        rejected.fetch_add(1);
    });
  }
  store->flush();
  EXPECT_EQ(ok.load() + rejected.load(), 200);
  EXPECT_EQ(store->stats().writes_rejected, static_cast<uint64_t>(rejected.load()));
}

}  // namespace
}  // namespace registrar
