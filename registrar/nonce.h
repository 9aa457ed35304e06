// registrar/nonce.h — stateless Digest nonces (RFC 7616 §3.3, §5.4;
// RFC 3261 §22.4) and nonce-count replay protection (RFC 7616 §3.4, §5.5).
//
// A nonce carries its own issue time and an HMAC over it, so any replica that
// shares the secret can check it without shared state, and a nonce that is
// authentic but too old is told apart from a forged one (re-challenge with
// stale=true instead of refusing). The nonce-count table is the only state.
//
//   auto secret = registrar::load_nonce_secret(config.nonce_secret, random);  // or env, or random
//   registrar::NonceService nonces(secret.secret->key, clock, random);
//   std::string n = nonces.issue();                       // into WWW-Authenticate
//   ...
//   registrar::NonceCheck c = nonces.verify(*params.get("nonce"));
//   if (c.status == registrar::NonceStatus::kStale) { /* 401 with stale=true */ }
//   if (c.status == registrar::NonceStatus::kValid &&
//       response_matches &&                                // verify the response FIRST
//       counter.accept(*params.get("nonce"), c.issued_at, *nc)) { /* authenticated */ }
//
// See docs/digest-auth.md for the design.
#ifndef SWITCHBOARD_REGISTRAR_NONCE_H_
#define SWITCHBOARD_REGISTRAR_NONCE_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "registrar/random.h"
#include "sip/clock.h"

namespace registrar {

// ---------------------------------------------------------------------------
// The secret nonces are authenticated with.

// Read by load_nonce_secret() when no secret is configured.
inline constexpr const char* kNonceSecretEnvVar = "SWITCHBOARD_NONCE_SECRET";
// A configured secret shorter than this is refused: an HMAC key that can be
// guessed lets anyone mint nonces. Generate one with `openssl rand -base64 32`.
inline constexpr size_t kMinNonceSecretChars = 16;
// Size of the derived key, and of a generated one.
inline constexpr size_t kNonceKeyBytes = 32;

struct NonceSecret {
  enum class Source : uint8_t {
    kConfigured,   // from the configuration
    kEnvironment,  // from SWITCHBOARD_NONCE_SECRET
    kGenerated,    // random at start: nonces do not survive a restart and other
                   // replicas reject them (the caller should log a warning)
  };
  std::vector<uint8_t> key;  // kNonceKeyBytes bytes, for NonceService
  Source source = Source::kGenerated;
};

struct NonceSecretOrError {
  std::optional<NonceSecret> secret;
  std::string error;  // set iff !secret
  bool ok() const { return secret.has_value(); }
};

// Picks the nonce secret: `configured` if given and not empty, else
// `environment` if given and not empty, else kNonceKeyBytes from `random`.
// A given passphrase has surrounding ASCII whitespace trimmed (a trailing
// newline from a mounted Kubernetes secret must not make replicas disagree)
// and is stretched into the key with HMAC-SHA256 under a fixed label, so every
// replica configured with the same string derives the same key. Fails (with a
// message naming the source, never the secret) when a given passphrase is
// shorter than kMinNonceSecretChars after trimming.
[[nodiscard]] NonceSecretOrError resolve_nonce_secret(std::optional<std::string_view> configured,
                                                      std::optional<std::string_view> environment,
                                                      RandomSource& random);

// resolve_nonce_secret() with `environment` read from SWITCHBOARD_NONCE_SECRET.
// Call at start-up (getenv is not thread-safe against setenv).
[[nodiscard]] NonceSecretOrError load_nonce_secret(std::optional<std::string_view> configured,
                                                   RandomSource& random);

// ---------------------------------------------------------------------------
// Issuing and checking nonces.

enum class NonceStatus : uint8_t {
  kValid,    // ours, within its lifetime
  kStale,    // ours, but older than the lifetime: re-challenge with stale=true
  kInvalid,  // not ours: forged, garbled, wrong length, or dated in the future
};

struct NonceCheck {
  NonceStatus status = NonceStatus::kInvalid;
  // When the nonce was issued (whole seconds, wall clock of the issuing
  // replica). Set for kValid and kStale; the epoch for kInvalid.
  std::chrono::system_clock::time_point issued_at{};
};

// Token layout (before base64url without padding), 37 bytes → 50 characters:
//   [0]      version, 0x01
//   [1..9)   issue time, seconds since the Unix epoch, big-endian (Clock::wall_now)
//   [9..21)  12 random bytes (two nonces issued in the same second differ)
//   [21..37) HMAC-SHA256(key, bytes [0..21)), first 16 bytes
class NonceService {
 public:
  static constexpr uint8_t kVersion = 1;
  static constexpr size_t kRandomBytes = 12;
  static constexpr size_t kMacBytes = 16;
  static constexpr size_t kRawBytes = 1 + 8 + kRandomBytes + kMacBytes;  // 37
  static constexpr size_t kNonceLength = (kRawBytes * 4 + 2) / 3;        // 50 characters
  static constexpr std::chrono::seconds kDefaultLifetime{300};
  static constexpr std::chrono::seconds kDefaultMaxFutureSkew{30};

  // `clock` and `random` must outlive the service. The key is copied (and
  // wiped on destruction).
  // REQUIRES: secret.size() >= kMinNonceSecretChars (use resolve_nonce_secret()).
  // REQUIRES: lifetime > 0, max_future_skew >= 0.
  // (A broken REQUIRES is a start-up configuration bug: the process aborts.)
  NonceService(std::span<const uint8_t> secret, const sip::Clock& clock, RandomSource& random,
               std::chrono::seconds lifetime = kDefaultLifetime,
               std::chrono::seconds max_future_skew = kDefaultMaxFutureSkew);
  ~NonceService();
  NonceService(const NonceService&) = delete;
  NonceService& operator=(const NonceService&) = delete;

