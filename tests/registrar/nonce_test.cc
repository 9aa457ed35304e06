// Nonces (registrar/nonce.h): the token format checked against an independent
// HMAC, tampering, staleness on a ManualClock, replicas sharing a secret, the
// secret's sources, and the nonce-count replay table.
#include "registrar/nonce.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "registrar/random.h"
#include "sip/clock.h"

namespace registrar {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::Not;

// ManualClock's wall clock starts at 1'790'000'000 s and its monotonic clock
// at one hour, so wall_now() reads 1'790'003'600 s before any advance().
constexpr int64_t kStartWallSeconds = 1'790'003'600;

std::chrono::system_clock::time_point wall(int64_t s) {
  return std::chrono::system_clock::time_point(seconds(s));
}

std::vector<uint8_t> key_of(uint8_t fill) { return std::vector<uint8_t>(32, fill); }

// --- an independent implementation of the token, for known answers ------------

std::string b64url(const std::vector<uint8_t>& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (uint8_t b : in) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += k[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += k[(acc << (6 - bits)) & 63];
  return out;
}

std::vector<uint8_t> un_b64url(std::string_view in) {
  std::vector<uint8_t> out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = c >= 'A' && c <= 'Z'   ? c - 'A'
            : c >= 'a' && c <= 'z' ? c - 'a' + 26
            : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '-'             ? 62
                                   : 63;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>(acc >> bits));
    }
  }
  return out;
}

std::vector<uint8_t> hmac_sha256(const std::vector<uint8_t>& key,
                                 const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out(32);
  size_t len = 0;
  EXPECT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                      data.data(), data.size(), out.data(), out.size(), &len),
            nullptr);
  EXPECT_EQ(len, 32u);
  return out;
}

// version | big-endian seconds | 12 random bytes | HMAC-SHA256[0..16), base64url.
std::string mint(const std::vector<uint8_t>& key, uint8_t version, uint64_t issued_s,
                 const std::vector<uint8_t>& random12) {
  std::vector<uint8_t> raw{version};
  for (int i = 7; i >= 0; --i) raw.push_back(static_cast<uint8_t>(issued_s >> (8 * i)));
  raw.insert(raw.end(), random12.begin(), random12.end());
  const std::vector<uint8_t> mac = hmac_sha256(key, raw);
  raw.insert(raw.end(), mac.begin(), mac.begin() + 16);
  return b64url(raw);
}

std::vector<uint8_t> draw(RandomSource& r, size_t n) {
  std::vector<uint8_t> out(n);
  r.fill(out);
  return out;
}

class NonceServiceTest : public ::testing::Test {
 protected:
  sip::ManualClock clock_;
  SeededRandom random_{7};
  std::vector<uint8_t> key_ = key_of(0x42);
  NonceService nonces_{key_, clock_, random_};
};

// --- issue / verify ---------------------------------------------------------------

// Verifies a fresh nonce is 50 base64url characters, verifies as kValid, and
// reports the wall-clock second it was issued.
TEST_F(NonceServiceTest, IssuedNonceVerifiesWithItsIssueTime) {
  const std::string n = nonces_.issue();
  EXPECT_EQ(n.size(), NonceService::kNonceLength);
  EXPECT_EQ(n.size(), 50u);
  EXPECT_EQ(n.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
  const NonceCheck c = nonces_.verify(n);
  EXPECT_EQ(c.status, NonceStatus::kValid);
  EXPECT_EQ(c.issued_at, wall(kStartWallSeconds));
  // version 0x01 and the issue time 1'790'003'600 (0x6AB14990) are the first 9 bytes.
  EXPECT_EQ(n.substr(0, 12), "AQAAAABqsUmQ");
}

// Verifies the exact token layout against an independent HMAC-SHA256: the
// same key, time and random bytes give the same 50 characters.
TEST_F(NonceServiceTest, TokenIsVersionTimeRandomAndTruncatedHmac) {
  SeededRandom twin(7);  // the service's random source, replayed
  const std::string n = nonces_.issue();
  EXPECT_EQ(n, mint(key_, 1, kStartWallSeconds, draw(twin, 12)));
  clock_.advance(seconds(5));
  EXPECT_EQ(nonces_.issue(), mint(key_, 1, kStartWallSeconds + 5, draw(twin, 12)));
}

// Verifies two nonces issued in the same second differ (the random part).
TEST_F(NonceServiceTest, NoncesInTheSameSecondDiffer) {
  const std::string a = nonces_.issue();
  const std::string b = nonces_.issue();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.substr(0, 12), b.substr(0, 12));  // same version and second
  EXPECT_EQ(nonces_.verify(a).status, NonceStatus::kValid);
  EXPECT_EQ(nonces_.verify(b).status, NonceStatus::kValid);
}

