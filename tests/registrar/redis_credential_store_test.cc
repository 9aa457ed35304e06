// RedisCredentialStore (registrar/store/redis/redis_credential_store.h), the
// cases of sqlite_credential_store_test.cc against a private redis-server:
// realm and credential CRUD, persistence across reopen, case rules, respelling,
// cascading realm deletes, garbage values, concurrent readers; and the value
// encodings. Then the snapshot shared by replicas: two stores on one Redis
// (puts, removes, cascades seen across), changes written by hand and
// announced, gaps, a restarted or flushed Redis, reads while Redis hangs,
// concurrent writers converging.
#include "registrar/store/redis/redis_credential_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <future>
#include <random>
#include <thread>

#include "redis_server.h"

namespace registrar {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using testing::RedisServer;

Realm named(const std::string& name) {
  Realm r;
  r.name = name;
  return r;
}

Realm full_realm() {
  Realm r;
  r.name = "Acme.Test";
  r.challenge = ChallengeMode::k407;
  r.algorithms = {DigestAlgorithm::kSha256, DigestAlgorithm::kMd5};
  r.allow_qop_less = true;
  r.default_expires = 1800;
  r.min_expires = 30;
  r.max_expires = 86400;
  r.max_contacts = 3;
  r.overflow = ContactOverflowPolicy::kEvictOldest;
  r.source_auth = SourceAuthMode::kTrustedAndDigest;
  r.trusted_sources = {{"192.0.2.0/24"}, {"2001:db8::/32"}};
  r.aliases = {{"alice", {"sales", "+15551234", "a,b;c=d%e\nf"}}, {"bob;x=y", {}}};
  return r;
}

Realm full_realm_named(const std::string& name) {
  Realm r = full_realm();
  r.name = name;
  return r;
}

bool same_realm(const Realm& a, const Realm& b) {
  auto cidrs = [](const Realm& r) {
    std::vector<std::string> out;
    for (const Cidr& c : r.trusted_sources) out.push_back(c.text);
    return out;
  };
  return a.name == b.name && a.challenge == b.challenge && a.algorithms == b.algorithms &&
         a.allow_qop_less == b.allow_qop_less && a.default_expires == b.default_expires &&
         a.min_expires == b.min_expires && a.max_expires == b.max_expires &&
         a.max_contacts == b.max_contacts && a.overflow == b.overflow &&
         a.source_auth == b.source_auth && cidrs(a) == cidrs(b) && a.aliases == b.aliases;
}

class RedisCredentialStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServer::available()) GTEST_SKIP() << RedisServer::kNotInstalled;
    ASSERT_TRUE(redis_.start()) << redis_.error();
  }
  std::unique_ptr<RedisCredentialStore> open_store() {
    auto opened = RedisCredentialStore::open(redis_.url(), {});
    EXPECT_TRUE(opened.ok()) << opened.error;
    return std::move(opened.store);
  }
  RedisReply redis(const std::vector<std::string>& args) {
    if (!raw_) raw_ = std::make_unique<RedisConnection>(redis_.url(), RedisConnectionOptions{});
    RedisResult r = raw_->command(args);
    EXPECT_TRUE(r.ok()) << r.error;
    return r.reply;
  }
  // The admin stream's last-generated ID as {ms, seq}.
  std::pair<uint64_t, uint64_t> admin_last() {
    const RedisReply info = redis({"XINFO", "STREAM", "sb:admin"});
    for (size_t i = 0; i + 1 < info.elements.size(); i += 2) {
      if (info.elements[i].str != "last-generated-id") continue;
      const std::string& id = info.elements[i + 1].str;
      const size_t dash = id.find('-');
      return {std::stoull(id.substr(0, dash)), std::stoull(id.substr(dash + 1))};
    }
    ADD_FAILURE() << "no admin stream";
    return {0, 0};
  }
  // Announces a change made by hand as the store's scripts do: the entry right after the
  // last one, so the tailers re-read just what it names.
  void announce_next(const std::vector<std::string>& fields) {
    const auto [ms, seq] = admin_last();
    announce_as(std::to_string(ms) + "-" + std::to_string(seq + 1), fields);
  }
  // Announces with the ID given ("*": as an operator would), not necessarily the next one.
  void announce_as(const std::string& id, const std::vector<std::string>& fields) {
    std::vector<std::string> args{"XADD", "sb:admin", id};
    args.insert(args.end(), fields.begin(), fields.end());
    redis(args);
  }
  RedisServer redis_;
  std::unique_ptr<RedisConnection> raw_;
};

