// sip/auth_params.h — challenge and credentials headers (RFC 3261 §20.7, §20.27,
// §20.28, §20.44; RFC 7616): `Digest realm="acme.test", nonce="…", qop=auth`.
//
//   sip::AuthParams a;
//   sip::parse_auth_params("Digest username=\"alice\", nc=00000001", a);
//   a.scheme;             // "Digest"
//   a.get("username");    // "alice" (quotes removed)
#ifndef SWITCHBOARD_SIP_AUTH_PARAMS_H_
#define SWITCHBOARD_SIP_AUTH_PARAMS_H_

#include <optional>
#include <string>
#include <string_view>

namespace sip {

struct AuthParams {
  std::string_view scheme;  // "Digest", or any other token
  std::string_view params;  // raw comma-separated auth-params after the scheme

  // Value of `name` (case-insensitive) with quotes removed; escapes inside a
  // quoted value are kept (use lex::unquote on the raw form if they matter).
  // nullopt when absent.
  std::optional<std::string_view> get(std::string_view name) const;
  // Raw value as written (quoted values keep their quotes).
  std::optional<std::string_view> get_raw(std::string_view name) const;
};

// Parses a credentials or challenge value. Checks the auth-param grammar; an
// unknown scheme with token68-style data is accepted (RFC 4475 §3.3.7).
bool parse_auth_params(std::string_view text, AuthParams& out, const char** why = nullptr);

}  // namespace sip

#endif  // SWITCHBOARD_SIP_AUTH_PARAMS_H_
