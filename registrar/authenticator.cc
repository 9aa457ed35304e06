#include "registrar/authenticator.h"

#include <arpa/inet.h>

#include <cstring>

#include "registrar/digest.h"
#include "sip/auth_params.h"
#include "sip/lex.h"
#include "sip/uri.h"

namespace registrar {
namespace {

AuthResult challenge(bool stale, bool failure, std::string reason) {
  AuthResult r;
  r.kind = AuthResult::kChallenge;
  r.stale = stale;
  r.failure = failure;
  r.reason = std::move(reason);
  return r;
}

AuthResult bad_request(std::string reason) {
  AuthResult r;
  r.kind = AuthResult::kBadRequest;
  r.reason = std::move(reason);
  return r;
}

AuthResult forbidden(std::string reason, bool drop = false) {
  AuthResult r;
  r.kind = AuthResult::kForbidden;
  r.reason = std::move(reason);
  r.drop = drop;
  return r;
}

// The parameters of one Digest credentials value, read in a single pass
// (quoted values without their quotes; escapes kept).
struct DigestParams {
  std::optional<std::string_view> username, realm, nonce, uri, response, algorithm, qop, nc, cnonce;
  std::string_view raw_username;  // as written, quotes included
};

std::string_view strip_quotes(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') return v.substr(1, v.size() - 2);
  return v;
}

bool read_digest(std::string_view value, DigestParams& out) {
  sip::AuthParams p;
  if (!sip::parse_auth_params(value, p) || !sip::lex::iequals(p.scheme, "Digest")) return false;
  sip::for_each_list_element(p.params, [&](std::string_view item) {
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) return true;
    std::string_view name = sip::lex::trim_lws(item.substr(0, eq));
    std::string_view raw = sip::lex::trim_lws(item.substr(eq + 1));
    std::string_view v = strip_quotes(raw);
    std::optional<std::string_view>* slot = nullptr;
    switch (name.size()) {
      case 2: if (sip::lex::iequals(name, "nc")) slot = &out.nc; break;
      case 3:
        if (sip::lex::iequals(name, "uri")) slot = &out.uri;
        else if (sip::lex::iequals(name, "qop")) slot = &out.qop;
        break;
      case 5:
        if (sip::lex::iequals(name, "realm")) slot = &out.realm;
        else if (sip::lex::iequals(name, "nonce")) slot = &out.nonce;
        break;
      case 6: if (sip::lex::iequals(name, "cnonce")) slot = &out.cnonce; break;
      case 8:
        if (sip::lex::iequals(name, "username")) {
          slot = &out.username;
          out.raw_username = raw;
        } else if (sip::lex::iequals(name, "response")) {
          slot = &out.response;
        }
        break;
      case 9: if (sip::lex::iequals(name, "algorithm")) slot = &out.algorithm; break;
      default: break;
    }
    if (slot && !*slot) *slot = v;  // the first occurrence counts
    return true;
  });
  return true;
}

// The Digest credentials for `realm`: from Authorization or
// Proxy-Authorization, whichever carries them (RFC 3261 §22.2, §22.3).
bool find_credentials(const sip::Message& m, std::string_view realm, DigestParams& out) {
  for (const sip::HeaderField& h : m.headers()) {
    if (h.id != sip::HeaderId::kAuthorization && h.id != sip::HeaderId::kProxyAuthorization) continue;
    DigestParams p;
    if (!read_digest(h.value, p)) continue;
    if (p.realm && sip::lex::iequals(*p.realm, realm)) {
      out = p;
      return true;
    }
  }
  return false;
}

bool parse_ip(std::string_view text, unsigned char* bytes, int& family) {
  char buf[64];
  if (text.size() >= sizeof buf) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = 0;
  if (inet_pton(AF_INET, buf, bytes) == 1) {
    family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, buf, bytes) == 1) {
    family = AF_INET6;
    return true;
  }
  return false;
}

}  // namespace