// Whether `done()` holds within `limit` (polled): how another replica's change is awaited.
template <class Done>
bool eventually(Done done, std::chrono::milliseconds limit = std::chrono::milliseconds(2000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Verifies every realm setting survives a put and a reopen.
TEST_F(RedisCredentialStoreTest, RealmRoundTrips) {
  const Realm realm = full_realm();
  {
    auto store = open_store();
    ASSERT_TRUE(store->put_realm(realm).ok);
    auto found = store->find_realm("Acme.Test");
    ASSERT_TRUE(found);
    EXPECT_TRUE(same_realm(*found, realm));
  }
  auto store = open_store();
  auto found = store->find_realm("acme.test");
  ASSERT_TRUE(found);
  EXPECT_TRUE(same_realm(*found, realm));
  ASSERT_EQ(store->list_realms().size(), 1u);
  EXPECT_TRUE(same_realm(store->list_realms()[0], realm));
}

// Verifies the encodings round-trip defaults too, and refuse malformed values.
TEST(RedisCredentialEncoding, RoundTripsAndRefusesGarbage) {
  const Realm defaults = named("x.test");
  auto back = decode_redis_realm(encode_redis_realm(defaults));
  ASSERT_TRUE(back);
  EXPECT_TRUE(same_realm(*back, defaults));
  back = decode_redis_realm(encode_redis_realm(full_realm()));
  ASSERT_TRUE(back);
  EXPECT_TRUE(same_realm(*back, full_realm()));
  for (const char* bad : {"", "sbr2\nname=x", "sbr1\n", "sbr1\nname=x\nchallenge=999",
                          "sbr1\nname=x\nalgorithms=", "sbr1\nname=x\nalgorithms=ROT13",
                          "sbr1\nname=x\nmax_contacts=-1", "sbr1\nname=x\naliases=a",
                          "sbr1\nname=%zz", "sbr1\nnoequals"}) {
    EXPECT_FALSE(decode_redis_realm(bad)) << bad;
  }
  EXPECT_TRUE(decode_redis_realm("sbr1\nname=x\nfuture_field=1")) << "unknown fields ignored";

  const Credential c = Credential::from_password("acme.test", "alice", "pw", "acme.test");
  const std::string encoded = encode_redis_credential(c);
  EXPECT_THAT(encoded, Not(HasSubstr("pw\n")));
  EXPECT_EQ(decode_redis_credential(encoded, "acme.test", "alice"), c);
  EXPECT_FALSE(decode_redis_credential("sbc1\nha1_md5=zz", "acme.test", "alice"));
  EXPECT_FALSE(decode_redis_credential("sbc1\n", "acme.test", "alice")) << "no hash";
  EXPECT_FALSE(decode_redis_credential(encoded, "acme.test", ""));
}

// Verifies realm names compare case-insensitively (they are domains).
TEST_F(RedisCredentialStoreTest, RealmNamesIgnoreCase) {
  auto store = open_store();
  ASSERT_TRUE(store->put_realm(named("Acme.Test")).ok);
  ASSERT_TRUE(store->find_realm("acme.test"));
  EXPECT_EQ(store->find_realm("ACME.TEST")->name, "Acme.Test");
  EXPECT_FALSE(store->find_realm("acme.test."));
  EXPECT_TRUE(store->remove_realm("ACME.test"));
  EXPECT_FALSE(store->find_realm("acme.test"));
  EXPECT_FALSE(store->remove_realm("acme.test"));
}

// Verifies a realm without a name or algorithms is refused with a reason.
TEST_F(RedisCredentialStoreTest, InvalidRealmIsRefused) {
  auto store = open_store();
  EXPECT_THAT(store->put_realm(Realm{}).error, HasSubstr("name is empty"));
  Realm r = named("x.test");
  r.algorithms.clear();
  EXPECT_THAT(store->put_realm(r).error, HasSubstr("no digest algorithm"));
  EXPECT_THAT(store->list_realms(), IsEmpty());
}

// Verifies credential CRUD, and that only HA1s are stored and reloaded.
TEST_F(RedisCredentialStoreTest, CredentialCrud) {
  const Credential alice = Credential::from_password("acme.test", "alice", "secret", "acme.test");
  const Credential bob = Credential::from_password("acme.test", "bob", "hunter2");
  {
    auto store = open_store();
    ASSERT_TRUE(store->put_realm(named("acme.test")).ok);
    ASSERT_TRUE(store->put_credential(bob).ok);
    ASSERT_TRUE(store->put_credential(alice).ok);
    EXPECT_EQ(store->find_credential("ACME.test", "alice"), alice);
    EXPECT_FALSE(store->find_credential("acme.test", "Alice")) << "usernames are case-sensitive";
    EXPECT_THAT(store->list_credentials("acme.test"), ElementsAre(alice, bob));
    ASSERT_TRUE(store->put_credential(Credential::from_password("acme.test", "alice", "new")).ok);
    EXPECT_NE(store->find_credential("acme.test", "alice"), alice);
    EXPECT_TRUE(store->remove_credential("acme.test", "bob"));
    EXPECT_FALSE(store->remove_credential("acme.test", "bob"));
  }
  auto store = open_store();
  EXPECT_EQ(store->find_credential("acme.test", "alice"),
            Credential::from_password("acme.test", "alice", "new"));
  EXPECT_FALSE(store->find_credential("acme.test", "bob"));
  // No password anywhere in Redis.
  for (const RedisReply& key : redis({"KEYS", "*"}).elements) {
    const RedisReply type = redis({"TYPE", key.str});
    if (type.str != "hash") continue;
    for (const RedisReply& v : redis({"HGETALL", key.str}).elements) {
      EXPECT_THAT(v.str, Not(HasSubstr("new")));
      EXPECT_THAT(v.str, Not(HasSubstr("hunter2")));
      EXPECT_THAT(v.str, Not(HasSubstr("secret")));
    }
  }
}

// Verifies a credential needs its realm, spelled exactly as the realm is.
TEST_F(RedisCredentialStoreTest, CredentialNeedsItsRealm) {
  auto store = open_store();
  StoreResult r = store->put_credential(Credential::from_password("nowhere.test", "alice", "pw"));
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.error, HasSubstr("does not exist"));
  ASSERT_TRUE(store->put_realm(named("acme.test")).ok);
  r = store->put_credential(Credential::from_password("ACME.test", "alice", "pw"));
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.error, HasSubstr("HA1 must hash the realm as challenged"));
  EXPECT_THAT(r.error, HasSubstr("the realm is 'acme.test'"));
}

