// CompactBinding and ProfilePool (registrar/compact_binding.h): every Binding
// comes back exactly as packed, the compact forms are used only when they
// round-trip, and pooled strings are shared and freed with their last user.
#include "registrar/compact_binding.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <climits>
#include <thread>
#include <vector>

#include "binding_fixtures.h"

namespace registrar {
namespace {

using std::chrono::seconds;
using testing::make_binding;

Binding typical() {
  return make_binding("alice@acme.test", "sip:alice@192.0.2.4:5062;transport=udp",
                      testing::wall_ms(1'790'000'000'000));
}

// Verifies a typical binding round-trips and keeps only its variable text:
// the username (the AOR's user) and the AOR are not stored, the IPv4 is 4 bytes.
TEST(CompactBinding, TypicalBindingRoundTripsCompactly) {
  ProfilePool pool;
  const Binding b = typical();
  const CompactBinding c = CompactBinding::pack(b, b.aor, pool);
  EXPECT_EQ(c.unpack(b.aor), b);
  EXPECT_EQ(c.expires_at(), b.expires_at);
  EXPECT_EQ(c.text_size(), 5 + b.contact.size() + b.call_id.size() + 4);
  EXPECT_EQ(pool.size(), 1u);
}

// Verifies unusual values round-trip exactly, each falling back to text where a
// compact form would not give the same string back.
TEST(CompactBinding, UnusualValuesRoundTripExactly) {
  struct Case {
    const char* name;
    void (*edit)(Binding&);
  };
  const Case cases[] = {
      {"ipv6 canonical", [](Binding& b) { b.source_ip = "2001:db8::1"; }},
      {"ipv6 upper case", [](Binding& b) { b.source_ip = "2001:DB8::1"; }},
      {"ipv6 zeros spelled", [](Binding& b) { b.source_ip = "2001:db8:0:0::1"; }},
      {"ipv6 mapped", [](Binding& b) { b.source_ip = "::ffff:192.0.2.1"; }},
      {"ipv6 zone", [](Binding& b) { b.source_ip = "fe80::1%eth0"; }},
      {"ipv4 leading zero", [](Binding& b) { b.source_ip = "192.0.2.04"; }},
      {"ip with NUL", [](Binding& b) { b.source_ip = std::string("192.0.2.4\0x", 11); }},
      {"ip a name", [](Binding& b) { b.source_ip = "pc33.atlanta.example.com"; }},
      {"ip empty", [](Binding& b) { b.source_ip.clear(); }},
      {"username other", [](Binding& b) { b.username = "1001"; }},
      {"username empty", [](Binding& b) { b.username.clear(); }},
      {"aor field differs", [](Binding& b) { b.aor = "bob@acme.test"; }},
      {"all strings empty",
       [](Binding& b) {
         b = Binding{};
         b.aor = "alice@acme.test";
       }},
      {"long path (multi-byte lengths)", [](Binding& b) { b.path = std::string(70'000, 'p'); }},
      {"NUL bytes", [](Binding& b) { b.call_id = std::string("a\0b", 3); }},
      {"outbound",
       [](Binding& b) {
         b.instance_id = "<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";
         b.reg_id = 1;
         b.path = "<sip:edge.acme.test;lr;ob>";
         b.transport = "tls";
         b.connection_id = 42;
       }},
      {"extreme integers",
       [](Binding& b) {
         b.q = INT_MIN;
         b.cseq = UINT32_MAX;
         b.reg_id = UINT32_MAX;
         b.source_port = UINT16_MAX;
         b.connection_id = UINT64_MAX;
       }},
      {"q max", [](Binding& b) { b.q = INT_MAX; }},
      {"replica", [](Binding& b) { b.replica = "switchboard-1"; }},
      {"replica with NUL", [](Binding& b) { b.replica = std::string("r\0s", 3); }},
      {"sub-millisecond times",
       [](Binding& b) {
         b.expires_at += std::chrono::nanoseconds(1);
         b.first_registered = WallTime(WallTime::duration(-1));  // before the epoch
         b.last_registered = WallTime::max();
       }},
  };
  ProfilePool pool;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Binding b = typical();
    c.edit(b);
    const std::string aor = "alice@acme.test";
    EXPECT_EQ(CompactBinding::pack(b, aor, pool).unpack(aor), b);
  }
  EXPECT_EQ(pool.size(), 0u) << "every profile left with its binding";
}

// Verifies the AOR's user part is taken before the last '@' (a user part may hold
// an unescaped '@'), and is empty for an AOR without one.
TEST(CompactBinding, AorUserPart) {
  EXPECT_EQ(aor_user("alice@acme.test"), "alice");
  EXPECT_EQ(aor_user("a@b@acme.test"), "a@b");
  EXPECT_EQ(aor_user("acme.test"), "");
  ProfilePool pool;
  for (const char* aor : {"a@b@acme.test", "acme.test", "@acme.test", ""}) {
    SCOPED_TRACE(aor);
    for (const char* username : {"", "a", "a@b", "acme.test"}) {
      Binding b = typical();
      b.aor = aor;
      b.username = username;
      EXPECT_EQ(CompactBinding::pack(b, aor, pool).unpack(aor), b);
    }
  }
}

// Verifies bindings with the same realm, transport, listener and User-Agent share
// one profile, which leaves the pool with the last of them.
TEST(ProfilePool, SharesAndReleasesProfiles) {
  ProfilePool pool;
  std::vector<CompactBinding> held;
  for (int i = 0; i < 10; ++i) {
    Binding b = make_binding("u" + std::to_string(i) + "@acme.test", "sip:u@192.0.2.1",
                             testing::wall_ms(1000));
    held.push_back(CompactBinding::pack(b, b.aor, pool));
  }
  EXPECT_EQ(pool.size(), 1u);
  Binding other = typical();
  other.user_agent = "Other/2.0";
  CompactBinding c = CompactBinding::pack(other, other.aor, pool);
  EXPECT_EQ(pool.size(), 2u);
  held.resize(1);
  EXPECT_EQ(pool.size(), 2u);
  held.clear();
  EXPECT_EQ(pool.size(), 1u);
  c = CompactBinding();
  EXPECT_EQ(pool.size(), 0u);
}

// Verifies the five pooled strings are kept apart: ("ab", "c") is not ("a", "bc").
TEST(ProfilePool, KeysDoNotRunTogether) {
  ProfilePool pool;
  ProfileRef a = pool.acquire("ab", "c", "", "", "");
  ProfileRef b = pool.acquire("a", "bc", "", "", "");
  EXPECT_NE(a.get(), b.get());
  EXPECT_EQ(b->realm, "a");
  EXPECT_EQ(b->transport, "bc");
  ProfileRef a2 = pool.acquire("ab", "c", "", "", "");
  EXPECT_EQ(a.get(), a2.get());
  ProfileRef c = pool.acquire("", "", "", "u", "r");
  ProfileRef d = pool.acquire("", "", "", "ur", "");
  EXPECT_NE(c.get(), d.get());
  EXPECT_EQ(c->replica, "r");
}

// Verifies the replica is part of the profile: bindings held by one replica share one
// profile, the same phone fleet held by two replicas has two, and the replica costs
// nothing in the per-binding text block.
TEST(ProfilePool, ReplicaIsPooled) {
  ProfilePool pool;
  std::vector<CompactBinding> held;
  for (int i = 0; i < 10; ++i) {
    Binding b = make_binding("u" + std::to_string(i) + "@acme.test", "sip:u@192.0.2.1",
                             testing::wall_ms(1000));
    b.replica = i % 2 == 0 ? "switchboard-0" : "switchboard-1";
    held.push_back(CompactBinding::pack(b, b.aor, pool));
    EXPECT_EQ(held.back().unpack(b.aor).replica, b.replica);
  }
  EXPECT_EQ(pool.size(), 2u);
  Binding b = typical();
  const size_t without = CompactBinding::pack(b, b.aor, pool).text_size();
  b.replica = "switchboard-0";
  EXPECT_EQ(CompactBinding::pack(b, b.aor, pool).text_size(), without);
}

// Verifies threads packing and dropping bindings at once keep the pool consistent.
TEST(ProfilePool, ConcurrentAcquireAndRelease) {
  ProfilePool pool;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&pool, t] {
      for (int i = 0; i < 2000; ++i) {
        Binding b = typical();
        b.user_agent = "UA/" + std::to_string((i + t) % 7);
        const CompactBinding c = CompactBinding::pack(b, b.aor, pool);
        if (c.unpack(b.aor) != b) ADD_FAILURE() << "round trip";
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(pool.size(), 0u);
}

}  // namespace
}  // namespace registrar
