// registrar/store/percent_codec.h — %XX escaping of text fields inside the
// stores' own encodings (the SQLite aliases column, the Redis credential
// store's "field=value" lines).
//
//   std::string out;
//   percent_encode("a,b", ",;=", out);     // "a%2Cb"
//   percent_decode("a%2Cb");               // "a,b"; nullopt for "a%2" or "%zz"
//
// Threading: pure functions.
#ifndef SWITCHBOARD_REGISTRAR_STORE_PERCENT_CODEC_H_
#define SWITCHBOARD_REGISTRAR_STORE_PERCENT_CODEC_H_

#include <optional>
#include <string>
#include <string_view>

namespace registrar {

// Appends `in` to `out` with '%' and every character of `reserved` written
// as %XX (upper-case hex).
void percent_encode(std::string_view in, std::string_view reserved, std::string& out);

// The text `in` encodes; nullopt when a '%' is not followed by two hex digits.
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view in);

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_STORE_PERCENT_CODEC_H_