// Verifies that changing any single character of a nonce makes it kInvalid.
TEST_F(NonceServiceTest, EveryChangedCharacterIsInvalid) {
  const std::string n = nonces_.issue();
  for (size_t i = 0; i < n.size(); ++i) {
    for (char replacement : {'A', 'B', '_', '9'}) {
      if (n[i] == replacement) continue;
      std::string t = n;
      t[i] = replacement;
      SCOPED_TRACE(t);
      EXPECT_EQ(nonces_.verify(t).status, NonceStatus::kInvalid);
    }
  }
}

// Verifies that flipping any bit of any decoded byte (version, time, random or
// MAC) and re-encoding gives kInvalid.
TEST_F(NonceServiceTest, EveryFlippedByteIsInvalid) {
  const std::string n = nonces_.issue();
  const std::vector<uint8_t> raw = un_b64url(n);
  ASSERT_EQ(raw.size(), NonceService::kRawBytes);
  ASSERT_EQ(b64url(raw), n);
  for (size_t i = 0; i < raw.size(); ++i) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      std::vector<uint8_t> t = raw;
      t[i] ^= mask;
      SCOPED_TRACE(::testing::Message() << "byte " << i << " mask " << int(mask));
      EXPECT_EQ(nonces_.verify(b64url(t)).status, NonceStatus::kInvalid);
    }
  }
}

// Verifies truncated, extended, oversized and garbage inputs are kInvalid.
TEST_F(NonceServiceTest, MalformedInputIsInvalid) {
  const std::string n = nonces_.issue();
  for (size_t len = 0; len < n.size(); ++len) {
    EXPECT_EQ(nonces_.verify(n.substr(0, len)).status, NonceStatus::kInvalid) << len;
  }
  EXPECT_EQ(nonces_.verify(n + "A").status, NonceStatus::kInvalid);
  EXPECT_EQ(nonces_.verify(n + "AAAA").status, NonceStatus::kInvalid);
  EXPECT_EQ(nonces_.verify(n + n).status, NonceStatus::kInvalid);
  EXPECT_EQ(nonces_.verify(std::string(1 << 20, 'A')).status, NonceStatus::kInvalid);
  EXPECT_EQ(nonces_.verify(" " + n.substr(1)).status, NonceStatus::kInvalid);
  EXPECT_EQ(nonces_.verify(std::string(50, '=')).status, NonceStatus::kInvalid);
  EXPECT_EQ(nonces_.verify(std::string(50, '\0')).status, NonceStatus::kInvalid);
  EXPECT_EQ(nonces_.verify(std::string(50, 'A')).status, NonceStatus::kInvalid);
  EXPECT_EQ(nonces_.verify("dcd98b7102dd2f0e8b11d0f600bfb0c093").status, NonceStatus::kInvalid);
  std::string standard_alphabet = n;  // '+' and '/' are base64, not base64url
  standard_alphabet[3] = '+';
  EXPECT_EQ(nonces_.verify(standard_alphabet).status, NonceStatus::kInvalid);
  const NonceCheck c = nonces_.verify("garbage");
  EXPECT_EQ(c.issued_at, std::chrono::system_clock::time_point{});
}

