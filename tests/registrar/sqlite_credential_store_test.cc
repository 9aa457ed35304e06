// SqliteCredentialStore (registrar/store/sqlite_credential_store.h): realm and
// credential CRUD, persistence across reopen, cascading realm deletes, and the
// text forms of realm settings.
#include "registrar/store/sqlite_credential_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "registrar/store/sqlite_binding_store.h"
#include "temp_dir.h"

namespace registrar {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using testing::TempDir;

std::unique_ptr<SqliteCredentialStore> open_store(const TempDir& dir) {
  auto opened =
      SqliteCredentialStore::open(database_path(dir.path()), {.synchronous = SqliteSync::kOff});
  EXPECT_TRUE(opened.ok()) << opened.error;
  return std::move(opened.store);
}

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
  r.aliases = {{"alice", {"sales", "+15551234", "a,b;c=d%e"}}, {"bob;x=y", {}}};
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

// Verifies every realm setting survives a put and a reopen.
TEST(SqliteCredentialStore, RealmRoundTrips) {
  TempDir dir;
  const Realm realm = full_realm();
  {
    auto store = open_store(dir);
    ASSERT_TRUE(store->put_realm(realm).ok);
    auto found = store->find_realm("Acme.Test");
    ASSERT_TRUE(found);
    EXPECT_TRUE(same_realm(*found, realm));
  }
  auto store = open_store(dir);
  EXPECT_THAT(store->load_warnings(), IsEmpty());
  auto found = store->find_realm("Acme.Test");
  ASSERT_TRUE(found);
  EXPECT_TRUE(same_realm(*found, realm));
}

// Verifies realm names compare case-insensitively (they are domains).
TEST(SqliteCredentialStore, RealmNamesIgnoreCase) {
  TempDir dir;
  auto store = open_store(dir);
  ASSERT_TRUE(store->put_realm(named("Acme.Test")).ok);
  ASSERT_TRUE(store->find_realm("acme.test"));
  EXPECT_EQ(store->find_realm("ACME.TEST")->name, "Acme.Test");
  EXPECT_FALSE(store->find_realm("acme.test."));
  EXPECT_TRUE(store->remove_realm("ACME.test"));
  EXPECT_FALSE(store->find_realm("acme.test"));
  EXPECT_FALSE(store->remove_realm("acme.test"));
}

// Verifies a realm without a name or algorithms is refused with a reason.
TEST(SqliteCredentialStore, InvalidRealmIsRefused) {
  TempDir dir;
  auto store = open_store(dir);
  EXPECT_THAT(store->put_realm(Realm{}).error, HasSubstr("name is empty"));
  EXPECT_THAT(store
                  ->put_realm([] {
                    Realm r = named("x.test");
                    r.algorithms.clear();
                    return r;
                  }())
                  .error,
              HasSubstr("no digest algorithm"));
  EXPECT_THAT(store->list_realms(), IsEmpty());
}

// Verifies credential CRUD, and that only HA1s are stored and reloaded.
TEST(SqliteCredentialStore, CredentialCrud) {
  TempDir dir;
  const Credential alice = Credential::from_password("acme.test", "alice", "secret", "acme.test");
  const Credential bob = Credential::from_password("acme.test", "bob", "hunter2");
  {
    auto store = open_store(dir);
    ASSERT_TRUE(store->put_realm(named("acme.test")).ok);
    ASSERT_TRUE(store->put_credential(bob).ok);
    ASSERT_TRUE(store->put_credential(alice).ok);
    EXPECT_EQ(store->find_credential("ACME.test", "alice"), alice);
    EXPECT_FALSE(store->find_credential("acme.test", "Alice")) << "usernames are case-sensitive";
    EXPECT_THAT(store->list_credentials("acme.test"), ElementsAre(alice, bob));
    // Replace alice's password.
    ASSERT_TRUE(store->put_credential(Credential::from_password("acme.test", "alice", "new")).ok);
    EXPECT_NE(store->find_credential("acme.test", "alice"), alice);
    EXPECT_TRUE(store->remove_credential("acme.test", "bob"));
    EXPECT_FALSE(store->remove_credential("acme.test", "bob"));
  }
  auto store = open_store(dir);
  EXPECT_EQ(store->find_credential("acme.test", "alice"),
            Credential::from_password("acme.test", "alice", "new"));
  EXPECT_FALSE(store->find_credential("acme.test", "bob"));
  // No password anywhere in the file's rows.
  auto db = SqliteDatabase::open(database_path(dir.path()), {});
  SqliteStatement dump;
  ASSERT_TRUE(db.db->prepare("SELECT * FROM credentials", dump).ok);
  while (dump.step() == SQLITE_ROW) {
    for (int c = 0; c < sqlite3_column_count(dump.raw()); ++c) {
      EXPECT_THAT(std::string(dump.column_text(c)), Not(HasSubstr("new")));
    }
  }
}

// Verifies a credential needs its realm, spelled exactly as the realm is.
TEST(SqliteCredentialStore, CredentialNeedsItsRealm) {
  TempDir dir;
  auto store = open_store(dir);
  StoreResult r = store->put_credential(Credential::from_password("nowhere.test", "alice", "pw"));
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.error, HasSubstr("does not exist"));
  ASSERT_TRUE(store->put_realm(named("acme.test")).ok);
  r = store->put_credential(Credential::from_password("ACME.test", "alice", "pw"));
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.error, HasSubstr("HA1 must hash the realm as challenged"));
}