// Verifies replacing a realm keeps its credentials, and a realm with credentials cannot be
// respelled.
TEST_F(RedisCredentialStoreTest, PutRealmKeepsCredentials) {
  const Credential alice = Credential::from_password("acme.test", "alice", "pw");
  {
    auto store = open_store();
    ASSERT_TRUE(store->put_realm(named("acme.test")).ok);
    ASSERT_TRUE(store->put_credential(alice).ok);
    Realm r = named("acme.test");
    r.max_contacts = 2;
    ASSERT_TRUE(store->put_realm(r).ok);
    EXPECT_EQ(store->find_credential("acme.test", "alice"), alice);
    EXPECT_THAT(store->put_realm(named("ACME.TEST")).error, HasSubstr("cannot be respelled"));
    ASSERT_TRUE(store->put_realm(named("Empty.Test")).ok);
    EXPECT_TRUE(store->put_realm(named("empty.test")).ok) << "no credentials: respelling is fine";
    EXPECT_EQ(store->find_realm("EMPTY.test")->name, "empty.test");
  }
  auto store = open_store();
  EXPECT_EQ(store->find_realm("acme.test")->max_contacts, 2u);
  EXPECT_EQ(store->find_credential("acme.test", "alice"), alice);
}

// Verifies deleting a realm deletes its credentials, and no others.
TEST_F(RedisCredentialStoreTest, RemoveRealmCascades) {
  auto store = open_store();
  ASSERT_TRUE(store->put_realm(named("acme.test")).ok);
  ASSERT_TRUE(store->put_realm(named("other.test")).ok);
  ASSERT_TRUE(store->put_credential(Credential::from_password("acme.test", "alice", "pw")).ok);
  ASSERT_TRUE(store->put_credential(Credential::from_password("other.test", "alice", "pw")).ok);
  EXPECT_TRUE(store->remove_realm("acme.test"));
  EXPECT_FALSE(store->find_credential("acme.test", "alice"));
  EXPECT_EQ(redis({"EXISTS", "sb:creds:acme.test"}).integer, 0);
  ASSERT_TRUE(store->put_realm(named("acme.test")).ok);
  EXPECT_THAT(store->list_credentials("acme.test"), IsEmpty());
  EXPECT_TRUE(store->find_credential("other.test", "alice"));
}