// Verifies that only the canonical encoding is accepted: the last character
// carries 4 unused bits, and setting one gives the same bytes in a lax decoder.
TEST_F(NonceServiceTest, NonCanonicalLastCharacterIsInvalid) {
  const std::string n = nonces_.issue();
  std::string lax = n;
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const size_t v = alphabet.find(n.back());
  ASSERT_EQ(v % 16, 0u);  // 2 data bits, 4 zero bits
  lax.back() = alphabet[v + 1];
  ASSERT_EQ(un_b64url(lax), un_b64url(n));
  EXPECT_EQ(nonces_.verify(lax).status, NonceStatus::kInvalid);
}

// Verifies a nonce from a service with another secret is kInvalid, both ways.
TEST_F(NonceServiceTest, OtherSecretIsInvalid) {
  NonceService other(key_of(0x43), clock_, random_);
  EXPECT_EQ(other.verify(nonces_.issue()).status, NonceStatus::kInvalid);
  EXPECT_EQ(nonces_.verify(other.issue()).status, NonceStatus::kInvalid);
}

// Verifies an authentic token with an unknown version byte is kInvalid.
TEST_F(NonceServiceTest, UnknownVersionIsInvalid) {
  const std::vector<uint8_t> r(12, 0x11);
  EXPECT_EQ(nonces_.verify(mint(key_, 1, kStartWallSeconds, r)).status, NonceStatus::kValid);
  EXPECT_EQ(nonces_.verify(mint(key_, 2, kStartWallSeconds, r)).status, NonceStatus::kInvalid);
  EXPECT_EQ(nonces_.verify(mint(key_, 0, kStartWallSeconds, r)).status, NonceStatus::kInvalid);
}

// Verifies the lifetime: valid through 300 s, kStale at 301 s with the same
// issue time, and still kStale much later (re-challenge, never "forged").
TEST_F(NonceServiceTest, OlderThanLifetimeIsStale) {
  const std::string n = nonces_.issue();
  EXPECT_EQ(nonces_.lifetime(), seconds(300));
  clock_.advance(seconds(300));
  EXPECT_EQ(nonces_.verify(n).status, NonceStatus::kValid);
  clock_.advance(seconds(1));
  const NonceCheck c = nonces_.verify(n);
  EXPECT_EQ(c.status, NonceStatus::kStale);
  EXPECT_EQ(c.issued_at, wall(kStartWallSeconds));
  clock_.advance(std::chrono::hours(24 * 365));
  EXPECT_EQ(nonces_.verify(n).status, NonceStatus::kStale);
  // A stale nonce that was tampered with is still kInvalid, not kStale.
  std::string t = n;
  t[20] = t[20] == 'A' ? 'B' : 'A';
  EXPECT_EQ(nonces_.verify(t).status, NonceStatus::kInvalid);
}

// Verifies a configured lifetime is honoured.
TEST_F(NonceServiceTest, CustomLifetime) {
  NonceService short_lived(key_, clock_, random_, seconds(60));
  const std::string n = short_lived.issue();
  clock_.advance(seconds(60));
  EXPECT_EQ(short_lived.verify(n).status, NonceStatus::kValid);
  clock_.advance(seconds(1));
  EXPECT_EQ(short_lived.verify(n).status, NonceStatus::kStale);
  EXPECT_EQ(nonces_.verify(n).status, NonceStatus::kValid);  // same key, 300 s lifetime
}