// Verifies replacing a realm keeps its credentials (an upsert, not delete + insert).
TEST(SqliteCredentialStore, PutRealmKeepsCredentials) {
  TempDir dir;
  const Credential alice = Credential::from_password("acme.test", "alice", "pw");
  {
    auto store = open_store(dir);
    ASSERT_TRUE(store->put_realm(named("acme.test")).ok);
    ASSERT_TRUE(store->put_credential(alice).ok);
    ASSERT_TRUE(store
                    ->put_realm([] {
                      Realm r = named("acme.test");
                      r.max_contacts = 2;
                      return r;
                    }())
                    .ok);
    EXPECT_EQ(store->find_credential("acme.test", "alice"), alice);
    // Respelling a realm that has credentials would orphan their HA1s.
    EXPECT_THAT(store->put_realm(named("ACME.TEST")).error, HasSubstr("cannot be respelled"));
  }
  auto store = open_store(dir);
  EXPECT_EQ(store->find_realm("acme.test")->max_contacts, 2u);
  EXPECT_EQ(store->find_credential("acme.test", "alice"), alice);
}

// Verifies deleting a realm deletes its credentials, in memory and on disk, and no others.
TEST(SqliteCredentialStore, RemoveRealmCascades) {
  TempDir dir;
  {
    auto store = open_store(dir);
    ASSERT_TRUE(store->put_realm(named("acme.test")).ok);
    ASSERT_TRUE(store->put_realm(named("other.test")).ok);
    ASSERT_TRUE(store->put_credential(Credential::from_password("acme.test", "alice", "pw")).ok);
    ASSERT_TRUE(store->put_credential(Credential::from_password("other.test", "alice", "pw")).ok);
    EXPECT_TRUE(store->remove_realm("acme.test"));
    EXPECT_FALSE(store->find_credential("acme.test", "alice"));
    // Recreating the realm does not bring old credentials back.
    ASSERT_TRUE(store->put_realm(named("acme.test")).ok);
    EXPECT_THAT(store->list_credentials("acme.test"), IsEmpty());
  }
  auto store = open_store(dir);
  EXPECT_THAT(store->list_credentials("acme.test"), IsEmpty());
  EXPECT_TRUE(store->find_credential("other.test", "alice"));
  auto db = SqliteDatabase::open(database_path(dir.path()), {});
  SqliteStatement count;
  ASSERT_TRUE(db.db->prepare("SELECT count(*) FROM credentials", count).ok);
  ASSERT_EQ(count.step(), SQLITE_ROW);
  EXPECT_EQ(count.column_int64(0), 1);
}

// Verifies list_realms is sorted case-insensitively.
TEST(SqliteCredentialStore, ListRealmsSorted) {
  TempDir dir;
  auto store = open_store(dir);
  for (const char* n : {"b.test", "A.test", "c.test"}) ASSERT_TRUE(store->put_realm(named(n)).ok);
  std::vector<std::string> names;
  for (const Realm& r : store->list_realms()) names.push_back(r.name);
  EXPECT_THAT(names, ElementsAre("A.test", "b.test", "c.test"));
}

// Verifies a corrupt row is skipped with a warning that names it but not its hash.
TEST(SqliteCredentialStore, CorruptRowsAreSkipped) {
  TempDir dir;
  {
    auto store = open_store(dir);
    ASSERT_TRUE(store->put_realm(named("acme.test")).ok);
    ASSERT_TRUE(store->put_credential(Credential::from_password("acme.test", "alice", "pw")).ok);
  }
  {
    auto db = SqliteDatabase::open(database_path(dir.path()), {});
    ASSERT_TRUE(db.db
                    ->exec("INSERT INTO credentials VALUES ('acme.test', 'mallory', '', "
                           "'zz0123456789abcdef0123456789abcdef', NULL, NULL, NULL)")
                    .ok);
  }
  auto store = open_store(dir);
  ASSERT_EQ(store->load_warnings().size(), 1u);
  EXPECT_THAT(store->load_warnings()[0], HasSubstr("mallory"));
  EXPECT_THAT(store->load_warnings()[0], Not(HasSubstr("zz0123")));
  EXPECT_TRUE(store->find_credential("acme.test", "alice"));
  EXPECT_FALSE(store->find_credential("acme.test", "mallory"));
}

// Verifies the alias text form round-trips names holding its separators.
TEST(SqliteCredentialStore, AliasTextForm) {
  const std::map<std::string, std::vector<std::string>> aliases = {
      {"alice", {"sales", "+1555"}}, {"b=o;b", {"%41", ",;"}}, {"carol", {}}};
  const std::string text = encode_realm_aliases(aliases);
  EXPECT_EQ(text, "alice=sales,+1555;b%3Do%3Bb=%2541,%2C%3B;carol=");
  EXPECT_EQ(decode_realm_aliases(text), aliases);
  EXPECT_EQ(decode_realm_aliases(""), (std::map<std::string, std::vector<std::string>>{}));
  EXPECT_FALSE(decode_realm_aliases("alice"));
  EXPECT_FALSE(decode_realm_aliases("alice=%4"));
  EXPECT_FALSE(decode_realm_aliases("alice=a,,b"));
}

// Verifies readers run concurrently with writers and always see whole values.
TEST(SqliteCredentialStore, ConcurrentReadsDuringWrites) {
  TempDir dir;
  auto store = open_store(dir);
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
  while (reads.load() == 0) std::this_thread::yield();  // the reader is running
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(store->put_credential(i % 2 ? v1 : v2).ok);
  stop = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
}

// Verifies the credential store and the binding store share one database file.
TEST(SqliteCredentialStore, SharesTheFileWithBindings) {
  TempDir dir;
  auto creds = open_store(dir);
  auto bindings = SqliteBindingStore::open(database_path(dir.path()), {});
  ASSERT_TRUE(bindings.ok()) << bindings.error;
  ASSERT_TRUE(creds->put_realm(named("acme.test")).ok);
  bindings.store->flush();
}

}  // namespace
}  // namespace registrar