// Verifies list_realms is sorted case-insensitively.
TEST_F(RedisCredentialStoreTest, ListRealmsSorted) {
  auto store = open_store();
  for (const char* n : {"b.test", "A.test", "c.test"}) ASSERT_TRUE(store->put_realm(named(n)).ok);
  std::vector<std::string> names;
  for (const Realm& r : store->list_realms()) names.push_back(r.name);
  EXPECT_THAT(names, ElementsAre("A.test", "b.test", "c.test"));
}

// Verifies garbage values are skipped, not crashed on: by the tailer that is told of them and
// by a store that loads them.
TEST_F(RedisCredentialStoreTest, GarbageIsSkipped) {
  auto store = open_store();
  ASSERT_TRUE(store->put_realm(named("acme.test")).ok);
  ASSERT_TRUE(store->put_credential(Credential::from_password("acme.test", "alice", "pw")).ok);
  redis({"HSET", "sb:creds:acme.test", "mallory",
         "sbc1\nha1_md5=zz0123456789abcdef0123456789abcdef"});
  redis({"HSET", "sb:realms", "bad.test", "\x01garbage"});
  redis({"HSET", "sb:realms", "misfiled.test", "sbr1\nname=other.test"});
  announce_next({"k", "credential", "r", "acme.test", "u", "mallory", "op", "put"});
  announce_next({"k", "realm", "r", "bad.test", "op", "put"});
  announce_next({"k", "realm", "r", "misfiled.test", "op", "put"});
  announce_next({"k", "future-kind", "r", "acme.test"});
  // Entries are applied in order: once this one is seen, the garbage was read.
  redis({"HSET", "sb:realms", "sentinel.test", encode_redis_realm(named("sentinel.test"))});
  announce_next({"k", "realm", "r", "sentinel.test", "op", "put"});
  ASSERT_TRUE(eventually([&] { return store->find_realm("sentinel.test").has_value(); }));
  auto loaded = open_store();
  for (RedisCredentialStore* s : {store.get(), loaded.get()}) {
    EXPECT_TRUE(s->find_credential("acme.test", "alice"));
    EXPECT_FALSE(s->find_credential("acme.test", "mallory"));
    EXPECT_EQ(s->list_credentials("acme.test").size(), 1u);
    EXPECT_FALSE(s->find_realm("bad.test"));
    EXPECT_FALSE(s->find_realm("misfiled.test"));
    EXPECT_EQ(s->list_realms().size(), 2u);
    EXPECT_TRUE(s->available());
  }
  loaded.reset();
  // A key of the wrong type is no answer: the store is unavailable (the registrar answers
  // 503), not empty (404), and cannot be opened.
  redis({"DEL", "sb:realms"});
  redis({"SET", "sb:realms", "a string"});
  announce_next({"k", "realm", "r", "acme.test", "op", "put"});
  ASSERT_TRUE(eventually([&] { return !store->available(); }));
  EXPECT_FALSE(store->find_realm("acme.test"));
  EXPECT_THAT(store->list_realms(), IsEmpty());
  EXPECT_FALSE(store->put_realm(named("x.test")).ok);
  auto reopened = RedisCredentialStore::open(redis_.url(), {});
  EXPECT_FALSE(reopened.ok());
  EXPECT_THAT(reopened.error, HasSubstr("WRONGTYPE"));
  // Repaired: the tailer, which kept trying, loads again.
  redis({"DEL", "sb:realms"});
  EXPECT_TRUE(eventually([&] { return store->available(); }));
  EXPECT_THAT(store->list_realms(), IsEmpty());
}

// Verifies readers run concurrently with writers and always see whole values.
TEST_F(RedisCredentialStoreTest, ConcurrentReadsDuringWrites) {
  auto store = open_store();
  ASSERT_TRUE(store->put_realm(named("acme.test")).ok);
  const Credential v1 = Credential::from_password("acme.test", "alice", "one");
  const Credential v2 = Credential::from_password("acme.test", "alice", "two");
  ASSERT_TRUE(store->put_credential(v1).ok);
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0}, reads{0};
  std::thread reader([&] {
    while (!stop) {
      auto c = store->find_credential("acme.test", "alice");
      if (!c || (*c != v1 && *c != v2)) bad.fetch_add(1);
      reads.fetch_add(1);
    }
  });
  while (reads.load() == 0) std::this_thread::yield();
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(store->put_credential(i % 2 ? v1 : v2).ok);
  stop = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
}