// Verifies authentic nonces dated more than the skew (30 s) ahead are kInvalid.
TEST_F(NonceServiceTest, FutureDatedBeyondSkewIsInvalid) {
  const std::vector<uint8_t> r(12, 0x22);
  EXPECT_EQ(nonces_.verify(mint(key_, 1, kStartWallSeconds + 30, r)).status, NonceStatus::kValid);
  EXPECT_EQ(nonces_.verify(mint(key_, 1, kStartWallSeconds + 31, r)).status, NonceStatus::kInvalid);
  EXPECT_EQ(nonces_.verify(mint(key_, 1, UINT64_MAX, r)).status, NonceStatus::kInvalid);
  EXPECT_EQ(nonces_.verify(mint(key_, 1, 0, r)).status, NonceStatus::kStale);
}

// Verifies two replicas sharing the secret (separate random sources, same
// time) accept each other's nonces.
TEST_F(NonceServiceTest, ReplicasWithTheSameSecretVerifyEachOther) {
  SeededRandom random_b(99);
  NonceService replica_b(key_, clock_, random_b);
  for (int i = 0; i < 10; ++i) {
    const std::string from_a = nonces_.issue();
    const std::string from_b = replica_b.issue();
    EXPECT_NE(from_a, from_b);
    EXPECT_EQ(replica_b.verify(from_a).status, NonceStatus::kValid);
    EXPECT_EQ(nonces_.verify(from_b).status, NonceStatus::kValid);
  }
}

// Verifies replicas whose wall clocks differ by less than the skew agree, and
// that a replica too far behind refuses the other's fresh nonces.
TEST(NonceReplicas, ClockSkewWithinAllowance) {
  sip::ManualClock clock_a, clock_b;
  SeededRandom random_a(1), random_b(2);
  const std::vector<uint8_t> key = key_of(0x55);
  NonceService a(key, clock_a, random_a), b(key, clock_b, random_b);
  clock_a.advance(seconds(10));  // a runs 10 s ahead of b
  EXPECT_EQ(b.verify(a.issue()).status, NonceStatus::kValid);
  EXPECT_EQ(a.verify(b.issue()).status, NonceStatus::kValid);
  clock_a.advance(seconds(21));  // 31 s ahead
  EXPECT_EQ(b.verify(a.issue()).status, NonceStatus::kInvalid);
}

// Verifies issue() and verify() from several threads at once.
TEST_F(NonceServiceTest, ConcurrentIssueAndVerify) {
  SystemRandom system_random;
  NonceService service(key_, clock_, system_random);
  std::atomic<int> valid{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (service.verify(service.issue()).status == NonceStatus::kValid) ++valid;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(valid.load(), 2000);
}

// --- the secret -------------------------------------------------------------------------

// Verifies the passphrase is stretched with HMAC-SHA256 under the fixed label
// (known answer), and that surrounding whitespace does not change the key.
TEST(NonceSecretTest, ConfiguredPassphraseDerivesAKnownKey) {
  SeededRandom random(1);
  const auto r = resolve_nonce_secret("correct horse battery staple", std::nullopt, random);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.secret->source, NonceSecret::Source::kConfigured);
  const std::vector<uint8_t> label_key(std::begin("switchboard/registrar/nonce-secret/v1"),
                                       std::end("switchboard/registrar/nonce-secret/v1") - 1);
  const std::string pass = "correct horse battery staple";
  EXPECT_EQ(r.secret->key, hmac_sha256(label_key, std::vector<uint8_t>(pass.begin(), pass.end())));
  EXPECT_EQ(r.secret->key[0], 0xa9);  // a9f7ccee… from Python's hmac module
  EXPECT_EQ(r.secret->key[31], 0xbf);
  const auto padded =
      resolve_nonce_secret("  correct horse battery staple\n", std::nullopt, random);
  ASSERT_TRUE(padded.ok());
  EXPECT_EQ(padded.secret->key, r.secret->key);
}

