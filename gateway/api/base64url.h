// gateway/api/base64url.h — RFC 4648 §5 base64url without padding: API tokens
// ("sbt_" + 43 characters) and opaque page tokens.
//
//   std::string t = switchboard::api::base64url_encode(bytes);     // "q83vEjRWeJA"
//   std::optional<std::string> raw = switchboard::api::base64url_decode(t);
//   if (!raw) return invalid_argument("page_token", "not a token this server issued");
//
// Threading: pure functions.
#ifndef SWITCHBOARD_GATEWAY_API_BASE64URL_H_
#define SWITCHBOARD_GATEWAY_API_BASE64URL_H_

#include <optional>
#include <string>
#include <string_view>

namespace switchboard::api {

// Alphabet A-Z a-z 0-9 - _, no '=' padding.
std::string base64url_encode(std::string_view bytes);

// nullopt for any character outside the alphabet, '=' included, for a length
// that no encoding produces (4n+1), and for non-zero bits left over in the
// last character (so every byte string has exactly one encoding).
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace switchboard::api

#endif  // SWITCHBOARD_GATEWAY_API_BASE64URL_H_