// Verifies a store on a dead Redis fails puts with "redis …" and reads as not found.
TEST_F(RedisCredentialStoreTest, RedisDown) {
  auto store = open_store();
  ASSERT_TRUE(store->put_realm(named("acme.test")).ok);
  redis_.stop();
  const StoreResult r = store->put_realm(named("b.test"));
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.error, HasSubstr("redis"));
  EXPECT_FALSE(store->find_realm("acme.test"));
  ASSERT_TRUE(redis_.start());
  EXPECT_TRUE(store->put_realm(named("acme.test")).ok) << "reconnected";
  EXPECT_TRUE(store->find_realm("acme.test"));
}

// ---- The snapshot, shared by replicas.

// Verifies a write appends one entry naming what changed, and a write that changes nothing none.
TEST_F(RedisCredentialStoreTest, WritesAnnounceWhatChanged) {
  auto store = open_store();
  const long long start = redis({"XLEN", "sb:admin"}).integer;  // the epoch entry
  ASSERT_TRUE(store->put_realm(named("Acme.Test")).ok);
  ASSERT_TRUE(store->put_realm(named("Acme.Test")).ok);
  ASSERT_TRUE(store->put_credential(Credential::from_password("Acme.Test", "Alice", "pw")).ok);
  ASSERT_TRUE(store->put_credential(Credential::from_password("Acme.Test", "Alice", "pw")).ok);
  EXPECT_FALSE(store->remove_credential("acme.test", "nobody"));
  EXPECT_TRUE(store->remove_credential("ACME.test", "Alice"));
  EXPECT_FALSE(store->remove_realm("nowhere.test"));
  EXPECT_TRUE(store->remove_realm("acme.test"));
  const RedisReply entries = redis({"XRANGE", "sb:admin", "-", "+"});
  ASSERT_EQ(entries.elements.size(), static_cast<size_t>(start + 4));
  std::vector<std::vector<std::string>> fields;
  for (size_t i = start; i < entries.elements.size(); ++i) {
    fields.emplace_back();
    for (const RedisReply& f : entries.elements[i].elements[1].elements)
      fields.back().push_back(f.str);
  }
  EXPECT_THAT(fields, ElementsAre(ElementsAre("k", "realm", "r", "acme.test", "op", "put"),
                                  ElementsAre("k", "credential", "r", "acme.test", "u", "Alice",
                                              "op", "put"),
                                  ElementsAre("k", "credential", "r", "acme.test", "u", "Alice",
                                              "op", "del"),
                                  ElementsAre("k", "realm", "r", "acme.test", "op", "del")));
  // Consecutive IDs: a reader can tell a gap.
  const auto [ms, seq] = admin_last();
  EXPECT_EQ(entries.elements.back().elements[0].str,
            std::to_string(ms) + "-" + std::to_string(seq));
  EXPECT_EQ(entries.elements[start].elements[0].str,
            std::to_string(ms) + "-" + std::to_string(seq - 3));
}

// Verifies puts through replica A are found at replica B, within the tail latency.
TEST_F(RedisCredentialStoreTest, PutThroughOneReplicaIsFoundAtAnother) {
  auto a = open_store();
  auto b = open_store();
  const Credential alice = Credential::from_password("Acme.Test", "alice", "pw");
  ASSERT_TRUE(a->put_realm(full_realm()).ok);
  ASSERT_TRUE(a->put_realm(named("plain.test")).ok);
  ASSERT_TRUE(a->put_credential(alice).ok);
  // Each change in its time: re-reading current values, B may see a later change to one key
  // before an earlier change to another.
  ASSERT_TRUE(eventually([&] { return b->find_credential("acme.test", "alice") == alice; }));
  EXPECT_TRUE(same_realm(*b->find_realm("ACME.test"), full_realm()));
  EXPECT_TRUE(eventually([&] { return b->find_realm("plain.test").has_value(); }));
  // A replaced credential and realm.
  const Credential changed = Credential::from_password("Acme.Test", "alice", "new");
  ASSERT_TRUE(a->put_credential(changed).ok);
  Realm r = full_realm();
  r.max_contacts = 7;
  ASSERT_TRUE(a->put_realm(r).ok);
  EXPECT_TRUE(eventually([&] { return b->find_credential("acme.test", "alice") == changed; }));
  EXPECT_TRUE(eventually([&] { return b->find_realm("acme.test")->max_contacts == 7u; }));
  EXPECT_THAT(b->list_credentials("acme.test"), ElementsAre(changed));
  EXPECT_EQ(b->list_realms().size(), 2u);
}

