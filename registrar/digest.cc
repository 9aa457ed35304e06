// registrar/digest.cc — RFC 2617 / RFC 7616 / RFC 8760 digest computations on
// OpenSSL 3 EVP.
#include "registrar/digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <memory>

namespace registrar {
namespace {

struct AlgorithmInfo {
  DigestAlgorithm alg;
  std::string_view name;  // the RFC 7616 token
  DigestAlgorithm base;
  const char* openssl_name;  // for EVP_MD_fetch
  size_t hex_length;
};

constexpr AlgorithmInfo kAlgorithms[] = {
    {DigestAlgorithm::kMd5, "MD5", DigestAlgorithm::kMd5, "MD5", 32},
    {DigestAlgorithm::kMd5Sess, "MD5-sess", DigestAlgorithm::kMd5, "MD5", 32},
    {DigestAlgorithm::kSha256, "SHA-256", DigestAlgorithm::kSha256, "SHA2-256", 64},
    {DigestAlgorithm::kSha256Sess, "SHA-256-sess", DigestAlgorithm::kSha256, "SHA2-256", 64},
    {DigestAlgorithm::kSha512_256, "SHA-512-256", DigestAlgorithm::kSha512_256, "SHA2-512/256", 64},
    {DigestAlgorithm::kSha512_256Sess, "SHA-512-256-sess", DigestAlgorithm::kSha512_256,
     "SHA2-512/256", 64},
};

const AlgorithmInfo& info(DigestAlgorithm alg) {
  for (const AlgorithmInfo& a : kAlgorithms) {
    if (a.alg == alg) return a;
  }
  return kAlgorithms[0];  // unreachable for a valid enumerator
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Explicitly fetched once per hash (OpenSSL 3 would otherwise re-fetch the
// implementation from the provider on every EVP_DigestInit). Kept for the
// life of the process; nullptr when no provider offers the hash.
const EVP_MD* fetched_md(DigestAlgorithm alg) {
  static EVP_MD* const md5 = EVP_MD_fetch(nullptr, "MD5", nullptr);
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  static EVP_MD* const sha512_256 = EVP_MD_fetch(nullptr, "SHA2-512/256", nullptr);
  switch (base_algorithm(alg)) {
    case DigestAlgorithm::kSha256:
      return sha256;
    case DigestAlgorithm::kSha512_256:
      return sha512_256;
    default:
      return md5;
  }
}

[[noreturn]] void fail(DigestAlgorithm alg, const char* what) {
  std::fprintf(stderr, "registrar/digest: %s failed for %s\n", what, info(alg).openssl_name);
  std::abort();
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }  // cleanses the state
};

std::string to_hex(const unsigned char* data, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(n * 2, '\0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 0x0f];
  }
  return out;
}

// One hash computation fed piece by piece, so secrets (passwords) are hashed
// in place and never copied into a joined string.
class Hasher {
 public:
  explicit Hasher(DigestAlgorithm alg) : alg_(alg), ctx_(EVP_MD_CTX_new()) {
    const EVP_MD* md = fetched_md(alg);
    if (md == nullptr) fail(alg, "EVP_MD_fetch");
    if (!ctx_ || EVP_DigestInit_ex2(ctx_.get(), md, nullptr) != 1) fail(alg, "EVP_DigestInit_ex2");
  }
  Hasher& add(std::string_view piece) {
    if (!piece.empty() && EVP_DigestUpdate(ctx_.get(), piece.data(), piece.size()) != 1) {
      fail(alg_, "EVP_DigestUpdate");
    }
    return *this;
  }
  std::string hex() {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), out, &len) != 1) fail(alg_, "EVP_DigestFinal_ex");
    return to_hex(out, len);
  }

 private:
  DigestAlgorithm alg_;
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx_;
};

// H(part0 ":" part1 ":" …).
std::string hash_joined(DigestAlgorithm alg, std::initializer_list<std::string_view> parts) {
  Hasher h(alg);
  bool first = true;
  for (std::string_view part : parts) {
    if (!first) h.add(":");
    first = false;
    h.add(part);
  }
  return h.hex();
}

}  // namespace