// Verifies the order: configuration, then the environment, then random.
TEST(NonceSecretTest, ConfigurationThenEnvironmentThenRandom) {
  SeededRandom random(5);
  const auto configured =
      resolve_nonce_secret("configured-secret-0123", "environment-secret-0123", random);
  const auto from_env = resolve_nonce_secret(std::nullopt, "environment-secret-0123", random);
  const auto empty_config = resolve_nonce_secret("", "environment-secret-0123", random);
  ASSERT_TRUE(configured.ok() && from_env.ok() && empty_config.ok());
  EXPECT_EQ(configured.secret->source, NonceSecret::Source::kConfigured);
  EXPECT_EQ(from_env.secret->source, NonceSecret::Source::kEnvironment);
  EXPECT_EQ(empty_config.secret->source, NonceSecret::Source::kEnvironment);
  EXPECT_NE(configured.secret->key, from_env.secret->key);
  EXPECT_EQ(empty_config.secret->key, from_env.secret->key);

  SeededRandom twin(5);
  const auto generated = resolve_nonce_secret(std::nullopt, "", random);
  ASSERT_TRUE(generated.ok());
  EXPECT_EQ(generated.secret->source, NonceSecret::Source::kGenerated);
  EXPECT_EQ(generated.secret->key, draw(twin, kNonceKeyBytes));
}

// Verifies a short passphrase is refused with a message naming its source and
// not its value.
TEST(NonceSecretTest, ShortPassphraseIsRefused) {
  SeededRandom random(1);
  const auto r = resolve_nonce_secret("hunter2hunter2", std::nullopt, random);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error,
            "nonce secret from the configuration is too short (14 characters; at least 16 "
            "required, e.g. from `openssl rand -base64 32`)");
  EXPECT_THAT(r.error, Not(HasSubstr("hunter2")));
  const auto env = resolve_nonce_secret(std::nullopt, "   short   \n", random);
  EXPECT_FALSE(env.ok());
  EXPECT_THAT(env.error, HasSubstr("SWITCHBOARD_NONCE_SECRET is too short (5 characters"));
}

// Verifies load_nonce_secret() reads SWITCHBOARD_NONCE_SECRET, and that two
// replicas configured with the same passphrase verify each other's nonces.
TEST(NonceSecretTest, EnvironmentVariableSharedByReplicas) {
  SeededRandom random(3);
  ASSERT_EQ(setenv("SWITCHBOARD_NONCE_SECRET", "shared-by-every-replica-2026", 1), 0);
  const auto a = load_nonce_secret(std::nullopt, random);
  const auto b = resolve_nonce_secret("shared-by-every-replica-2026", std::nullopt, random);
  ASSERT_EQ(unsetenv("SWITCHBOARD_NONCE_SECRET"), 0);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a.secret->source, NonceSecret::Source::kEnvironment);
  EXPECT_EQ(a.secret->key, b.secret->key);

  sip::ManualClock clock;
  NonceService replica_a(a.secret->key, clock, random), replica_b(b.secret->key, clock, random);
  EXPECT_EQ(replica_b.verify(replica_a.issue()).status, NonceStatus::kValid);

  const auto unset = load_nonce_secret(std::nullopt, random);
  ASSERT_TRUE(unset.ok());
  EXPECT_EQ(unset.secret->source, NonceSecret::Source::kGenerated);
  EXPECT_EQ(unset.secret->key.size(), kNonceKeyBytes);
}

// Verifies SeededRandom repeats for a seed and SystemRandom fills everything.
TEST(RandomSourceTest, SeededIsDeterministicSystemIsNot) {
  SeededRandom a(42), b(42), c(43);
  const auto x = draw(a, 33);
  EXPECT_EQ(x, draw(b, 33));
  EXPECT_NE(x, draw(c, 33));
  EXPECT_NE(draw(a, 33), x);  // the stream moves on
  SystemRandom system;
  const auto s1 = draw(system, 32), s2 = draw(system, 32);
  EXPECT_NE(s1, s2);
  EXPECT_NE(s1, std::vector<uint8_t>(32, 0));
}

// --- NonceCounter -------------------------------------------------------------------------