// Verifies a remove through A stops B finding it.
TEST_F(RedisCredentialStoreTest, RemoveThroughOneReplicaIsSeenByAnother) {
  auto a = open_store();
  auto b = open_store();
  ASSERT_TRUE(a->put_realm(named("acme.test")).ok);
  ASSERT_TRUE(a->put_credential(Credential::from_password("acme.test", "alice", "pw")).ok);
  ASSERT_TRUE(a->put_credential(Credential::from_password("acme.test", "bob", "pw")).ok);
  ASSERT_TRUE(eventually([&] { return b->list_credentials("acme.test").size() == 2; }));
  ASSERT_TRUE(a->remove_credential("acme.test", "alice"));
  EXPECT_TRUE(eventually([&] { return !b->find_credential("acme.test", "alice"); }));
  EXPECT_TRUE(b->find_credential("acme.test", "bob"));
  // And the other way round.
  ASSERT_TRUE(b->remove_credential("acme.test", "bob"));
  EXPECT_TRUE(eventually([&] { return !a->find_credential("acme.test", "bob"); }));
}

// Verifies remove_realm through A removes the realm and its credentials at B, and that a realm
// created again at A starts empty at B.
TEST_F(RedisCredentialStoreTest, RemoveRealmThroughOneReplicaCascadesAtAnother) {
  auto a = open_store();
  auto b = open_store();
  ASSERT_TRUE(a->put_realm(named("acme.test")).ok);
  ASSERT_TRUE(a->put_realm(named("other.test")).ok);
  ASSERT_TRUE(a->put_credential(Credential::from_password("acme.test", "alice", "pw")).ok);
  ASSERT_TRUE(a->put_credential(Credential::from_password("other.test", "alice", "pw")).ok);
  ASSERT_TRUE(eventually([&] { return b->find_credential("other.test", "alice").has_value(); }));
  ASSERT_TRUE(eventually([&] { return b->find_credential("acme.test", "alice").has_value(); }));
  ASSERT_TRUE(a->remove_realm("ACME.test"));
  ASSERT_TRUE(eventually([&] { return !b->find_realm("acme.test"); }));
  EXPECT_FALSE(b->find_credential("acme.test", "alice"));
  EXPECT_THAT(b->list_credentials("acme.test"), IsEmpty());
  EXPECT_TRUE(b->find_credential("other.test", "alice"));
  ASSERT_TRUE(a->put_realm(named("Acme.Test")).ok);
  ASSERT_TRUE(eventually([&] { return b->find_realm("acme.test").has_value(); }));
  EXPECT_EQ(b->find_realm("acme.test")->name, "Acme.Test");
  EXPECT_THAT(b->list_credentials("acme.test"), IsEmpty());
}

// Verifies a change written into Redis by hand is picked up once announced: with the next ID
// (re-read alone) or with an ID Redis picks (every replica reloads, also what was not announced).
TEST_F(RedisCredentialStoreTest, AnnouncedChangeByHandIsPickedUp) {
  auto store = open_store();
  ASSERT_TRUE(store->put_realm(named("acme.test")).ok);
  const Credential alice = Credential::from_password("acme.test", "alice", "pw");
  redis({"HSET", "sb:creds:acme.test", "alice", encode_redis_credential(alice)});
  announce_next({"k", "credential", "r", "acme.test", "u", "alice", "op", "put"});
  ASSERT_TRUE(eventually([&] { return store->find_credential("acme.test", "alice") == alice; }));

  const Credential bob = Credential::from_password("acme.test", "bob", "pw");
  redis({"HSET", "sb:creds:acme.test", "bob", encode_redis_credential(bob)});  // not announced
  redis({"HSET", "sb:realms", "hand.test", encode_redis_realm(named("hand.test"))});
  announce_as("*", {"k", "realm", "r", "hand.test", "op", "put"});
  ASSERT_TRUE(eventually([&] { return store->find_realm("hand.test").has_value(); }));
  EXPECT_EQ(store->find_credential("acme.test", "bob"), bob) << "reloaded, not just re-read";
  // The store's own IDs continue after the operator's.
  ASSERT_TRUE(store->put_realm(named("after.test")).ok);
  auto other = open_store();
  EXPECT_TRUE(eventually([&] { return other->find_realm("after.test").has_value(); }));
}