  // A fresh nonce: kNonceLength characters of [A-Za-z0-9_-], safe inside a
  // quoted-string. Thread-safe.
  std::string issue() const;

  // Checks a nonce taken from a request (any bytes, any length: anything but a
  // well-formed kNonceLength token is kInvalid before any hashing). The MAC is
  // compared in constant time. A nonce dated more than max_future_skew ahead of
  // this replica's wall clock is kInvalid; one older than the lifetime is
  // kStale (age == lifetime is still kValid). Thread-safe.
  NonceCheck verify(std::string_view nonce) const;

  std::chrono::seconds lifetime() const { return lifetime_; }

 private:
  void mac(std::span<const uint8_t> data, std::span<uint8_t, kMacBytes> out) const;

  std::vector<uint8_t> key_;
  const sip::Clock& clock_;
  RandomSource& random_;
  std::chrono::seconds lifetime_;
  std::chrono::seconds max_future_skew_;
};

// ---------------------------------------------------------------------------
// Replay protection.

struct NonceCounterOptions {
  // Upper bound on remembered nonces, all shards together (about 220 bytes
  // each: 1M ≈ 220 MB, measured).
  size_t max_entries = 1'000'000;
  // Must be the NonceService's lifetime: an entry is dropped once its nonce is
  // stale, so nothing is forgotten that the service would still accept.
  std::chrono::seconds lifetime = NonceService::kDefaultLifetime;
  // Independent locks; nonces are spread by hash. Clamped to [1, max_entries].
  size_t shards = 16;
};

// Remembers the highest nonce-count seen per nonce, so a captured request
// cannot be replayed (RFC 7616 §3.4: nc "MUST" increase; §5.5).
//
// In memory, per process. With several replicas the nonce stays stateless but
// this table does not: a request replayed to another replica is not caught.
// It moves to Redis (one key per nonce with a TTL of the nonce's remaining
// lifetime, compare-and-set on nc) when the registrar runs replicated; until
// then, keep a client on one replica (hash on source or AOR) if that matters.
//
// Bounded: when a shard is full, nonces that have expired go first, then the
// oldest by issue time. Forgetting a live nonce would let it be replayed, so
// the table remembers the newest issue time it dropped that way and refuses
// any unknown nonce issued at or before it; a new nonce no newer than every
// nonce held is refused rather than making room. Either way the client is
// re-challenged (the caller answers as for a stale nonce) instead of being let
// in: under memory pressure the table fails closed.
//
// Threading: every method may be called from any thread at once.
class NonceCounter {
 public:
  struct Stats {
    uint64_t accepted = 0;           // accept() returned true
    uint64_t replayed = 0;           // nc 0, or not above the last nc for the nonce
    uint64_t expired_refused = 0;    // accept() for a nonce past its lifetime
    uint64_t forgotten_refused = 0;  // unknown nonce at or before the eviction floor
    uint64_t expired_evicted = 0;    // entries dropped because their nonce expired
    uint64_t capacity_evicted = 0;   // live entries dropped to stay within max_entries
    uint64_t capacity_refused = 0;   // new nonce refused: shard full of nonces no older than it
  };

  // `clock` must outlive the counter; it must be the NonceService's clock.
  // REQUIRES: options.max_entries >= 1, options.lifetime > 0.
  explicit NonceCounter(const sip::Clock& clock, NonceCounterOptions options = {});
  ~NonceCounter();
  NonceCounter(const NonceCounter&) = delete;
  NonceCounter& operator=(const NonceCounter&) = delete;

  // True when `nc` is the first count seen for `nonce` (any nc >= 1) or is
  // strictly greater than the last one accepted; records it then. False for
  // nc 0, a repeated or lower nc, a nonce past its lifetime, or an unknown
  // nonce the table may have forgotten (see above).
  // `issued_at` is NonceCheck::issued_at from NonceService::verify().
  // REQUIRES: the nonce verified kValid AND the response was checked first;
  //           otherwise anyone holding a fresh nonce could burn its counts or
  //           fill the table.
  [[nodiscard]] bool accept(std::string_view nonce, std::chrono::system_clock::time_point issued_at,
                            uint32_t nc);

  // Drops every entry whose nonce has expired; returns how many. accept()
  // also does this for a full shard; a periodic call keeps memory low.
  size_t purge_expired();

  // Entries held now (all shards).
  size_t size() const;
  size_t max_entries() const { return per_shard_capacity_ * shards_.size(); }

  Stats stats() const;

 private:
  struct Shard;

  int64_t now_seconds() const;
  bool expired(int64_t issued_s, int64_t now_s) const;
  size_t purge_locked(Shard& shard, int64_t now_s);

  const sip::Clock& clock_;
  const int64_t lifetime_s_;
  size_t per_shard_capacity_;
  std::vector<std::unique_ptr<Shard>> shards_;

  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> replayed_{0};
  std::atomic<uint64_t> expired_refused_{0};
  std::atomic<uint64_t> forgotten_refused_{0};
  std::atomic<uint64_t> expired_evicted_{0};
  std::atomic<uint64_t> capacity_evicted_{0};
  std::atomic<uint64_t> capacity_refused_{0};
};

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_NONCE_H_
