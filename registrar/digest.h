// registrar/digest.h — the Digest computations of RFC 2617, RFC 7616 and
// RFC 8760 (SHA-256 / SHA-512-256 for SIP), as RFC 3261 §22.4 uses them.
//
// Pure functions over strings: no parsing of headers (sip/auth_params.h does
// that), no state, no I/O. Every hash is OpenSSL 3 EVP, every result is
// lower-case hex (LHEX, RFC 2617 §3.1.3).
//
//   using registrar::DigestAlgorithm;
//   auto alg = registrar::digest_algorithm_from_param(params.get("algorithm"));  // absent → MD5
//   std::string ha1 = registrar::compute_ha1(*alg, "bob", "biloxi.com", "zanzibar");
//   registrar::DigestRequest r{.method = "INVITE", .uri = "sip:bob@biloxi.com",
//                              .nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093", .nc = "00000001",
//                              .cnonce = "0a4f113b", .qop = registrar::DigestQop::kAuth};
//   std::string want = registrar::expected_response(*alg, ha1, r);  // handles -sess
//   bool ok = registrar::constant_time_equal(want, *params.get("response"));
//
// Threading: every function is thread-safe.
#ifndef SWITCHBOARD_REGISTRAR_DIGEST_H_
#define SWITCHBOARD_REGISTRAR_DIGEST_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace registrar {

// The `algorithm` parameter of a challenge or credentials (RFC 7616 §3.3,
// IANA "HTTP Digest Hash Algorithms"). The -sess forms hash HA1 once more with
// the nonce and cnonce (RFC 7616 §3.4.2).
enum class DigestAlgorithm : uint8_t {
  kMd5,
  kMd5Sess,
  kSha256,
  kSha256Sess,
  kSha512_256,
  kSha512_256Sess,
};

// RFC 7616 §3.3: "If this is not present, it is assumed to be MD5."
inline constexpr DigestAlgorithm kDefaultDigestAlgorithm = DigestAlgorithm::kMd5;

// What a registrar offers in its challenges, strongest first (RFC 7616 §3.7:
// one challenge per algorithm, in order of preference). MD5 stays last for the
// many SIP phones that know nothing else.
inline constexpr std::array<DigestAlgorithm, 3> kOfferedDigestAlgorithms = {
    DigestAlgorithm::kSha512_256, DigestAlgorithm::kSha256, DigestAlgorithm::kMd5};

// "MD5", "MD5-sess", "SHA-256", "SHA-256-sess", "SHA-512-256",
// "SHA-512-256-sess", compared case-insensitively. nullopt for any other token
// (including ""), which the caller answers as an unsupported algorithm.
std::optional<DigestAlgorithm> parse_digest_algorithm(std::string_view token);

// The `algorithm` parameter as sip::AuthParams::get() returns it: nullopt (the
// parameter is absent) means MD5; a present value goes through
// parse_digest_algorithm(). nullopt when present but unknown.
std::optional<DigestAlgorithm> digest_algorithm_from_param(std::optional<std::string_view> param);

// The canonical token, as written in challenges: "MD5", "SHA-512-256-sess", …
std::string_view digest_algorithm_name(DigestAlgorithm alg);

// True for the -sess forms.
bool is_session_algorithm(DigestAlgorithm alg);

// The algorithm without -sess (the hash function and the stored HA1 it needs).
DigestAlgorithm base_algorithm(DigestAlgorithm alg);

// Length of H() in hex digits: 32 for MD5, 64 for SHA-256 and SHA-512-256.
size_t digest_hex_length(DigestAlgorithm alg);

// False when the loaded OpenSSL providers cannot compute this hash (MD5 under
// a FIPS-only configuration). Check once at start-up and offer only what
// works; the functions below abort the process on an unavailable hash rather
// than return a value that could compare equal to anything.
bool digest_algorithm_available(DigestAlgorithm alg);

// H(data) in lower-case hex, with the hash of `alg` (the -sess forms use the
// same hash as their base).
std::string hash_hex(DigestAlgorithm alg, std::string_view data);