// Verifies a credential put through a replica that has not seen its realm yet (created through
// another one a moment ago; here: by hand, unannounced) is read back at once, with the realm.
TEST_F(RedisCredentialStoreTest, PutCredentialInARealmNotSeenYet) {
  auto store = open_store();
  redis({"HSET", "sb:realms", "new.test", encode_redis_realm(full_realm_named("New.Test"))});
  ASSERT_FALSE(store->find_realm("new.test"));
  const Credential alice = Credential::from_password("New.Test", "alice", "pw");
  ASSERT_TRUE(store->put_credential(alice).ok);
  EXPECT_EQ(store->find_credential("new.test", "alice"), alice);
  ASSERT_TRUE(store->find_realm("new.test"));
  EXPECT_TRUE(same_realm(*store->find_realm("new.test"), full_realm_named("New.Test")));
  // The tailer's re-read of the entry agrees.
  ASSERT_TRUE(store->put_realm(named("sentinel.test")).ok);
  auto other = open_store();
  EXPECT_EQ(other->find_credential("new.test", "alice"), alice);
  EXPECT_EQ(store->list_credentials("new.test"), other->list_credentials("new.test"));
}

// Verifies an entry that is not the next one (a trimmed stream looks like this to a replica that
// fell behind) makes the replica reload, so that what it missed appears.
TEST_F(RedisCredentialStoreTest, GapInTheStreamMakesAReload) {
  auto store = open_store();
  ASSERT_TRUE(store->put_realm(named("acme.test")).ok);
  const Credential missed = Credential::from_password("acme.test", "missed", "pw");
  redis({"HSET", "sb:creds:acme.test", "missed", encode_redis_credential(missed)});
  redis({"HSET", "sb:realms", "gap.test", encode_redis_realm(named("gap.test"))});
  const auto [ms, seq] = admin_last();
  announce_as(std::to_string(ms) + "-" + std::to_string(seq + 3),
              {"k", "realm", "r", "gap.test", "op", "put"});
  ASSERT_TRUE(eventually([&] { return store->find_realm("gap.test").has_value(); }));
  EXPECT_EQ(store->find_credential("acme.test", "missed"), missed);
  EXPECT_TRUE(store->available());
}

// Verifies FLUSHALL makes replicas reload: the stream is gone (a new epoch follows) or its ID
// went back below theirs.
TEST_F(RedisCredentialStoreTest, FlushallMakesReplicasReload) {
  auto a = open_store();
  auto b = open_store();
  ASSERT_TRUE(a->put_realm(named("old.test")).ok);
  ASSERT_TRUE(eventually([&] { return b->find_realm("old.test").has_value(); }));
  redis({"FLUSHALL"});
  // Nothing is written after it: the quiet tailers find their position gone.
  EXPECT_TRUE(eventually([&] { return !a->find_realm("old.test") && !b->find_realm("old.test"); },
                         std::chrono::milliseconds(4000)));
  ASSERT_TRUE(a->put_realm(named("new.test")).ok);
  EXPECT_TRUE(eventually([&] { return b->find_realm("new.test").has_value(); }));

  // Again, and at once a stream whose ID is below the replicas' (by hand, not announced).
  redis({"MULTI"});
  redis({"FLUSHALL"});
  redis({"XADD", "sb:admin", "1-1", "k", "epoch"});
  redis({"HSET", "sb:realms", "low.test", encode_redis_realm(named("low.test"))});
  EXPECT_TRUE(redis({"EXEC"}).is_array());
  EXPECT_TRUE(eventually([&] { return b->find_realm("low.test").has_value(); },
                         std::chrono::milliseconds(4000)));
  EXPECT_FALSE(b->find_realm("new.test"));
  EXPECT_TRUE(eventually([&] { return !a->find_realm("new.test"); }));
  EXPECT_EQ(admin_last(), std::make_pair(uint64_t{1}, uint64_t{1})) << "seen as gone back";
  EXPECT_TRUE(a->available() && b->available());
}