bool cidr_contains(std::string_view cidr, std::string_view ip) {
  size_t slash = cidr.find('/');
  std::string_view net = cidr.substr(0, slash);
  unsigned char a[16], b[16];
  int fa = 0, fb = 0;
  if (!parse_ip(net, a, fa) || !parse_ip(ip, b, fb)) return false;
  if (fa != fb) {
    // An IPv4-mapped IPv6 source matches an IPv4 network.
    static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (fa == AF_INET && fb == AF_INET6 && std::memcmp(b, kMapped, 12) == 0) {
      std::memmove(b, b + 12, 4);
      fb = AF_INET;
    } else {
      return false;
    }
  }
  int bits = fa == AF_INET ? 32 : 128;
  int prefix = bits;
  if (slash != std::string_view::npos) {
    auto p = sip::lex::parse_uint(cidr.substr(slash + 1), uint64_t(bits));
    if (!p) return false;
    prefix = int(*p);
  }
  int full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(a, b, size_t(full)) != 0) return false;
  if (rest == 0) return true;
  unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}

Authenticator::Authenticator(const CredentialStore& credentials, const NonceService& nonces,
                             NonceCounter& counts, AuthThrottle* throttle)
    : credentials_(credentials), nonces_(nonces), counts_(counts), throttle_(throttle) {
  // Random per process, so no password can match it.
  std::string seed = nonces_.issue();
  dummy_ha1_md5_ = hash_hex(DigestAlgorithm::kMd5, seed);
  dummy_ha1_sha256_ = hash_hex(DigestAlgorithm::kSha256, seed);
}

std::vector<std::pair<std::string, std::string>> Authenticator::challenge_headers(
    const Realm& realm, bool stale) const {
  std::vector<std::pair<std::string, std::string>> out;
  const char* name = realm.challenge == ChallengeMode::k407 ? "Proxy-Authenticate" : "WWW-Authenticate";
  std::string nonce = nonces_.issue();  // one nonce for all offered algorithms
  for (DigestAlgorithm alg : realm.algorithms) {
    if (!digest_algorithm_available(alg)) continue;
    std::string v = "Digest realm=\"" + realm.name + "\", nonce=\"" + nonce + "\", qop=\"auth\", algorithm=";
    v += digest_algorithm_name(alg);
    if (stale) v += ", stale=true";
    out.emplace_back(name, std::move(v));
  }
  return out;
}

AuthResult Authenticator::authenticate(const sip::Message& request, const Realm& realm,
                                       std::string_view source_ip) const {
  bool trusted = false;
  if (realm.source_auth != SourceAuthMode::kDigest) {
    for (const Cidr& c : realm.trusted_sources)
      if (cidr_contains(c.text, source_ip)) trusted = true;
  }
  if (realm.source_auth == SourceAuthMode::kTrustedOrDigest && trusted) {
    AuthResult r;
    r.kind = AuthResult::kAuthenticated;
    r.reason = "trusted source";
    return r;
  }
  if (realm.source_auth == SourceAuthMode::kTrustedAndDigest && !trusted)
    return forbidden("source address is not trusted by the realm");

  AuthResult r = check_digest(request, realm, source_ip);
  if (throttle_ && r.failure) throttle_->record_failure(source_ip, r.presented_username);
  return r;
}