// HA1 = H(username ":" realm ":" password) (RFC 7616 §3.4.2, without -sess).
// Strings are hashed as the bytes given (UTF-8 as received; no normalisation).
// The password is fed to the hash in place; no copy of it is made.
std::string compute_ha1(DigestAlgorithm alg, std::string_view username, std::string_view realm,
                        std::string_view password);

// The session HA1 of the -sess algorithms: H(ha1_hex ":" nonce ":" cnonce).
// REQUIRES: ha1_hex is the stored (non-session) HA1 for base_algorithm(alg).
std::string session_ha1(DigestAlgorithm alg, std::string_view ha1_hex, std::string_view nonce,
                        std::string_view cnonce);

// RFC 7616 §3.4.4 username hashing: H(username ":" realm).
std::string compute_userhash(DigestAlgorithm alg, std::string_view username,
                             std::string_view realm);

// The `qop` of a credentials header (RFC 7616 §3.4). kNone is the RFC 2069
// form with no qop, nc or cnonce.
enum class DigestQop : uint8_t { kNone, kAuth, kAuthInt };

// "auth" / "auth-int", case-insensitively; nullopt for anything else. An absent
// qop parameter is DigestQop::kNone, which the caller decides on.
std::optional<DigestQop> parse_digest_qop(std::string_view token);

// "", "auth" or "auth-int": the token that goes into the response hash.
std::string_view digest_qop_name(DigestQop qop);

// The request-side inputs of the response (RFC 7616 §3.4.1, §3.4.3). All views
// must outlive the call; none is kept.
struct DigestRequest {
  std::string_view method = {};  // the request method ("REGISTER"); for SIP, the CSeq method
  std::string_view uri = {};     // the digest-uri exactly as sent in the `uri` parameter
  std::string_view nonce = {};   // as sent
  std::string_view nc = {};      // 8 LHEX as sent ("00000001"); unused when qop is kNone
  std::string_view cnonce = {};  // as sent; unused when qop is kNone
  DigestQop qop = DigestQop::kNone;
  std::string_view body_hash_hex = {};  // auth-int only: H(entity-body), see hash_hex()
};

// response = H(ha1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2), or
// H(ha1 ":" nonce ":" HA2) when qop is kNone; HA2 = H(method ":" uri), or
// H(method ":" uri ":" body_hash_hex) for auth-int.
// REQUIRES: ha1_hex is the HA1 that goes into the response: for -sess
//           algorithms the session HA1 from session_ha1(). (expected_response()
//           does that step for you.)
// REQUIRES: for kAuthInt, body_hash_hex = hash_hex(alg, body) (H("") for an
//           empty body).
std::string compute_response(DigestAlgorithm alg, std::string_view ha1_hex,
                             const DigestRequest& request);

// The response a client with the right credentials sends: for -sess
// algorithms, derives the session HA1 from the stored HA1 first, then
// compute_response(). This is what an authenticator compares against.
// REQUIRES: stored_ha1_hex is the stored HA1 for base_algorithm(alg).
std::string expected_response(DigestAlgorithm alg, std::string_view stored_ha1_hex,
                              const DigestRequest& request);

// Parses the `nc` parameter: exactly 8 hex digits (RFC 7616 §3.4), either
// case. nullopt otherwise. 0 is returned as 0; refusing it is the caller's
// (NonceCounter's) business.
std::optional<uint32_t> parse_nonce_count(std::string_view nc);

// Compares two secrets (responses, MACs) without a timing side channel on their
// contents (OpenSSL CRYPTO_memcmp). Lengths are not secret: strings of
// different length compare unequal at once.
bool constant_time_equal(std::string_view a, std::string_view b);

// Stored-credential forms (Kamailio/OpenSIPS `ha1` and `ha1b`, Bandwidth's
// Hash1 and Hash1b). Both are MD5 by definition.
//   Hash1  = MD5(username ":" realm ":" password)             — compute_ha1(kMd5, …)
//   Hash1b = MD5(username "@" domain ":" realm ":" password)  — for clients that
//            authenticate with "user@domain" as their username.
std::string compute_hash1(std::string_view username, std::string_view realm,
                          std::string_view password);
std::string compute_hash1b(std::string_view username, std::string_view domain,
                           std::string_view realm, std::string_view password);

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_DIGEST_H_
