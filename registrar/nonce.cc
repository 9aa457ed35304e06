// registrar/nonce.cc — HMAC-authenticated stateless nonces, the nonce secret,
// and the nonce-count table.
#include "registrar/nonce.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <set>
#include <unordered_map>
#include <utility>

#include "registrar/digest.h"

namespace registrar {
namespace {

using std::chrono::duration_cast;
using std::chrono::seconds;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "registrar/nonce: %s\n", what);
  std::abort();
}

// HMAC-SHA256 through EVP_MAC. The HMAC implementation is fetched once.
std::array<uint8_t, 32> hmac_sha256(std::span<const uint8_t> key, std::span<const uint8_t> data) {
  static EVP_MAC* const hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (hmac == nullptr) fail("EVP_MAC_fetch(HMAC) failed");
  struct CtxFree {
    void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
  };
  std::unique_ptr<EVP_MAC_CTX, CtxFree> ctx(EVP_MAC_CTX_new(hmac));
  char digest_name[] = "SHA2-256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end()};
  std::array<uint8_t, 32> out{};
  size_t out_len = 0;
  if (!ctx || EVP_MAC_init(ctx.get(), key.data(), key.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out.data(), &out_len, out.size()) != 1 || out_len != out.size()) {
    fail("HMAC-SHA256 failed");
  }
  return out;
}

