// RedisCredentialStore (registrar/store/redis/redis_credential_store.h), the
// cases of sqlite_credential_store_test.cc against a private redis-server:
// realm and credential CRUD, persistence across reopen, case rules, respelling,
// cascading realm deletes, garbage values, concurrent readers; and the value
// encodings.
#include "registrar/store/redis/redis_credential_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
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
  RedisServer redis_;
  std::unique_ptr<RedisConnection> raw_;
};

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

// Verifies garbage values are skipped, not crashed on.
TEST_F(RedisCredentialStoreTest, GarbageIsSkipped) {
  auto store = open_store();
  ASSERT_TRUE(store->put_realm(named("acme.test")).ok);
  ASSERT_TRUE(store->put_credential(Credential::from_password("acme.test", "alice", "pw")).ok);
  redis({"HSET", "sb:creds:acme.test", "mallory",
         "sbc1\nha1_md5=zz0123456789abcdef0123456789abcdef"});
  redis({"HSET", "sb:realms", "bad.test", "\x01garbage"});
  redis({"HSET", "sb:realms", "misfiled.test", "sbr1\nname=other.test"});
  EXPECT_TRUE(store->find_credential("acme.test", "alice"));
  EXPECT_FALSE(store->find_credential("acme.test", "mallory"));
  EXPECT_EQ(store->list_credentials("acme.test").size(), 1u);
  EXPECT_FALSE(store->find_realm("bad.test"));
  EXPECT_FALSE(store->find_realm("misfiled.test"));
  EXPECT_EQ(store->list_realms().size(), 1u);
  redis({"DEL", "sb:realms"});
  redis({"SET", "sb:realms", "a string"});
  EXPECT_FALSE(store->find_realm("acme.test"));
  EXPECT_THAT(store->list_realms(), IsEmpty());
  EXPECT_FALSE(store->put_realm(named("x.test")).ok);
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

}  // namespace
}  // namespace registrar
