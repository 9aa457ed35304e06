// Registrar call flows on real sockets: a scripted UA sends REGISTERs to a
// SipServer whose handler is the Registrar, over loopback UDP (and TCP). Only
// the clock is simulated. Each test names one rule of RFC 3261 §10.3 (or of
// the digest RFCs) and reads like its ladder diagram.
//
// The stores are in memory; with SWITCHBOARD_TEST_STORE=redis (ctest
// "flows_redis.*") the same flows run on the Redis stores as a replica runs
// them (flow_stores.h). There the binding events reach the observers from the
// event log's tailer, a moment after the 200: RecordingObserver::take() waits
// for them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <future>
#include <memory>

#include "gateway/default_handler.h"
#include "gateway/sip_server.h"
#include "registrar/auth_throttle.h"
#include "registrar/location_service.h"
#include "registrar/nonce.h"
#include "registrar/random.h"
#include "registrar/registrar.h"
#include "flow_stores.h"
#include "registrar/store/memory_stores.h"
#include "scripted_ua.h"
#include "sip/auth_params.h"
#include "sip/clock.h"
#include "sip/lex.h"
#include "sip/transport/listen_address.h"

namespace flows {
namespace {

using std::chrono::seconds;
using testing::ElementsAre;
using testing::HasSubstr;

// The test's bridge from the SIP server to the registrar.
class RegistrarBridge : public switchboard::RequestHandler {
 public:
  RegistrarBridge(registrar::Registrar& reg) : registrar_(reg) {}
  void handle(const sip::Message& request, const sip::transport::Source& source,
              switchboard::Reply reply) override {
    if (request.method_id() != sip::Method::kRegister) {
      fallback_.handle(request, source, std::move(reply));
      return;
    }
    registrar::RequestContext ctx;
    ctx.transport = source.reliable() ? "tcp" : "udp";
    ctx.source_ip = source.remote_ip();
    ctx.source_port = source.remote_port;
    ctx.connection_id = source.connection;
    ctx.to_tag = "reg-tag";
    registrar_.handle_register(request, ctx, [reply](std::string wire) mutable {
      if (!wire.empty()) reply.send(std::move(wire));
    });
  }

 private:
  registrar::Registrar& registrar_;
  switchboard::DefaultRequestHandler fallback_{switchboard::random_tag_source(), {}};
};

class RecordingObserver : public registrar::RegistrationObserver {
 public:
  void on_event(const registrar::RegistrationEvent& e) override {
    using Type = registrar::RegistrationEventType;
    switch (e.type) {
      case Type::kRegistered:
        return add("added " + e.binding.contact);
      case Type::kRefreshed:
        return add("refreshed " + e.binding.contact);
      case Type::kReplaced:
        return add("replaced " + e.previous.contact + " -> " + e.binding.contact);
      case Type::kUnregistered:
        return add("removed " + e.binding.contact + " (" + e.reason + ")");
      case Type::kExpired:
        return add("expired " + e.binding.contact);
      case Type::kAuthFailed:
        add_failure(e);
        return add("auth failed " + e.binding.username);
    }
  }
  std::vector<registrar::RegistrationEvent> auth_failures() {
    std::lock_guard lock(mu_);
    return auth_failures_;
  }
  // Every event so far; first waits (Redis) until what is committed is published.
  std::vector<std::string> take() {
    if (before_take) {
      EXPECT_TRUE(before_take()) << "binding events not published within 10 s";
    }
    std::lock_guard lock(mu_);
    return std::exchange(events_, {});
  }
  std::function<bool()> before_take;