std::optional<DigestAlgorithm> parse_digest_algorithm(std::string_view token) {
  for (const AlgorithmInfo& a : kAlgorithms) {
    if (iequals(token, a.name)) return a.alg;
  }
  return std::nullopt;
}

std::optional<DigestAlgorithm> digest_algorithm_from_param(std::optional<std::string_view> param) {
  if (!param) return kDefaultDigestAlgorithm;
  return parse_digest_algorithm(*param);
}

std::string_view digest_algorithm_name(DigestAlgorithm alg) { return info(alg).name; }

bool is_session_algorithm(DigestAlgorithm alg) { return info(alg).base != alg; }

DigestAlgorithm base_algorithm(DigestAlgorithm alg) { return info(alg).base; }

size_t digest_hex_length(DigestAlgorithm alg) { return info(alg).hex_length; }

bool digest_algorithm_available(DigestAlgorithm alg) { return fetched_md(alg) != nullptr; }

std::string hash_hex(DigestAlgorithm alg, std::string_view data) {
  return hash_joined(alg, {data});
}

std::string compute_ha1(DigestAlgorithm alg, std::string_view username, std::string_view realm,
                        std::string_view password) {
  return hash_joined(alg, {username, realm, password});
}

std::string session_ha1(DigestAlgorithm alg, std::string_view ha1_hex, std::string_view nonce,
                        std::string_view cnonce) {
  return hash_joined(alg, {ha1_hex, nonce, cnonce});
}

std::string compute_userhash(DigestAlgorithm alg, std::string_view username,
                             std::string_view realm) {
  return hash_joined(alg, {username, realm});
}

std::optional<DigestQop> parse_digest_qop(std::string_view token) {
  if (iequals(token, "auth")) return DigestQop::kAuth;
  if (iequals(token, "auth-int")) return DigestQop::kAuthInt;
  return std::nullopt;
}

std::string_view digest_qop_name(DigestQop qop) {
  switch (qop) {
    case DigestQop::kAuth:
      return "auth";
    case DigestQop::kAuthInt:
      return "auth-int";
    case DigestQop::kNone:
      break;
  }
  return "";
}

std::string compute_response(DigestAlgorithm alg, std::string_view ha1_hex,
                             const DigestRequest& r) {
  const std::string ha2 = r.qop == DigestQop::kAuthInt
                              ? hash_joined(alg, {r.method, r.uri, r.body_hash_hex})
                              : hash_joined(alg, {r.method, r.uri});
  if (r.qop == DigestQop::kNone) return hash_joined(alg, {ha1_hex, r.nonce, ha2});
  return hash_joined(alg, {ha1_hex, r.nonce, r.nc, r.cnonce, digest_qop_name(r.qop), ha2});
}

std::string expected_response(DigestAlgorithm alg, std::string_view stored_ha1_hex,
                              const DigestRequest& r) {
  if (!is_session_algorithm(alg)) return compute_response(alg, stored_ha1_hex, r);
  return compute_response(alg, session_ha1(alg, stored_ha1_hex, r.nonce, r.cnonce), r);
}

std::optional<uint32_t> parse_nonce_count(std::string_view nc) {
  if (nc.size() != 8) return std::nullopt;
  uint32_t value = 0;
  for (char c : nc) {
    uint32_t digit;
    if (c >= '0' && c <= '9') {
      digit = static_cast<uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<uint32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      digit = static_cast<uint32_t>(c - 'A' + 10);
    } else {
      return std::nullopt;
    }
    value = (value << 4) | digit;
  }
  return value;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;  // lengths are public
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string compute_hash1(std::string_view username, std::string_view realm,
                          std::string_view password) {
  return hash_joined(DigestAlgorithm::kMd5, {username, realm, password});
}

std::string compute_hash1b(std::string_view username, std::string_view domain,
                           std::string_view realm, std::string_view password) {
  // "user@domain" is one field of the HA1 input: joined by '@', not ':'.
  return Hasher(DigestAlgorithm::kMd5)
      .add(username)
      .add("@")
      .add(domain)
      .add(":")
      .add(realm)
      .add(":")
      .add(password)
      .hex();
}

}  // namespace registrar