class NonceCounterTest : public ::testing::Test {
 protected:
  // A distinct made-up nonce per index (the counter treats nonces as opaque).
  static std::string nonce(int i) { return "nonce-" + std::to_string(i); }
  std::chrono::system_clock::time_point now() const {
    return std::chrono::time_point_cast<seconds>(clock_.wall_now());
  }

  sip::ManualClock clock_;
};

// Verifies nc 1, 2, 3 are accepted and a repeated or lower nc is refused.
TEST_F(NonceCounterTest, IncreasingCountsOnlyAreAccepted) {
  NonceCounter counter(clock_);
  const auto t = now();
  EXPECT_TRUE(counter.accept("n", t, 1));
  EXPECT_TRUE(counter.accept("n", t, 2));
  EXPECT_TRUE(counter.accept("n", t, 3));
  EXPECT_FALSE(counter.accept("n", t, 3));  // replay
  EXPECT_FALSE(counter.accept("n", t, 2));  // lower
  EXPECT_FALSE(counter.accept("n", t, 1));
  EXPECT_TRUE(counter.accept("n", t, 10));  // gaps are fine (requests lost, or parallel)
  EXPECT_FALSE(counter.accept("n", t, 9));
  EXPECT_TRUE(counter.accept("n", t, 0xffffffff));
  EXPECT_FALSE(counter.accept("n", t, 0xffffffff));
  EXPECT_EQ(counter.size(), 1u);
  const NonceCounter::Stats s = counter.stats();
  EXPECT_EQ(s.accepted, 5u);
  EXPECT_EQ(s.replayed, 5u);
}

// Verifies the first use accepts any nc >= 1 but never 0, and nonces are
// counted independently.
TEST_F(NonceCounterTest, FirstUseAndIndependentNonces) {
  NonceCounter counter(clock_);
  const auto t = now();
  EXPECT_FALSE(counter.accept("a", t, 0));
  EXPECT_EQ(counter.size(), 0u);
  EXPECT_TRUE(counter.accept("a", t, 5));
  EXPECT_FALSE(counter.accept("a", t, 5));
  EXPECT_TRUE(counter.accept("b", t, 1));
  EXPECT_TRUE(counter.accept("a", t, 6));
  EXPECT_FALSE(counter.accept("b", t, 1));
  EXPECT_FALSE(counter.accept("a", t, 0));
  EXPECT_EQ(counter.size(), 2u);
}

// Verifies a nonce past its lifetime is refused and not stored.
TEST_F(NonceCounterTest, ExpiredNonceIsRefused) {
  NonceCounter counter(clock_);
  EXPECT_FALSE(counter.accept("old", now() - seconds(301), 1));
  EXPECT_TRUE(counter.accept("edge", now() - seconds(300), 1));
  EXPECT_EQ(counter.size(), 1u);
  EXPECT_EQ(counter.stats().expired_refused, 1u);
}

// Verifies expiry frees entries: purge_expired() drops exactly the nonces
// older than the lifetime, and a dropped nonce cannot come back.
TEST_F(NonceCounterTest, ExpiryFreesEntries) {
  NonceCounter counter(clock_);
  const auto t0 = now();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(counter.accept(nonce(i), t0, 1));
  clock_.advance(seconds(100));
  const auto t1 = now();
  ASSERT_TRUE(counter.accept(nonce(3), t1, 1));
  EXPECT_EQ(counter.size(), 4u);
  clock_.advance(seconds(200));  // t0 nonces are exactly 300 s old: still live
  EXPECT_EQ(counter.purge_expired(), 0u);
  clock_.advance(seconds(1));
  EXPECT_EQ(counter.purge_expired(), 3u);
  EXPECT_EQ(counter.size(), 1u);
  EXPECT_EQ(counter.stats().expired_evicted, 3u);
  EXPECT_FALSE(counter.accept(nonce(0), t0, 2));  // expired: refused, not re-admitted
  EXPECT_FALSE(counter.accept(nonce(3), t1, 1));  // still tracked
  EXPECT_TRUE(counter.accept(nonce(3), t1, 2));
  clock_.advance(seconds(100));
  EXPECT_EQ(counter.purge_expired(), 1u);
  EXPECT_EQ(counter.size(), 0u);
}