// Verifies a Redis restart makes both replicas unavailable, then available again once Redis
// answers; and that they reload: what the restart lost is gone, what was written while they
// could not read is there.
TEST_F(RedisCredentialStoreTest, RedisRestartMakesReplicasReload) {
  auto a = open_store();
  auto b = open_store();
  ASSERT_TRUE(a->put_realm(named("old.test")).ok);
  ASSERT_TRUE(eventually([&] { return b->find_realm("old.test").has_value(); }));
  redis_.stop();
  raw_.reset();
  ASSERT_TRUE(eventually([&] { return !a->available() && !b->available(); }));
  EXPECT_FALSE(b->find_realm("old.test")) << "no answers from a snapshot that may be stale";
  EXPECT_THAT(a->put_realm(named("x.test")).error, HasSubstr("redis"));
  EXPECT_FALSE(a->remove_realm("old.test"));
  // Back empty (no persistence), and refusing the replicas until the password goes: a change
  // made meanwhile, by hand and not announced, is only seen through a reload.
  redis_.extra_args = {"--requirepass", "pw"};
  ASSERT_TRUE(redis_.start()) << redis_.error();
  RedisUrl admin_url = redis_.url();
  admin_url.password = "pw";
  RedisConnection admin(admin_url, {});
  ASSERT_TRUE(admin.command({"HSET", "sb:realms", "new.test",
                             encode_redis_realm(named("new.test"))}).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(b->available()) << "Redis refuses it (NOAUTH): not an answer";
  ASSERT_TRUE(admin.command({"CONFIG", "SET", "requirepass", ""}).ok());
  ASSERT_TRUE(eventually([&] { return a->available() && b->available(); },
                         std::chrono::milliseconds(4000)));
  for (RedisCredentialStore* s : {a.get(), b.get()}) {
    EXPECT_TRUE(s->find_realm("new.test"));
    EXPECT_FALSE(s->find_realm("old.test")) << "lost with the restart";
  }
  ASSERT_TRUE(a->put_realm(named("after.test")).ok);
  EXPECT_TRUE(eventually([&] { return b->find_realm("after.test").has_value(); }));
}

// Verifies reads never wait for Redis: with redis-server stopped (SIGSTOP, a hung server), a
// find answers from memory at once while a write waits for its timeout.
TEST_F(RedisCredentialStoreTest, ReadsDoNotWaitForRedis) {
  auto store = open_store();
  ASSERT_TRUE(store->put_realm(named("acme.test")).ok);
  ASSERT_TRUE(store->put_credential(Credential::from_password("acme.test", "alice", "pw")).ok);
  ASSERT_EQ(kill(redis_.pid(), SIGSTOP), 0);
  struct Resume {
    pid_t pid;
    ~Resume() { kill(pid, SIGCONT); }
  } resume{redis_.pid()};
  std::atomic<bool> written{false};
  auto write = std::async(std::launch::async, [&] {
    StoreResult r = store->put_realm(named("b.test"));
    written = true;
    return r;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(store->find_credential("acme.test", "alice"));
  EXPECT_TRUE(store->find_realm("acme.test"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(50));
  EXPECT_FALSE(written) << "the write is still waiting for Redis";
  EXPECT_FALSE(write.get().ok) << "timed out";
  kill(redis_.pid(), SIGCONT);
  EXPECT_TRUE(eventually([&] { return store->available(); }, std::chrono::milliseconds(4000)));
}

// Verifies two replicas writing the same credentials at once converge on what Redis holds, and
// that each reads back its own writes at once (those no other replica overwrites meanwhile).
TEST_F(RedisCredentialStoreTest, ConcurrentWritersConverge) {
  auto a = open_store();
  auto b = open_store();
  ASSERT_TRUE(a->put_realm(named("acme.test")).ok);
  std::atomic<int> unseen{0};
  auto writer = [&](RedisCredentialStore& store, const std::string& mine, unsigned seed) {
    std::mt19937 random(seed);
    for (int i = 0; i < 150; ++i) {
      const bool shared = random() % 2 == 0;
      const std::string user = (shared ? "shared" : mine) + std::to_string(random() % 4);
      if (random() % 4 == 0) {
        store.remove_credential("acme.test", user);
        if (!shared && store.find_credential("acme.test", user)) unseen.fetch_add(1);
        continue;
      }
      const Credential c =
          Credential::from_password("acme.test", user, "pw" + std::to_string(random() % 1000));
      if (!store.put_credential(c).ok) unseen.fetch_add(1);
      if (!shared && store.find_credential("acme.test", user) != c) unseen.fetch_add(1);
    }
  };
  std::thread ta(writer, std::ref(*a), "a", 1u);
  std::thread tb(writer, std::ref(*b), "b", 2u);
  ta.join();
  tb.join();
  EXPECT_EQ(unseen.load(), 0) << "a write not read back at once by its writer";
  auto truth = open_store()->list_credentials("acme.test");
  EXPECT_TRUE(eventually([&] {
    return a->list_credentials("acme.test") == truth && b->list_credentials("acme.test") == truth;
  }));
}

// Verifies the destructor does not wait for the tailer's XREAD to time out.
TEST_F(RedisCredentialStoreTest, ClosesPromptly) {
  auto store = open_store();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the tailer is in XREAD BLOCK
  const auto start = std::chrono::steady_clock::now();
  store.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
}

}  // namespace
}  // namespace registrar
