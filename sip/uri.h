// sip/uri.h — SIP, SIPS and tel URIs (RFC 3261 §19.1, RFC 3966), as views.
//
// A Uri points into the bytes it was parsed from; it owns nothing. Parts are
// kept escaped as written; unescape with lex::unescape() when storing.
// Other schemes (absoluteURI) are accepted opaquely so that a registrar can
// answer 416 instead of failing to parse (RFC 4475 §3.3.2).
//
//   sip::Uri u;
//   if (sip::parse_uri("sip:alice@[2001:db8::1]:5070;transport=tcp", u)) {
//     u.host;                 // "[2001:db8::1]"
//     u.port;                 // 5070
//     u.param("transport");   // "tcp"
//   }
#ifndef SWITCHBOARD_SIP_URI_H_
#define SWITCHBOARD_SIP_URI_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sip/params.h"

namespace sip {

enum class Scheme : uint8_t { kSip, kSips, kTel, kOther };
enum class HostKind : uint8_t { kNone, kHostname, kIpv4, kIpv6 };

struct Uri {
  Scheme scheme = Scheme::kOther;
  std::string_view scheme_text;  // as written ("SIP", "sips", "tel", "soap.beep")
  std::string_view user;         // escaped; for tel: the number
  std::string_view password;     // escaped
  bool has_userinfo = false;     // an '@' was present (the user may still be "")
  std::string_view host;         // IPv6 references keep their brackets
  HostKind host_kind = HostKind::kNone;
  uint16_t port = 0;             // 0 when absent
  std::string_view params;       // raw ";a=b;lr" (URI style), "" when none
  std::string_view headers;      // raw after '?', "" when none
  std::string_view text;         // the whole URI as written

  bool is_sip() const { return scheme == Scheme::kSip || scheme == Scheme::kSips; }
  ParamList param_list() const { return ParamList(params, ParamList::kUri); }
  std::optional<std::string_view> param(std::string_view name) const { return param_list().get(name); }
  // The host without IPv6 brackets.
  std::string_view host_address() const;
};

// Parses `text` (no surrounding whitespace or brackets). Returns false and sets
// `why` (a static string) when it is not a URI.
bool parse_uri(std::string_view text, Uri& out, const char** why = nullptr);

// Consumes host [":" port] from the front of `s` (IPv6 references with their
// brackets); `allow_lws_around_colon` for Via sent-by. Port 0 when absent.
bool take_hostport(std::string_view& s, std::string_view& host, HostKind& kind, uint16_t& port,
                   const char** why, bool allow_lws_around_colon = false);

// URI equivalence of RFC 3261 §19.1.4 (sip/sips: case rules, escapes, the
// parameter rules; tel: number and parameters; other schemes: exact text).
bool uri_equal(const Uri& a, const Uri& b);

// "user@host" for an AOR: scheme-less, user unescaped, host lower-cased.
std::string aor_key(const Uri& u);

}  // namespace sip

#endif  // SWITCHBOARD_SIP_URI_H_
