// gateway/calls/digest_answer.cc — see digest_answer.h.
#include "gateway/calls/digest_answer.h"

#include "registrar/digest.h"
#include "sip/auth_params.h"
#include "sip/lex.h"
#include "sip/request_builder.h"

namespace switchboard::calls {
namespace {

// A quoted-string of a value taken from the network or the API.
std::string quoted(std::string_view v) { return sip::quoted_string(v, 512); }

}  // namespace

std::optional<DigestAnswer> answer_challenge(const sip::Message& response, std::string_view method,
                                             std::string_view uri, std::string_view username,
                                             std::string_view password, std::string_view cnonce,
                                             std::string_view body) {
  sip::HeaderId challenge_id;
  DigestAnswer answer;
  if (response.status_code() == 401) {
    challenge_id = sip::HeaderId::kWwwAuthenticate;
    answer.header_name = "Authorization";
  } else if (response.status_code() == 407) {
    challenge_id = sip::HeaderId::kProxyAuthenticate;
    answer.header_name = "Proxy-Authorization";
  } else {
    return std::nullopt;
  }
  for (const sip::HeaderField& h : response.headers()) {
    if (h.id != challenge_id) continue;
    sip::AuthParams p;
    if (!sip::parse_auth_params(h.value, p) || !sip::lex::iequals(p.scheme, "Digest")) continue;
    auto realm = p.get("realm");
    auto nonce = p.get("nonce");
    if (!realm || !nonce) continue;
    auto alg = registrar::digest_algorithm_from_param(p.get("algorithm"));
    if (!alg || !registrar::digest_algorithm_available(*alg)) continue;

    // qop: a quoted list such as "auth,auth-int".
    registrar::DigestQop qop = registrar::DigestQop::kNone;
    if (auto offered = p.get("qop")) {
      bool auth = false, auth_int = false;
      sip::for_each_list_element(*offered, [&](std::string_view q) {
        if (sip::lex::iequals(q, "auth")) auth = true;
        if (sip::lex::iequals(q, "auth-int")) auth_int = true;
        return true;
      });
      if (auth) qop = registrar::DigestQop::kAuth;
      else if (auth_int) qop = registrar::DigestQop::kAuthInt;
      else continue;  // only qop values we do not know
    }
    std::string ha1 = registrar::compute_ha1(*alg, username, *realm, password);
    std::string body_hash;
    if (qop == registrar::DigestQop::kAuthInt) body_hash = registrar::hash_hex(*alg, body);
    registrar::DigestRequest request{.method = method,
                                     .uri = uri,
                                     .nonce = *nonce,
                                     .nc = "00000001",
                                     .cnonce = cnonce,
                                     .qop = qop,
                                     .body_hash_hex = body_hash};
    std::string response_hash = registrar::expected_response(*alg, ha1, request);

    std::string& v = answer.value;
    v = "Digest username=" + quoted(username) + ", realm=" + quoted(*realm) +
        ", nonce=" + quoted(*nonce) + ", uri=" + quoted(uri) + ", response=\"" + response_hash +
        "\", algorithm=" + std::string(registrar::digest_algorithm_name(*alg));
    if (qop != registrar::DigestQop::kNone) {
      v += ", qop=" + std::string(registrar::digest_qop_name(qop)) + ", nc=00000001, cnonce=" +
           quoted(cnonce);
    }
    if (auto opaque = p.get("opaque")) v += ", opaque=" + quoted(*opaque);
    return answer;
  }
  return std::nullopt;
}

}  // namespace switchboard::calls