 private:
  void add(std::string e) {
    std::lock_guard lock(mu_);
    events_.push_back(std::move(e));
  }
  void add_failure(const registrar::RegistrationEvent& e) {
    std::lock_guard lock(mu_);
    auth_failures_.push_back(e);
  }
  std::mutex mu_;
  std::vector<std::string> events_;
  std::vector<registrar::RegistrationEvent> auth_failures_;
};

class RegistrarFlow : public testing::Test {
 protected:
  RegistrarFlow() : RegistrarFlow(registrar::LocationOptions{}) {}
  explicit RegistrarFlow(registrar::LocationOptions location_options)
      : stores(clock, location_options),
        credentials(stores.credentials()),
        store(stores.bindings()),
        location(stores.location()) {
    registrar::Realm acme;
    acme.name = "acme.test";
    acme.min_expires = 60;
    acme.max_expires = 7200;
    acme.default_expires = 3600;
    acme.max_contacts = 3;
    acme.aliases["alice"] = {"sales"};
    acme.algorithms = {registrar::DigestAlgorithm::kSha512_256, registrar::DigestAlgorithm::kSha256,
                       registrar::DigestAlgorithm::kMd5};
    credentials.put_realm(acme);
    registrar::Realm proxy = acme;
    proxy.name = "proxy.test";
    proxy.challenge = registrar::ChallengeMode::k407;
    credentials.put_realm(proxy);
    registrar::Realm trunk = acme;
    trunk.name = "trunk.test";
    trunk.source_auth = registrar::SourceAuthMode::kTrustedOrDigest;
    trunk.trusted_sources = {{"127.0.0.0/8"}};
    credentials.put_realm(trunk);
    registrar::Realm strict = acme;
    strict.name = "strict.test";
    strict.source_auth = registrar::SourceAuthMode::kTrustedAndDigest;
    strict.trusted_sources = {{"192.0.2.0/24"}};
    credentials.put_realm(strict);
    registrar::Realm evict = acme;
    evict.name = "evict.test";
    evict.overflow = registrar::ContactOverflowPolicy::kEvictOldest;
    credentials.put_realm(evict);
    for (const char* realm :
         {"acme.test", "proxy.test", "trunk.test", "strict.test", "evict.test"}) {
      credentials.put_credential(registrar::Credential::from_password(realm, "alice", "alice-pw", realm));
      credentials.put_credential(registrar::Credential::from_password(realm, "bob", "bob-pw", realm));
    }
    location.add_observer(&observer);
    observer.before_take = [this] { return stores.wait_published(); };
    stores.start();

    switchboard::SipServerOptions o;
    o.listen.push_back(*sip::transport::parse_listen_address("udp:127.0.0.1:0", nullptr));
    o.listen.push_back(*sip::transport::parse_listen_address("tcp:127.0.0.1:0", nullptr));
    o.threads = 2;
    o.handler = std::make_shared<RegistrarBridge>(reg);
    server = std::make_unique<switchboard::SipServer>(std::move(o));
    std::string error;
    EXPECT_TRUE(server->start(&error)) << error;
    udp_port = server->bound_address(sip::transport::Protocol::kUdp)->port;
    tcp_port = server->bound_address(sip::transport::Protocol::kTcp)->port;
  }
  ~RegistrarFlow() override {
    server->stop();
    stores.stop();  // Redis: the tailer calls the observer
  }
  void SetUp() override {
    ASSERT_TRUE(stores.error().empty()) << stores.error();
    if (!stores.skip_reason().empty()) GTEST_SKIP() << stores.skip_reason();
  }

  ScriptedUa ua(std::string user, std::string password, std::string domain = "acme.test", bool tcp = false) {
    return ScriptedUa(std::move(user), std::move(password), std::move(domain), "127.0.0.1",
                      tcp ? tcp_port : udp_port, tcp);
  }