AuthResult Authenticator::check_digest(const sip::Message& request, const Realm& realm,
                                       std::string_view source_ip) const {
  DigestParams creds;
  if (!find_credentials(request, realm.name, creds)) {
    if (throttle_ && throttle_->blocked(source_ip, {}))
      return forbidden("too many failed attempts", throttle_->drop());
    return challenge(false, false, "no credentials for the realm");
  }
  auto username = creds.username;
  auto nonce = creds.nonce;
  auto uri = creds.uri;
  auto response = creds.response;
  if (!username || !nonce || !uri || !response || username->empty())
    return bad_request("Digest credentials lack username, nonce, uri or response");
  std::string presented(*username);
  if (presented.find('\\') != std::string::npos) presented = sip::lex::unquote(creds.raw_username);

  if (throttle_ && throttle_->blocked(source_ip, presented)) {
    AuthResult r = forbidden("too many failed attempts", throttle_->drop());
    r.presented_username = presented;
    return r;
  }

  auto alg = digest_algorithm_from_param(creds.algorithm);
  bool offered = false;
  if (alg)
    for (DigestAlgorithm a : realm.algorithms)
      if (a == *alg || (is_session_algorithm(*alg) && a == base_algorithm(*alg))) offered = true;
  if (!alg || !offered || !digest_algorithm_available(*alg))
    return challenge(false, false, "digest algorithm not offered");

  // The digest uri must be the Request-URI (RFC 3261 §22.4, RFC 7616 §3.4.6).
  sip::Uri digest_uri;
  if (!sip::parse_uri(*uri, digest_uri) || !sip::uri_equal(digest_uri, request.request_uri()))
    return bad_request("digest uri does not match the Request-URI");

  DigestQop qop = DigestQop::kNone;
  if (auto q = creds.qop) {
    auto parsed = parse_digest_qop(*q);
    if (!parsed) return bad_request("unsupported qop");
    qop = *parsed;
  }
  std::optional<uint32_t> nc;
  auto cnonce = creds.cnonce;
  auto nc_text = creds.nc;
  if (qop != DigestQop::kNone) {
    if (!nc_text || !cnonce) return bad_request("qop without nc or cnonce");
    nc = parse_nonce_count(*nc_text);
    if (!nc) return bad_request("nc must be 8 hex digits");
  }

  // The stored HA1: the user's own, or hash1b for "user@domain" usernames.
  std::optional<Credential> credential = credentials_.find_credential(realm.name, presented);
  if (!credential) {
    size_t at = presented.find('@');
    if (at != std::string::npos) credential = credentials_.find_credential(realm.name, presented.substr(0, at));
  }
  std::optional<std::string_view> ha1;
  if (credential) ha1 = credential->ha1_for(*alg, presented);
  bool known = ha1.has_value();
  // An unknown user costs the same as a wrong password.
  std::string_view check_ha1 =
      known ? *ha1
            : (base_algorithm(*alg) == DigestAlgorithm::kMd5 ? std::string_view(dummy_ha1_md5_)
                                                             : std::string_view(dummy_ha1_sha256_));
  std::string body_hash;
  if (qop == DigestQop::kAuthInt) body_hash = hash_hex(*alg, request.body());
  DigestRequest dr;
  dr.method = request.method();
  dr.uri = *uri;
  dr.nonce = *nonce;
  dr.nc = nc_text.value_or("");
  dr.cnonce = cnonce.value_or("");
  dr.qop = qop;
  dr.body_hash_hex = body_hash;
  std::string expected = expected_response(*alg, check_ha1, dr);
  bool response_ok = constant_time_equal(expected, *response) && known;

  NonceCheck check = nonces_.verify(*nonce);
  AuthResult r;
  r.presented_username = presented;
  if (check.status == NonceStatus::kInvalid) {
    r = challenge(false, false, "nonce not issued by this registrar");
  } else if (!response_ok) {
    r = challenge(false, true, "wrong credentials");  // unknown user or wrong password: the same
  } else if (check.status == NonceStatus::kStale) {
    r = challenge(true, false, "nonce expired");
  } else if (qop == DigestQop::kNone && !realm.allow_qop_less) {
    r = challenge(false, true, "qop is required by the realm");
  } else if (qop != DigestQop::kNone && !counts_.accept(*nonce, check.issued_at, *nc)) {
    r = challenge(false, true, "nonce count replayed");
  } else {
    r.kind = AuthResult::kAuthenticated;
    r.username = presented;
    r.reason = "digest";
  }
  r.presented_username = presented;
  return r;
}

}  // namespace registrar