// Verifies a full table drops expired entries before any live one.
TEST_F(NonceCounterTest, FullTableDropsExpiredFirst) {
  NonceCounter counter(clock_, {.max_entries = 2, .lifetime = seconds(300), .shards = 1});
  const auto t0 = now();
  ASSERT_TRUE(counter.accept("a", t0, 1));
  clock_.advance(seconds(200));
  const auto t1 = now();
  ASSERT_TRUE(counter.accept("b", t1, 1));
  clock_.advance(seconds(150));  // "a" is 350 s old, "b" 150 s
  EXPECT_TRUE(counter.accept("c", now(), 1));
  EXPECT_EQ(counter.size(), 2u);
  const NonceCounter::Stats s = counter.stats();
  EXPECT_EQ(s.expired_evicted, 1u);
  EXPECT_EQ(s.capacity_evicted, 0u);
  EXPECT_FALSE(counter.accept("b", t1, 1));  // "b" was kept: its replay is caught
  EXPECT_TRUE(counter.accept("b", t1, 2));
}

// Verifies the bound: a full table drops the oldest live nonce, never grows,
// and refuses that forgotten nonce afterwards instead of letting it replay.
TEST_F(NonceCounterTest, BoundIsRespectedAndForgottenNoncesFailClosed) {
  NonceCounter counter(clock_, {.max_entries = 4, .lifetime = seconds(300), .shards = 1});
  EXPECT_EQ(counter.max_entries(), 4u);
  std::vector<std::chrono::system_clock::time_point> issued;
  for (int i = 0; i < 4; ++i) {
    issued.push_back(now());
    ASSERT_TRUE(counter.accept(nonce(i), issued.back(), 1));
    clock_.advance(seconds(1));
  }
  EXPECT_EQ(counter.size(), 4u);
  issued.push_back(now());
  EXPECT_TRUE(counter.accept(nonce(4), issued.back(), 1));
  EXPECT_EQ(counter.size(), 4u);
  EXPECT_EQ(counter.stats().capacity_evicted, 1u);

  // nonce 0 (the oldest) was forgotten: its replay is refused, not accepted as new.
  EXPECT_FALSE(counter.accept(nonce(0), issued[0], 1));
  EXPECT_EQ(counter.stats().forgotten_refused, 1u);
  // An unseen nonce issued in the same second as the forgotten one is refused too.
  EXPECT_FALSE(counter.accept("unseen", issued[0], 1));
  // The others are still tracked.
  for (int i = 1; i <= 4; ++i) {
    EXPECT_FALSE(counter.accept(nonce(i), issued[i], 1)) << i;
    EXPECT_TRUE(counter.accept(nonce(i), issued[i], 2)) << i;
  }
  // A new nonce no newer than everything held is refused rather than evicting.
  NonceCounter same_second(clock_, {.max_entries = 2, .lifetime = seconds(300), .shards = 1});
  const auto t = now();
  ASSERT_TRUE(same_second.accept("x", t, 1));
  ASSERT_TRUE(same_second.accept("y", t, 1));
  EXPECT_FALSE(same_second.accept("z", t, 1));
  EXPECT_EQ(same_second.stats().capacity_refused, 1u);
  EXPECT_EQ(same_second.size(), 2u);
  EXPECT_FALSE(same_second.accept("x", t, 1));  // nothing was forgotten
}