  sip::ManualClock clock;
  registrar::SeededRandom random{42};
  FlowStores stores;  // memory, or Redis (SWITCHBOARD_TEST_STORE=redis)
  registrar::CredentialStore& credentials;
  registrar::BindingStore& store;
  registrar::LocationService& location;
  std::vector<uint8_t> secret = std::vector<uint8_t>(32, 7);
  registrar::NonceService nonces{secret, clock, random};
  registrar::NonceCounter counts{clock};
  registrar::AuthThrottle throttle{clock, {.max_failures = 5}};
  registrar::Registrar reg{{credentials, location, nonces, counts, clock, &throttle, stores.replica_id()}};
  RecordingObserver observer;
  std::unique_ptr<switchboard::SipServer> server;
  uint16_t udp_port = 0, tcp_port = 0;
};

std::vector<std::string> challenge_algorithms(const sip::Message& m, sip::HeaderId id) {
  std::vector<std::string> out;
  for (const sip::HeaderField& h : m.headers()) {
    if (h.id != id) continue;
    sip::AuthParams p;
    EXPECT_TRUE(sip::parse_auth_params(h.value, p));
    out.emplace_back(p.get("algorithm").value_or("MD5"));
    EXPECT_EQ(p.get("qop"), "auth");
    EXPECT_EQ(p.get("realm"), "acme.test");
  }
  return out;
}

// REGISTER → 401 with one challenge per algorithm, strongest first.
TEST_F(RegistrarFlow, ChallengeOffersEveryAlgorithmStrongestFirst) {
  auto alice = ua("alice", "alice-pw");
  alice.send(alice.make_register({.expires = 600}));
  sip::Message challenge = alice.expect(401);
  EXPECT_THAT(challenge_algorithms(challenge, sip::HeaderId::kWwwAuthenticate),
              ElementsAre("SHA-512-256", "SHA-256", "MD5"));
  EXPECT_EQ(challenge.to()->tag(), "reg-tag");
  EXPECT_EQ(location.lookup("alice@acme.test").size(), 0u);
}

// REGISTER → 401 → REGISTER with Authorization (each algorithm) → 200 listing the binding.
TEST_F(RegistrarFlow, DigestWithEachAlgorithmBindsTheContact) {
  for (const char* alg : {"MD5", "SHA-256", "SHA-512-256"}) {
    auto alice = ua("alice", "alice-pw");
    sip::Message ok = alice.register_with_auth({.expires = 600, .algorithm = alg});
    ASSERT_EQ(ok.status_code(), 200) << alg;
    std::string contact = "sip:alice@127.0.0.1:" + std::to_string(alice.local_port());
    EXPECT_EQ(contact_expires(ok, contact), 600) << alg;
    EXPECT_FALSE(ok.header(sip::HeaderId::kDate).empty());
  }
  auto bindings = location.lookup("alice@acme.test");
  ASSERT_EQ(bindings.size(), 3u);
  EXPECT_EQ(bindings[0].username, "alice");
  EXPECT_EQ(bindings[0].transport, "udp");
  EXPECT_EQ(bindings[0].source_ip, "127.0.0.1");
  EXPECT_EQ(bindings[0].user_agent, "switchboard-flow-test");
  EXPECT_EQ(bindings[0].replica, stores.replica_id())
      << "in memory no replica_id (one process); on Redis the replica's";
  EXPECT_EQ(bindings[0].expires_at, clock.wall_now() + seconds(600));
  EXPECT_EQ(stores.stored("alice@acme.test").size(), 3u);  // durable before the 200
}

// A wrong password and an unknown user look the same: a fresh challenge.
TEST_F(RegistrarFlow, WrongPasswordAndUnknownUserAreIndistinguishable) {
  auto alice = ua("alice", "wrong");
  sip::Message wrong = alice.register_with_auth({.expires = 600});
  auto mallory = ua("mallory", "whatever");
  sip::Message unknown = mallory.register_with_auth({.expires = 600});
  EXPECT_EQ(wrong.status_code(), 401);
  EXPECT_EQ(unknown.status_code(), 401);
  std::vector<std::string> a, b;
  for (const auto& h : wrong.headers()) a.emplace_back(h.name);
  for (const auto& h : unknown.headers()) b.emplace_back(h.name);
  EXPECT_EQ(a, b);
  EXPECT_EQ(wrong.reason_phrase(), unknown.reason_phrase());
  EXPECT_THAT(observer.take(), ElementsAre("auth failed alice", "auth failed mallory"));
}

// Realms in 407 mode challenge with Proxy-Authenticate and take Proxy-Authorization.
TEST_F(RegistrarFlow, ProxyChallengeMode) {
  auto alice = ua("alice", "alice-pw", "proxy.test");
  alice.send(alice.make_register({.expires = 600}));
  sip::Message challenge = alice.expect(407);
  EXPECT_NE(challenge.find(sip::HeaderId::kProxyAuthenticate), nullptr);
  EXPECT_EQ(challenge.find(sip::HeaderId::kWwwAuthenticate), nullptr);
  alice.send(alice.make_register({.expires = 600, .challenge = &challenge}));
  alice.expect(200);
}

// A nonce past its lifetime gets a new challenge with stale=true, not a failure.
TEST_F(RegistrarFlow, StaleNonceIsRechallenged) {
  auto alice = ua("alice", "alice-pw");
  alice.send(alice.make_register({.expires = 600}));
  sip::Message challenge = alice.expect(401);
  clock.advance(seconds(301));
  alice.send(alice.make_register({.expires = 600, .challenge = &challenge}));
  sip::Message again = alice.expect(401);
  EXPECT_THAT(std::string(again.header(sip::HeaderId::kWwwAuthenticate)), HasSubstr("stale=true"));
  EXPECT_TRUE(observer.take().empty());  // not an authentication failure
}

// The same nonce count twice is a replay.
TEST_F(RegistrarFlow, ReplayedNonceCountIsRefused) {
  auto alice = ua("alice", "alice-pw");
  alice.send(alice.make_register({.expires = 600}));
  sip::Message challenge = alice.expect(401);
  alice.send(alice.make_register({.expires = 600, .challenge = &challenge}));
  alice.expect(200);
  alice.send(alice.make_register({.expires = 600, .challenge = &challenge}));  // nc 1 again
  alice.expect(401);
  alice.send(alice.make_register({.expires = 600, .challenge = &challenge, .nc = "00000002"}));
  alice.expect(200);
}

// The digest uri must be the Request-URI.
TEST_F(RegistrarFlow, DigestUriMustMatchTheRequestUri) {
  auto alice = ua("alice", "alice-pw");
  alice.send(alice.make_register({}));
  sip::Message challenge = alice.expect(401);
  alice.send(alice.make_register({.challenge = &challenge, .digest_uri = "sip:other.test"}));
  alice.expect(400);
}

// Without qop the response is refused unless the realm allows legacy clients.
TEST_F(RegistrarFlow, QopIsRequired) {
  auto alice = ua("alice", "alice-pw");
  alice.send(alice.make_register({}));
  sip::Message challenge = alice.expect(401);
  alice.send(alice.make_register({.challenge = &challenge, .qop = false}));
  alice.expect(401);
}

// Bob cannot bind Alice's AOR; Alice can bind her alias.
TEST_F(RegistrarFlow, ToAorMustBelongToTheUser) {
  auto bob = ua("bob", "bob-pw");
  EXPECT_EQ(bob.register_with_auth({.to_user = "alice"}).status_code(), 403);
  auto alice = ua("alice", "alice-pw");
  EXPECT_EQ(alice.register_with_auth({.to_user = "sales"}).status_code(), 200);
  EXPECT_EQ(location.lookup("sales@acme.test").size(), 1u);
}

// An unserved domain gets 404.
TEST_F(RegistrarFlow, UnservedDomainIs404) {
  auto alice = ua("alice", "alice-pw", "elsewhere.test");
  alice.send(alice.make_register({}));
  alice.expect(404);
}

// Expires: the contact parameter wins over the header, then the realm default; clamped to max.
TEST_F(RegistrarFlow, ExpiresPrecedenceAndClamping) {
  auto alice = ua("alice", "alice-pw");
  std::string c1 = "<sip:alice@192.0.2.1>;expires=120", c2 = "<sip:alice@192.0.2.2>",
              c3 = "<sip:alice@192.0.2.3>;expires=999999";
  sip::Message ok = alice.register_with_auth({.expires = 300, .contacts = {c1, c2, c3}});
  ASSERT_EQ(ok.status_code(), 200);
  EXPECT_EQ(contact_expires(ok, "sip:alice@192.0.2.1"), 120);
  EXPECT_EQ(contact_expires(ok, "sip:alice@192.0.2.2"), 300);
  EXPECT_EQ(contact_expires(ok, "sip:alice@192.0.2.3"), 7200);
  auto bob = ua("bob", "bob-pw");
  sip::Message dflt = bob.register_with_auth({});
  EXPECT_EQ(contact_expires(dflt, "sip:bob@127.0.0.1:" + std::to_string(bob.local_port())), 3600);
}

// Above zero but below Min-Expires → 423 with Min-Expires.
TEST_F(RegistrarFlow, TooBriefIs423) {
  auto alice = ua("alice", "alice-pw");
  sip::Message r = alice.register_with_auth({.expires = 10});
  EXPECT_EQ(r.status_code(), 423);
  EXPECT_EQ(r.min_expires(), 60u);
}

// Contact: * with Expires: 0 removes every binding; anything else with * is 400.
TEST_F(RegistrarFlow, WildcardRemovesAll) {
  auto alice = ua("alice", "alice-pw");
  ASSERT_EQ(alice.register_with_auth({.contacts = {"<sip:alice@192.0.2.1>", "<sip:alice@192.0.2.2>"}})
                .status_code(),
            200);
  EXPECT_EQ(alice.register_with_auth({.expires = 600, .contacts = {"*"}}).status_code(), 400);
  EXPECT_EQ(alice.register_with_auth({.expires = 0, .contacts = {"*", "<sip:alice@192.0.2.3>"}})
                .status_code(),
            400);
  observer.take();
  sip::Message ok = alice.register_with_auth({.expires = 0, .contacts = {"*"}});
  EXPECT_EQ(ok.status_code(), 200);
  EXPECT_TRUE(contact_values(ok).empty());
  EXPECT_TRUE(location.lookup("alice@acme.test").empty());
  EXPECT_THAT(observer.take(), ElementsAre("removed sip:alice@192.0.2.1 (contact=*)",
                                           "removed sip:alice@192.0.2.2 (contact=*)"));
}

// Expires 0 on one contact removes just that binding.
TEST_F(RegistrarFlow, ExpiresZeroRemovesOneBinding) {
  auto alice = ua("alice", "alice-pw");
  alice.register_with_auth({.contacts = {"<sip:alice@192.0.2.1>", "<sip:alice@192.0.2.2>"}});
  observer.take();
  sip::Message ok = alice.register_with_auth({.contacts = {"<sip:alice@192.0.2.1>;expires=0"}});
  EXPECT_THAT(contact_values(ok), ElementsAre(HasSubstr("192.0.2.2")));
  EXPECT_THAT(observer.take(), ElementsAre("removed sip:alice@192.0.2.1 (expires=0)"));
}

// Max contacts with evict-oldest: the oldest binding makes room, reported as "evicted".
TEST_F(RegistrarFlow, EvictOldestReportsTheEviction) {
  auto alice = ua("alice", "alice-pw", "evict.test");
  for (int i = 1; i <= 3; ++i) {
    ASSERT_EQ(
        alice.register_with_auth({.contacts = {"<sip:alice@192.0.2." + std::to_string(i) + ">"}})
            .status_code(),
        200);
    clock.advance(seconds(1));  // distinct first_registered
  }
  observer.take();
  ASSERT_EQ(alice.register_with_auth({.contacts = {"<sip:alice@192.0.2.9>"}}).status_code(), 200);
  EXPECT_THAT(observer.take(),
              ElementsAre("removed sip:alice@192.0.2.1 (evicted)", "added sip:alice@192.0.2.9"));
  EXPECT_EQ(location.lookup("alice@evict.test").size(), 3u);
}

// A failed authentication is reported with what the REGISTER presented, and never stored.
TEST_F(RegistrarFlow, AuthFailureEventDescribesTheAttempt) {
  auto mallory = ua("alice", "wrong");
  ASSERT_EQ(mallory.register_with_auth({.expires = 600}).status_code(), 401);
  const auto failures = observer.auth_failures();
  ASSERT_EQ(failures.size(), 1u);
  const registrar::RegistrationEvent& e = failures[0];
  EXPECT_EQ(e.type, registrar::RegistrationEventType::kAuthFailed);
  EXPECT_EQ(e.sequence, 0u);
  EXPECT_EQ(e.time, clock.wall_now());
  EXPECT_EQ(e.binding.realm, "acme.test");
  EXPECT_EQ(e.binding.aor, "alice@acme.test");
  EXPECT_EQ(e.binding.username, "alice");
  EXPECT_EQ(e.binding.transport, "udp");
  EXPECT_EQ(e.binding.source_ip, "127.0.0.1");
  EXPECT_EQ(e.binding.source_port, mallory.local_port());
  EXPECT_EQ(e.binding.user_agent, "switchboard-flow-test");
  EXPECT_FALSE(e.reason.empty());
  EXPECT_EQ(store.event_log_state().next_sequence, 1u) << "not in the event log";
}

// Same Call-ID with a CSeq not higher than the binding's: the update is refused.
TEST_F(RegistrarFlow, OutOfOrderCSeqIsRefused) {
  auto alice = ua("alice", "alice-pw");
  ASSERT_EQ(alice.register_with_auth({.cseq = 10}).status_code(), 200);
  EXPECT_EQ(alice.register_with_auth({.expires = 0, .call_id = std::nullopt, .cseq = 5}).status_code(), 400);
  EXPECT_EQ(location.lookup("alice@acme.test").size(), 1u);
  // Another Call-ID may update it.
  EXPECT_EQ(alice.register_with_auth({.expires = 900, .call_id = "other-call@x", .cseq = 1}).status_code(),
            200);
  EXPECT_EQ(location.lookup("alice@acme.test")[0].call_id, "other-call@x");
}

// No Contact: a query that lists the bindings and changes nothing.
TEST_F(RegistrarFlow, RegisterWithoutContactIsAQuery) {
  auto alice = ua("alice", "alice-pw");
  alice.register_with_auth({.expires = 600, .contacts = {"<sip:alice@192.0.2.1>;q=0.5"}});
  size_t writes = stores.writes();
  clock.advance(seconds(100));
  sip::Message q = alice.register_with_auth({.contacts = {}});
  ASSERT_EQ(q.status_code(), 200);
  EXPECT_THAT(contact_values(q), ElementsAre("<sip:alice@192.0.2.1>;expires=500;q=0.5"));
  EXPECT_EQ(stores.writes(), writes);
}

// A location service that cannot take the binding (here: full; the same path
// as a store that fails to write) answers 503 with Retry-After, so the device
// retries later instead of treating the registrar as broken.
class FullRegistrarFlow : public RegistrarFlow {
 protected:
  FullRegistrarFlow() : RegistrarFlow(registrar::LocationOptions{.max_bindings = 1}) {}
};

TEST_F(FullRegistrarFlow, NoRoomIs503WithRetryAfter) {
  auto alice = ua("alice", "alice-pw");
  ASSERT_EQ(alice.register_with_auth({.contacts = {"<sip:alice@192.0.2.1>"}}).status_code(), 200);
  auto bob = ua("bob", "bob-pw");
  sip::Message full = bob.register_with_auth({.contacts = {"<sip:bob@192.0.2.2>"}});
  EXPECT_EQ(full.status_code(), 503);
  EXPECT_EQ(full.header(sip::HeaderId::kRetryAfter), "5");
  EXPECT_TRUE(location.lookup("bob@acme.test").empty());
  EXPECT_EQ(location.lookup("alice@acme.test").size(), 1u);  // nothing stored was lost
}

// Max contacts per AOR: beyond it the REGISTER is refused (policy reject).
TEST_F(RegistrarFlow, MaxContactsRejects) {
  auto alice = ua("alice", "alice-pw");
  for (int i = 1; i <= 3; ++i)
    ASSERT_EQ(alice.register_with_auth({.contacts = {"<sip:alice@192.0.2." + std::to_string(i) + ">"}})
                  .status_code(),
              200);
  EXPECT_EQ(alice.register_with_auth({.contacts = {"<sip:alice@192.0.2.9>"}}).status_code(), 403);
  EXPECT_EQ(location.lookup("alice@acme.test").size(), 3u);
}

// RFC 5626: the same +sip.instance and reg-id replace the flow's binding.
TEST_F(RegistrarFlow, OutboundFlowReplacesItsBinding) {
  auto alice = ua("alice", "alice-pw");
  const std::string inst = ";+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\";reg-id=1";
  alice.register_with_auth({.contacts = {"<sip:alice@192.0.2.1;ob>" + inst}});
  observer.take();
  sip::Message ok = alice.register_with_auth({.contacts = {"<sip:alice@192.0.2.7;ob>" + inst}, .call_id = "new-call@x"});
  ASSERT_EQ(ok.status_code(), 200);
  auto bindings = location.lookup("alice@acme.test");
  ASSERT_EQ(bindings.size(), 1u);
  EXPECT_EQ(bindings[0].contact, "sip:alice@192.0.2.7;ob");
  EXPECT_EQ(bindings[0].reg_id, 1u);
  EXPECT_THAT(observer.take(), ElementsAre("replaced sip:alice@192.0.2.1;ob -> sip:alice@192.0.2.7;ob"));
}

// Bindings expire exactly on time, driven by the clock.
TEST_F(RegistrarFlow, BindingsExpireOnTime) {
  auto alice = ua("alice", "alice-pw");
  alice.register_with_auth({.expires = 120});
  observer.take();
  clock.advance(seconds(119));
  EXPECT_EQ(location.expire_due(), 0u);
  clock.advance(seconds(1));
  EXPECT_EQ(location.expire_due(), 1u);
  EXPECT_TRUE(location.lookup("alice@acme.test").empty());
  EXPECT_EQ(observer.take().size(), 1u);
}

// Path is echoed when the UA supports it.
TEST_F(RegistrarFlow, PathIsEchoedWhenSupported) {
  auto alice = ua("alice", "alice-pw");
  sip::Message ok = alice.register_with_auth(
      {.extra_headers = "Supported: path\r\nPath: <sip:edge.example;lr>\r\n"});
  EXPECT_EQ(ok.header(sip::HeaderId::kPath), "<sip:edge.example;lr>");
  EXPECT_EQ(location.lookup("alice@acme.test")[0].path, "<sip:edge.example;lr>");
}

// IP-ACL: a trusted source registers without digest; a realm that wants both refuses others.
TEST_F(RegistrarFlow, TrustedSources) {
  auto trunk = ua("pbx", "", "trunk.test");
  trunk.send(trunk.make_register({.expires = 600}));
  trunk.expect(200);
  auto strict = ua("alice", "alice-pw", "strict.test");
  strict.send(strict.make_register({}));
  strict.expect(403);
}

// After repeated failures a source is refused; the real user elsewhere (TCP here, another
// source port) keeps registering.
TEST_F(RegistrarFlow, FailedAuthIsThrottledPerSource) {
  auto attacker = ua("alice", "guess");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(attacker.register_with_auth({}).status_code(), 401);
  attacker.send(attacker.make_register({}));
  attacker.expect(403);
}

// Over TCP the binding records the connection.
TEST_F(RegistrarFlow, TcpBindingRecordsTheConnection) {
  auto alice = ua("alice", "alice-pw", "acme.test", /*tcp=*/true);
  ASSERT_EQ(alice.register_with_auth({}).status_code(), 200);
  auto b = location.lookup("alice@acme.test");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].transport, "tcp");
  EXPECT_NE(b[0].connection_id, 0u);
}

