// sip/lex.h — character classes and whitespace handling of RFC 3261 §25.1.
//
// Header values are views into the received bytes, so a folded header keeps its
// CRLF + WSP inside the view. Every typed parser therefore treats LWS
// (`[*WSP CRLF] 1*WSP`) as whitespace via these helpers instead of unfolding first.
//
//   std::string_view v = " \r\n  ;tag=x";
//   sip::lex::skip_lws(v);         // v == ";tag=x"
#ifndef SWITCHBOARD_SIP_LEX_H_
#define SWITCHBOARD_SIP_LEX_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sip::lex {

constexpr bool is_wsp(char c) { return c == ' ' || c == '\t'; }
constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
constexpr bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
constexpr bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
constexpr char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c + 32) : c; }

// Character classes are 256-entry tables: the parser asks about every byte.
namespace detail {
struct CharTable {
  bool v[256] = {};
  constexpr bool operator[](char c) const { return v[static_cast<unsigned char>(c)]; }
};
constexpr CharTable make_table(const char* extra, bool alnum) {
  CharTable t;
  if (alnum) {
    for (int c = '0'; c <= '9'; ++c) t.v[c] = true;
    for (int c = 'a'; c <= 'z'; ++c) t.v[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) t.v[c] = true;
  }
  for (const char* p = extra; *p; ++p) t.v[static_cast<unsigned char>(*p)] = true;
  return t;
}
// token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
inline constexpr CharTable kToken = make_table("-.!%*_+`'~", true);
// word adds "(" / ")" / "<" / ">" / ":" / "\" / DQUOTE / "/" / "[" / "]" / "?" / "{" / "}"
inline constexpr CharTable kWord = make_table("-.!%*_+`'~()<>:\\\"/[]?{}", true);
}  // namespace detail

constexpr bool is_token_char(char c) { return detail::kToken[c]; }
constexpr bool is_word_char(char c) { return detail::kWord[c]; }

// Length of the LWS at the start of `s` (0 when there is none). A CRLF not
// followed by WSP is not LWS: it ends the header.
inline size_t lws_length(std::string_view s) {
  size_t i = 0;
  for (;;) {
    if (i < s.size() && is_wsp(s[i])) {
      ++i;
    } else if (i + 2 < s.size() && s[i] == '\r' && s[i + 1] == '\n' && is_wsp(s[i + 2])) {
      i += 3;
    } else if (i + 1 < s.size() && s[i] == '\n' && is_wsp(s[i + 1])) {
      i += 2;  // bare-LF line ends are tolerated on input
    } else {
      return i;
    }
  }
}

inline void skip_lws(std::string_view& s) { s.remove_prefix(lws_length(s)); }

inline std::string_view trim_lws(std::string_view s) {
  skip_lws(s);
  while (!s.empty() && (is_wsp(s.back()) || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

// Consumes a token from the front of `s`; empty when `s` does not start with one.
inline std::string_view take_token(std::string_view& s) {
  size_t n = 0;
  while (n < s.size() && is_token_char(s[n])) ++n;
  std::string_view t = s.substr(0, n);
  s.remove_prefix(n);
  return t;
}

// Consumes `c` after optional LWS (SWS c SWS); returns false and leaves `s`
// unchanged when the next non-LWS character is not `c`.
inline bool take_sep(std::string_view& s, char c) {
  std::string_view t = s;
  skip_lws(t);
  if (t.empty() || t.front() != c) return false;
  t.remove_prefix(1);
  skip_lws(t);
  s = t;
  return true;
}

// Consumes a quoted-string (with its quotes) from the front of `s`. Returns
// nullopt when it is not terminated. Escapes (quoted-pair) are kept as written.
inline std::optional<std::string_view> take_quoted(std::string_view& s) {
  if (s.empty() || s.front() != '"') return std::nullopt;
  for (size_t i = 1; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;  // quoted-pair: the next octet is literal (any but CR/LF)
      if (i < s.size() && (s[i] == '\r' || s[i] == '\n')) return std::nullopt;
    } else if (s[i] == '"') {
      std::string_view q = s.substr(0, i + 1);
      s.remove_prefix(i + 1);
      return q;
    }
  }
  return std::nullopt;
}

// Case-insensitive ASCII equality.
inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  return true;
}

// Parses a decimal number of at most `max` (leading zeros allowed). Returns
// nullopt on an empty string, a non-digit or overflow past `max`.
inline std::optional<uint64_t> parse_uint(std::string_view s, uint64_t max = UINT32_MAX) {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + uint64_t(c - '0');
    if (v > max) return std::nullopt;
  }
  return v;
}

// Removes %HH escapes (RFC 3986 §2.1). Malformed escapes are kept literally.
std::string unescape(std::string_view s);
// True when `s` contains a '%' that is not followed by two hex digits.
bool has_bad_escape(std::string_view s);
// Removes the quotes and quoted-pair escapes of a quoted-string; a token is returned as is.
std::string unquote(std::string_view s);
// Replaces every LWS run by a single space (header unfolding, RFC 3261 §7.3.1).
std::string unfold(std::string_view s);

}  // namespace sip::lex

#endif  // SWITCHBOARD_SIP_LEX_H_