// Verifies the bound across shards under a stream of newer and newer nonces.
TEST_F(NonceCounterTest, BoundHoldsAcrossShards) {
  NonceCounter counter(clock_, {.max_entries = 100, .lifetime = seconds(300), .shards = 16});
  EXPECT_LE(counter.max_entries(), 100u);
  EXPECT_GE(counter.max_entries(), 90u);
  uint64_t accepted = 0;
  for (int i = 0; i < 2000; ++i) {
    if (i % 10 == 0) clock_.advance(seconds(1));
    accepted += counter.accept(nonce(i), now(), 1);
    ASSERT_LE(counter.size(), counter.max_entries()) << i;
  }
  EXPECT_GT(counter.size(), 50u);
  const NonceCounter::Stats s = counter.stats();
  EXPECT_EQ(s.accepted, accepted);
  EXPECT_EQ(s.accepted + s.capacity_refused + s.forgotten_refused, 2000u);
  EXPECT_GT(accepted, 1900u);        // refusals only when a shard is full of this second's nonces
  EXPECT_EQ(s.expired_evicted, 0u);  // 200 s of traffic: nothing expired
  EXPECT_EQ(s.capacity_evicted, accepted - counter.size());
}

// Verifies the shard count is clamped so a tiny table still has a slot.
TEST_F(NonceCounterTest, TinyTableStillWorks) {
  NonceCounter counter(clock_, {.max_entries = 1, .lifetime = seconds(300), .shards = 16});
  EXPECT_EQ(counter.max_entries(), 1u);
  EXPECT_TRUE(counter.accept("a", now(), 1));
  clock_.advance(seconds(1));
  EXPECT_TRUE(counter.accept("b", now(), 1));
  EXPECT_EQ(counter.size(), 1u);
}

// Verifies that under concurrent use of one nonce no nc is accepted twice.
TEST_F(NonceCounterTest, ConcurrentRepliesNeverAcceptAnNcTwice) {
  NonceCounter counter(clock_);
  const auto t = now();
  constexpr uint32_t kCounts = 2000;
  std::vector<std::atomic<int>> accepted(kCounts + 1);
  std::vector<std::thread> threads;
  for (int th = 0; th < 4; ++th) {
    threads.emplace_back([&] {
      for (uint32_t nc = 1; nc <= kCounts; ++nc) {
        if (counter.accept("shared", t, nc)) ++accepted[nc];
        (void)counter.accept(nonce(static_cast<int>(nc)), t, 1);  // other shards busy too
      }
    });
  }
  for (auto& th : threads) th.join();
  int total = 0;
  for (uint32_t nc = 1; nc <= kCounts; ++nc) {
    ASSERT_LE(accepted[nc].load(), 1) << nc;
    total += accepted[nc].load();
  }
  EXPECT_GE(total, 1);
  EXPECT_EQ(accepted[kCounts].load() + (counter.accept("shared", t, kCounts) ? 1 : 0), 1);
  EXPECT_EQ(counter.size(), kCounts + 1);
}

// Verifies the service and the counter together: the issue time from verify()
// drives the counter, and staleness agrees between them.
TEST(NonceServiceAndCounter, ReplayOfAuthenticatedRequestIsCaught) {
  sip::ManualClock clock;
  SeededRandom random(11);
  NonceService nonces(key_of(0x01), clock, random);
  NonceCounter counter(clock, {.lifetime = nonces.lifetime()});
  const std::string n = nonces.issue();
  NonceCheck c = nonces.verify(n);
  ASSERT_EQ(c.status, NonceStatus::kValid);
  EXPECT_TRUE(counter.accept(n, c.issued_at, 1));
  EXPECT_FALSE(counter.accept(n, c.issued_at, 1));  // the captured request, replayed
  clock.advance(seconds(120));
  c = nonces.verify(n);
  ASSERT_EQ(c.status, NonceStatus::kValid);
  EXPECT_TRUE(counter.accept(n, c.issued_at, 2));  // the phone's next REGISTER
  clock.advance(seconds(181));
  EXPECT_EQ(nonces.verify(n).status, NonceStatus::kStale);
  EXPECT_FALSE(counter.accept(n, c.issued_at, 3));
  EXPECT_EQ(counter.purge_expired(), 1u);
}

}  // namespace
}  // namespace registrar