// RFC 4475 §3.3.4: a To that is not a SIP URI is refused.
TEST_F(RegistrarFlow, NonSipToIsRefused) {
  testpeer::UdpPeer peer;
  peer.send_to("127.0.0.1", udp_port,
               "REGISTER sip:acme.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:" + std::to_string(peer.port()) +
                   ";branch=z9hG4bK-isbn\r\nMax-Forwards: 70\r\nFrom: <http://www.example.com>;tag=1\r\n"
                   "To: isbn:2983792873\r\nCall-ID: isbn@x\r\nCSeq: 1 REGISTER\r\n"
                   "Contact: <name:John_Smith>\r\nContent-Length: 0\r\n\r\n");
  auto r = peer.receive();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->substr(0, 15), "SIP/2.0 400 To ");
}

}  // namespace
}  // namespace flows

namespace {

// A networked credential store that lost its server: every lookup finds
// nothing and available() says why.
class UnreachableCredentialStore final : public registrar::CredentialStore {
 public:
  bool available() const override { return false; }
  std::optional<registrar::Realm> find_realm(std::string_view) const override { return {}; }
  std::vector<registrar::Realm> list_realms() const override { return {}; }
  registrar::StoreResult put_realm(const registrar::Realm&) override {
    return {.ok = false, .error = "unreachable"};
  }
  bool remove_realm(std::string_view) override { return false; }
  std::optional<registrar::Credential> find_credential(std::string_view,
                                                       std::string_view) const override {
    return {};
  }
  std::vector<registrar::Credential> list_credentials(std::string_view) const override {
    return {};
  }
  registrar::StoreResult put_credential(const registrar::Credential&) override {
    return {.ok = false, .error = "unreachable"};
  }
  bool remove_credential(std::string_view, std::string_view) override { return false; }
};

// When the credential store cannot be read (Redis away), a REGISTER gets 503
// with Retry-After — not 404 "Domain not served" nor a challenge that counts
// as a failed attempt — and nothing is bound.
TEST(RegistrarUnavailableStore, RegisterIs503WithRetryAfter) {
  sip::ManualClock clock;
  registrar::SeededRandom random{1};
  UnreachableCredentialStore credentials;
  flows::FlowStores stores(clock, {});  // the binding side: memory, or Redis
  ASSERT_TRUE(stores.error().empty()) << stores.error();
  if (!stores.skip_reason().empty()) GTEST_SKIP() << stores.skip_reason();
  stores.start();
  registrar::LocationService& location = stores.location();
  std::vector<uint8_t> secret(32, 9);
  registrar::NonceService nonces{secret, clock, random};
  registrar::NonceCounter counts{clock};
  registrar::Registrar reg{{credentials, location, nonces, counts, clock, nullptr}};
  const std::string bytes =
      "REGISTER sip:acme.test SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 192.0.2.4:5062;branch=z9hG4bK-unavail\r\n"
      "Max-Forwards: 70\r\n"
      "From: <sip:alice@acme.test>;tag=1\r\n"
      "To: <sip:alice@acme.test>\r\n"
      "Call-ID: unavailable-1@192.0.2.4\r\n"
      "CSeq: 1 REGISTER\r\n"
      "Contact: <sip:alice@192.0.2.4:5062>\r\n"
      "Content-Length: 0\r\n\r\n";
  sip::ParseResult parsed = sip::parse_message(bytes);
  ASSERT_TRUE(parsed.ok());
  registrar::RequestContext ctx{.transport = "udp", .source_ip = "192.0.2.4",
                                .source_port = 5062, .local_address = "udp:127.0.0.1:5060",
                                .to_tag = "t"};
  std::string wire;
  reg.handle_register(parsed.message(), ctx, [&](std::string w) { wire = std::move(w); });
  EXPECT_EQ(wire.rfind("SIP/2.0 503 ", 0), 0u) << wire;
  EXPECT_NE(wire.find("\r\nRetry-After: 5\r\n"), std::string::npos) << wire;
  EXPECT_TRUE(location.lookup("alice@acme.test").empty());
}

// A trusted-source REGISTER (no digest) of alice@acme.test from 192.0.2.4, sent
// straight to `reg`; returns the response's wire bytes.
std::string register_trusted(registrar::Registrar& reg, uint32_t cseq) {
  const std::string bytes =
      "REGISTER sip:acme.test SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 192.0.2.4:5062;branch=z9hG4bK-replica" + std::to_string(cseq) + "\r\n"
      "Max-Forwards: 70\r\n"
      "From: <sip:alice@acme.test>;tag=1\r\n"
      "To: <sip:alice@acme.test>\r\n"
      "Call-ID: replica-1@192.0.2.4\r\n"
      "CSeq: " + std::to_string(cseq) + " REGISTER\r\n"
      "Contact: <sip:alice@192.0.2.4:5062>\r\n"
      "Content-Length: 0\r\n\r\n";
  sip::ParseResult parsed = sip::parse_message(bytes);
  EXPECT_TRUE(parsed.ok());
  registrar::RequestContext ctx{.transport = "udp", .source_ip = "192.0.2.4",
                                .source_port = 5062, .local_address = "udp:127.0.0.1:5060",
                                .to_tag = "t"};
  // In memory the answer comes before handle_register returns; on Redis from
  // the store's writer thread, after the commit.
  auto wire = std::make_shared<std::promise<std::string>>();
  std::future<std::string> answer = wire->get_future();
  reg.handle_register(parsed.message(), ctx, [wire](std::string w) { wire->set_value(std::move(w)); });
  if (answer.wait_for(std::chrono::seconds(10)) != std::future_status::ready) return "no answer";
  return answer.get();
}

// Every binding a REGISTER adds or refreshes records the replica that took it
// (RegistrarDeps::replica_id), in the cache and in the store: a refresh through
// another replica moves the flow there.
TEST(RegistrarReplica, BindingsRecordTheReplicaThatHoldsTheFlow) {
  sip::ManualClock clock;
  registrar::SeededRandom random{1};
  flows::FlowStores stores(clock, {});  // memory, or Redis (SWITCHBOARD_TEST_STORE=redis)
  ASSERT_TRUE(stores.error().empty()) << stores.error();
  if (!stores.skip_reason().empty()) GTEST_SKIP() << stores.skip_reason();
  stores.start();
  registrar::CredentialStore& credentials = stores.credentials();
  registrar::Realm acme;
  acme.name = "acme.test";
  acme.source_auth = registrar::SourceAuthMode::kTrustedOrDigest;
  acme.trusted_sources = {{"192.0.2.0/24"}};
  credentials.put_realm(acme);
  registrar::LocationService& location = stores.location();
  std::vector<uint8_t> secret(32, 9);
  registrar::NonceService nonces{secret, clock, random};
  registrar::NonceCounter counts{clock};
  registrar::Registrar a{{credentials, location, nonces, counts, clock, nullptr, "switchboard-0"}};
  registrar::Registrar b{{.credentials = credentials,
                          .location = location,
                          .nonces = nonces,
                          .nonce_counts = counts,
                          .clock = clock,
                          .replica_id = "switchboard-1"}};

  ASSERT_EQ(register_trusted(a, 1).rfind("SIP/2.0 200 ", 0), 0u);
  ASSERT_EQ(stores.stored("alice@acme.test").size(), 1u);
  EXPECT_EQ(stores.stored("alice@acme.test")[0].replica, "switchboard-0");
  EXPECT_EQ(location.lookup("alice@acme.test")[0].replica, "switchboard-0");

  ASSERT_EQ(register_trusted(b, 2).rfind("SIP/2.0 200 ", 0), 0u);
  ASSERT_EQ(stores.stored("alice@acme.test").size(), 1u);
  EXPECT_EQ(stores.stored("alice@acme.test")[0].replica, "switchboard-1") << "refreshed via b";
  EXPECT_EQ(location.lookup("alice@acme.test")[0].replica, "switchboard-1");
}

}  // namespace