std::span<const uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// --- base64url without padding (RFC 4648 §5) --------------------------------

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url_encode(std::span<const uint8_t> in) {
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (in.size() - i == 1) {
    const uint32_t v = uint32_t{in[i]} << 16;
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
  } else if (in.size() - i == 2) {
    const uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8);
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
  }
  return out;
}

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// Strict and canonical: only the URL-safe alphabet, no padding, and the unused
// low bits of the last character zero, so each byte string has exactly one
// encoding (the nonce-count table keys on the text).
bool base64url_decode(std::string_view in, std::span<uint8_t> out) {
  if (out.size() != in.size() * 3 / 4 || in.size() % 4 == 1) return false;
  uint32_t acc = 0;
  int bits = 0;
  size_t o = 0;
  for (char c : in) {
    const int v = b64_value(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = static_cast<uint8_t>(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
  return acc == 0 && o == out.size();  // leftover bits must be zero
}

int64_t wall_seconds(const sip::Clock& clock) {
  return duration_cast<seconds>(clock.wall_now().time_since_epoch()).count();
}

std::string_view trim(std::string_view s) {
  auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
  };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

constexpr std::string_view kSecretLabel = "switchboard/registrar/nonce-secret/v1";

}  // namespace

// --- the secret ---------------------------------------------------------------

NonceSecretOrError resolve_nonce_secret(std::optional<std::string_view> configured,
                                        std::optional<std::string_view> environment,
                                        RandomSource& random) {
  NonceSecretOrError result;
  auto from_passphrase = [&](std::string_view passphrase, NonceSecret::Source source,
                             const char* where) {
    passphrase = trim(passphrase);
    if (passphrase.size() < kMinNonceSecretChars) {
      result.error = std::string("nonce secret from ") + where + " is too short (" +
                     std::to_string(passphrase.size()) + " characters; at least " +
                     std::to_string(kMinNonceSecretChars) +
                     " required, e.g. from `openssl rand -base64 32`)";
      return;
    }
    const std::array<uint8_t, 32> key = hmac_sha256(bytes_of(kSecretLabel), bytes_of(passphrase));
    result.secret = NonceSecret{std::vector<uint8_t>(key.begin(), key.end()), source};
  };
  if (configured && !configured->empty()) {
    from_passphrase(*configured, NonceSecret::Source::kConfigured, "the configuration");
  } else if (environment && !environment->empty()) {
    from_passphrase(*environment, NonceSecret::Source::kEnvironment, kNonceSecretEnvVar);
  } else {
    NonceSecret generated{std::vector<uint8_t>(kNonceKeyBytes), NonceSecret::Source::kGenerated};
    random.fill(generated.key);
    result.secret = std::move(generated);
  }
  return result;
}

NonceSecretOrError load_nonce_secret(std::optional<std::string_view> configured,
                                     RandomSource& random) {
  const char* env = std::getenv(kNonceSecretEnvVar);
  return resolve_nonce_secret(configured, env ? std::optional<std::string_view>(env) : std::nullopt,
                              random);
}

// --- NonceService -------------------------------------------------------------

NonceService::NonceService(std::span<const uint8_t> secret, const sip::Clock& clock,
                           RandomSource& random, std::chrono::seconds lifetime,
                           std::chrono::seconds max_future_skew)
    : key_(secret.begin(), secret.end()),
      clock_(clock),
      random_(random),
      lifetime_(lifetime),
      max_future_skew_(max_future_skew) {
  if (key_.size() < kMinNonceSecretChars) fail("NonceService: secret shorter than 16 bytes");
  if (lifetime_.count() <= 0 || max_future_skew_.count() < 0) {
    fail("NonceService: lifetime must be > 0 and max_future_skew >= 0");
  }
}

NonceService::~NonceService() { OPENSSL_cleanse(key_.data(), key_.size()); }

void NonceService::mac(std::span<const uint8_t> data, std::span<uint8_t, kMacBytes> out) const {
  const std::array<uint8_t, 32> full = hmac_sha256(key_, data);
  std::memcpy(out.data(), full.data(), kMacBytes);
}

std::string NonceService::issue() const {
  std::array<uint8_t, kRawBytes> raw{};
  raw[0] = kVersion;
  const uint64_t t = static_cast<uint64_t>(std::max<int64_t>(0, wall_seconds(clock_)));
  for (int i = 0; i < 8; ++i) raw[1 + i] = static_cast<uint8_t>(t >> (56 - 8 * i));
  random_.fill(std::span<uint8_t>(raw.data() + 9, kRandomBytes));
  constexpr size_t kSigned = kRawBytes - kMacBytes;
  mac(std::span<const uint8_t>(raw.data(), kSigned),
      std::span<uint8_t, kMacBytes>(raw.data() + kSigned, kMacBytes));
  return base64url_encode(raw);
}

NonceCheck NonceService::verify(std::string_view nonce) const {
  NonceCheck check;  // kInvalid
  if (nonce.size() != kNonceLength) return check;
  std::array<uint8_t, kRawBytes> raw{};
  if (!base64url_decode(nonce, raw)) return check;
  if (raw[0] != kVersion) return check;

  constexpr size_t kSigned = kRawBytes - kMacBytes;
  std::array<uint8_t, kMacBytes> want{};
  mac(std::span<const uint8_t>(raw.data(), kSigned), want);
  if (CRYPTO_memcmp(want.data(), raw.data() + kSigned, kMacBytes) != 0) return check;

  uint64_t t = 0;
  for (int i = 0; i < 8; ++i) t = (t << 8) | raw[1 + i];
  if (t > static_cast<uint64_t>(INT64_MAX)) return check;  // authentic but absurd
  const int64_t issued_s = static_cast<int64_t>(t);
  const int64_t now_s = wall_seconds(clock_);
  if (issued_s > now_s + max_future_skew_.count()) return check;  // from the future

  check.issued_at = std::chrono::system_clock::time_point(
      duration_cast<std::chrono::system_clock::duration>(seconds(issued_s)));
  check.status = now_s - issued_s > lifetime_.count() ? NonceStatus::kStale : NonceStatus::kValid;
  return check;
}

// --- NonceCounter -------------------------------------------------------------

namespace {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

}  // namespace

struct NonceCounter::Shard {
  struct Entry {
    uint32_t last_nc;
    int64_t issued_s;
  };
  std::mutex mu;
  // Keys are the nonces; by_issue holds views of those keys (node-based map:
  // keys never move), ordered oldest issue first.
  std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> entries;
  std::set<std::pair<int64_t, std::string_view>> by_issue;
  // Newest issue time of a live nonce dropped for capacity: unknown nonces at
  // or before it may have been seen, so they are refused.
  int64_t forgotten_floor_s = INT64_MIN;

  void erase(std::set<std::pair<int64_t, std::string_view>>::iterator it) {
    const auto node = entries.find(it->second);
    by_issue.erase(it);  // before the key it views goes away
    entries.erase(node);
  }
};

NonceCounter::NonceCounter(const sip::Clock& clock, NonceCounterOptions options)
    : clock_(clock), lifetime_s_(options.lifetime.count()) {
  if (options.max_entries == 0 || options.lifetime.count() <= 0) {
    fail("NonceCounter: max_entries must be >= 1 and lifetime > 0");
  }
  const size_t shard_count = std::clamp<size_t>(options.shards, 1, options.max_entries);
  per_shard_capacity_ = options.max_entries / shard_count;
  shards_.reserve(shard_count);
  for (size_t i = 0; i < shard_count; ++i) shards_.push_back(std::make_unique<Shard>());
}

NonceCounter::~NonceCounter() = default;

int64_t NonceCounter::now_seconds() const { return wall_seconds(clock_); }

// The same rule as NonceService::verify(): stale once older than the lifetime.
bool NonceCounter::expired(int64_t issued_s, int64_t now_s) const {
  return now_s - issued_s > lifetime_s_;
}

size_t NonceCounter::purge_locked(Shard& shard, int64_t now_s) {
  size_t n = 0;
  while (!shard.by_issue.empty() && expired(shard.by_issue.begin()->first, now_s)) {
    shard.erase(shard.by_issue.begin());
    ++n;
  }
  expired_evicted_ += n;
  return n;
}

bool NonceCounter::accept(std::string_view nonce, std::chrono::system_clock::time_point issued_at,
                          uint32_t nc) {
  if (nc == 0) {
    ++replayed_;
    return false;
  }
  const int64_t now_s = now_seconds();
  const int64_t issued_s = duration_cast<seconds>(issued_at.time_since_epoch()).count();
  if (expired(issued_s, now_s)) {
    ++expired_refused_;
    return false;
  }

  // Fibonacci hashing spreads the bits so the shard does not follow the
  // map's own bucket choice.
  const uint64_t h = static_cast<uint64_t>(StringHash{}(nonce));
  Shard& shard = *shards_[((h * 0x9e3779b97f4a7c15ULL) >> 32) % shards_.size()];
  std::lock_guard<std::mutex> lock(shard.mu);

  if (auto it = shard.entries.find(nonce); it != shard.entries.end()) {
    if (nc <= it->second.last_nc) {
      ++replayed_;
      return false;
    }
    it->second.last_nc = nc;
    ++accepted_;
    return true;
  }

  if (issued_s <= shard.forgotten_floor_s) {
    ++forgotten_refused_;
    return false;
  }
  if (shard.entries.size() >= per_shard_capacity_) {
    purge_locked(shard, now_s);
    if (shard.entries.size() >= per_shard_capacity_) {
      const auto oldest = shard.by_issue.begin();
      if (issued_s <= oldest->first) {
        ++capacity_refused_;
        return false;
      }
      shard.forgotten_floor_s = std::max(shard.forgotten_floor_s, oldest->first);
      shard.erase(oldest);
      ++capacity_evicted_;
    }
  }
  const auto it = shard.entries.emplace(std::string(nonce), Shard::Entry{nc, issued_s}).first;
  shard.by_issue.emplace(issued_s, std::string_view(it->first));
  ++accepted_;
  return true;
}

size_t NonceCounter::purge_expired() {
  const int64_t now_s = now_seconds();
  size_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard->mu);
    n += purge_locked(*shard, now_s);
  }
  return n;
}

size_t NonceCounter::size() const {
  size_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard->mu);
    n += shard->entries.size();
  }
  return n;
}

NonceCounter::Stats NonceCounter::stats() const {
  Stats s;
  s.accepted = accepted_.load();
  s.replayed = replayed_.load();
  s.expired_refused = expired_refused_.load();
  s.forgotten_refused = forgotten_refused_.load();
  s.expired_evicted = expired_evicted_.load();
  s.capacity_evicted = capacity_evicted_.load();
  s.capacity_refused = capacity_refused_.load();
  return s;
}

}  // namespace registrar
