#include "sip/uri.h"

#include <arpa/inet.h>

#include <cstring>

#include "sip/lex.h"

namespace sip {
namespace {

bool fail(const char** why, const char* text) {
  if (why) *why = text;
  return false;
}

using lex::detail::CharTable;
using lex::detail::make_table;

// unreserved = alphanum / mark; mark = "-" / "_" / "." / "!" / "~" / "*" / "'" / "(" / ")"
constexpr CharTable kUnreserved = make_table("-_.!~*'()", true);
// user = 1*( unreserved / escaped / user-unreserved )
constexpr CharTable kUserChar = make_table("-_.!~*'()%&=+$,;?/", true);
// password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," )
constexpr CharTable kPasswordChar = make_table("-_.!~*'()%&=+$,", true);
// hname / hvalue characters plus the '=' and '&' that separate them.
constexpr CharTable kHeaderPartChar = make_table("-_.!~*'()%[]/?:+$=&", true);
// hostname characters
constexpr CharTable kHostChar = make_table("-.", true);

bool is_user_char(char c) { return kUserChar[c]; }
bool is_password_char(char c) { return kPasswordChar[c]; }
bool is_header_part_char(char c) { return kHeaderPartChar[c]; }

// Characters that never appear in any URI we accept (opaque ones included).
constexpr CharTable make_forbidden() {
  CharTable t;
  for (int c = 0; c <= 0x20; ++c) t.v[c] = true;
  t.v[0x7f] = t.v['<'] = t.v['>'] = t.v['"'] = true;
  return t;
}
constexpr CharTable kForbidden = make_forbidden();
bool is_forbidden_anywhere(char c) { return kForbidden[c]; }

bool valid_scheme(std::string_view s) {
  if (s.empty() || !lex::is_alpha(s[0])) return false;
  for (char c : s)
    if (!lex::is_alnum(c) && c != '+' && c != '-' && c != '.') return false;
  return true;
}

// IPv4address = 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT, each at most 255.
bool looks_ipv4(std::string_view h) {
  int dots = 0;
  size_t digits = 0;
  unsigned value = 0;
  for (char c : h) {
    if (c == '.') {
      if (digits == 0) return false;
      ++dots;
      digits = 0;
      value = 0;
    } else if (lex::is_digit(c)) {
      value = value * 10 + unsigned(c - '0');
      if (++digits > 3 || value > 255) return false;
    } else {
      return false;
    }
  }
  return dots == 3 && digits > 0;
}

bool parse_sip(std::string_view rest, Uri& out, const char** why) {
  if (rest.empty()) return fail(why, "empty SIP URI");
  // userinfo ends at the first '@' (a '@' inside the user part must be escaped).
  size_t at = rest.find('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    size_t colon = userinfo.find(':');
    std::string_view user = userinfo.substr(0, colon);
    if (user.empty()) return fail(why, "empty user part in URI");
    for (char c : user)
      if (!is_user_char(c)) return fail(why, "invalid character in URI user part");
    if (user.find('%') != std::string_view::npos && lex::has_bad_escape(user))
      return fail(why, "bad %-escape in URI user part");
    out.user = user;
    if (colon != std::string_view::npos) {
      out.password = userinfo.substr(colon + 1);
      for (char c : out.password)
        if (!is_password_char(c)) return fail(why, "invalid character in URI password");
    }
    out.has_userinfo = true;
    rest.remove_prefix(at + 1);
  }
  if (!take_hostport(rest, out.host, out.host_kind, out.port, why)) return false;
  size_t q = rest.find('?');
  std::string_view params = rest.substr(0, q);
  if (!params.empty()) {
    if (params.front() != ';') return fail(why, "unexpected character after URI host");
    const char* pwhy = nullptr;
    if (!ParamList::validate(params, ParamList::kUri, &pwhy)) return fail(why, pwhy);
    if (params.find('%') != std::string_view::npos && lex::has_bad_escape(params))
      return fail(why, "bad %-escape in URI parameter");
    out.params = params;
  }
  if (q != std::string_view::npos) {
    std::string_view headers = rest.substr(q + 1);
    if (headers.empty()) return fail(why, "empty URI headers after '?'");
    for (char c : headers)
      if (!is_header_part_char(c)) return fail(why, "invalid character in URI headers");
    if (lex::has_bad_escape(headers)) return fail(why, "bad %-escape in URI headers");
    out.headers = headers;
  }
  return true;
}

// Parameters that must match when present in either URI (RFC 3261 §19.1.4).
constexpr std::string_view kMustMatch[] = {"user", "ttl", "method", "maddr", "transport"};

bool ieq_unescaped(std::string_view a, std::string_view b) {
  if (a.find('%') == std::string_view::npos && b.find('%') == std::string_view::npos)
    return lex::iequals(a, b);
  return lex::iequals(lex::unescape(a), lex::unescape(b));
}

bool params_equal(const Uri& a, const Uri& b) {
  ParamList pa = a.param_list(), pb = b.param_list();
  for (std::string_view name : kMustMatch) {
    auto va = pa.get(name), vb = pb.get(name);
    if (va.has_value() != vb.has_value()) return false;
    if (va && !ieq_unescaped(*va, *vb)) return false;
  }
  for (const Param& p : pa) {
    auto other = pb.get(p.name);
    if (other && !ieq_unescaped(p.value, *other)) return false;
  }
  return true;
}

// Calls fn(name, value) for each "name=value" of a URI's headers part.
template <typename Fn>
bool each_uri_header(std::string_view h, Fn&& fn) {
  while (!h.empty()) {
    size_t amp = h.find('&');
    std::string_view item = h.substr(0, amp);
    size_t eq = item.find('=');
    if (!fn(item.substr(0, eq), eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1)))
      return false;
    if (amp == std::string_view::npos) break;
    h.remove_prefix(amp + 1);
  }
  return true;
}

// Every header of `x` is in `y` with an equal value (hvalues compare
// case-sensitively after unescaping, names case-insensitively).
bool uri_headers_subset(std::string_view x, std::string_view y) {
  return each_uri_header(x, [&](std::string_view name, std::string_view value) {
    bool matched = false;
    each_uri_header(y, [&](std::string_view n, std::string_view v) {
      if (!ieq_unescaped(n, name)) return true;
      matched = lex::unescape(v) == lex::unescape(value);
      return false;
    });
    return matched;
  });
}

bool headers_equal(std::string_view a, std::string_view b) {
  return uri_headers_subset(a, b) && uri_headers_subset(b, a);
}

bool hosts_equal(const Uri& a, const Uri& b) {
  if (a.host_kind == HostKind::kIpv6 && b.host_kind == HostKind::kIpv6) {
    in6_addr x, y;
    std::string sa(a.host_address()), sb(b.host_address());
    if (inet_pton(AF_INET6, sa.c_str(), &x) == 1 && inet_pton(AF_INET6, sb.c_str(), &y) == 1)
      return std::memcmp(&x, &y, sizeof x) == 0;
  }
  return ieq_unescaped(a.host, b.host);
}

}  // namespace

bool take_hostport(std::string_view& s, std::string_view& host, HostKind& kind, uint16_t& port,
                   const char** why, bool allow_lws_around_colon) {
  port = 0;
  if (s.empty()) return fail(why, "URI has no host");
  if (s.front() == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos) return fail(why, "unterminated IPv6 reference in URI");
    std::string_view inner = s.substr(1, close - 1);
    if (inner.empty() || inner.size() > 45) return fail(why, "bad IPv6 reference in URI");
    char buf[64];
    std::memcpy(buf, inner.data(), inner.size());
    buf[inner.size()] = 0;
    in6_addr a6;
    if (inet_pton(AF_INET6, buf, &a6) != 1) return fail(why, "bad IPv6 address in URI");
    host = s.substr(0, close + 1);
    kind = HostKind::kIpv6;
    s.remove_prefix(close + 1);
  } else {
    // One pass: the host's extent, whether it is all digits and dots, and no "..".
    size_t n = 0;
    bool digits_and_dots = true;
    char prev = 0;
    while (n < s.size() && kHostChar[s[n]]) {
      char c = s[n];
      if (c == '.' && prev == '.') return fail(why, "bad host name");
      if (!lex::is_digit(c) && c != '.') digits_and_dots = false;
      prev = c;
      ++n;
    }
    if (n == 0) return fail(why, "URI has no host");
    host = s.substr(0, n);
    if (host.front() == '-' || host.front() == '.') return fail(why, "bad host name");
    if (digits_and_dots) {
      // A dotted run of digits is an IPv4 address or nothing.
      if (!looks_ipv4(host)) return fail(why, "bad IPv4 address");
      kind = HostKind::kIpv4;
    } else {
      kind = HostKind::kHostname;
    }
    s.remove_prefix(n);
  }
  std::string_view t = s;
  if (allow_lws_around_colon) lex::skip_lws(t);
  if (!t.empty() && t.front() == ':') {
    s = t;
    s.remove_prefix(1);
    if (allow_lws_around_colon) lex::skip_lws(s);
    size_t n = 0;
    while (n < s.size() && lex::is_digit(s[n])) ++n;
    auto number = lex::parse_uint(s.substr(0, n), 65535);
    if (!number || *number == 0) return fail(why, "bad port");
    port = uint16_t(*number);
    s.remove_prefix(n);
  }
  return true;
}

std::string_view Uri::host_address() const {
  if (host.size() >= 2 && host.front() == '[') return host.substr(1, host.size() - 2);
  return host;
}

bool parse_uri(std::string_view text, Uri& out, const char** why) {
  out = Uri();
  out.text = text;
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return fail(why, "URI has no scheme");
  out.scheme_text = text.substr(0, colon);
  if (!valid_scheme(out.scheme_text)) return fail(why, "bad URI scheme");
  std::string_view rest = text.substr(colon + 1);
  // sip and sips check every character against their own grammar below.
  if (lex::iequals(out.scheme_text, "sip")) {
    out.scheme = Scheme::kSip;
    return parse_sip(rest, out, why);
  }
  if (lex::iequals(out.scheme_text, "sips")) {
    out.scheme = Scheme::kSips;
    return parse_sip(rest, out, why);
  }
  if (rest.empty()) return fail(why, "empty URI after scheme");
  for (char c : rest)
    if (is_forbidden_anywhere(c)) return fail(why, "invalid character in URI");
  if (lex::iequals(out.scheme_text, "tel")) {
    out.scheme = Scheme::kTel;
    size_t semi = rest.find(';');
    out.user = rest.substr(0, semi);
    if (out.user.empty()) return fail(why, "tel URI has no number");
    for (char c : out.user)
      if (!lex::is_alnum(c) && c != '+' && c != '-' && c != '.' && c != '(' && c != ')' && c != '*' &&
          c != '#')
        return fail(why, "invalid character in tel URI number");
    if (semi != std::string_view::npos) {
      out.params = rest.substr(semi);
      const char* pwhy = nullptr;
      if (!ParamList::validate(out.params, ParamList::kUri, &pwhy)) return fail(why, pwhy);
    }
    return true;
  }
  out.scheme = Scheme::kOther;  // absoluteURI: kept opaque
  return true;
}

bool uri_equal(const Uri& a, const Uri& b) {
  if (a.scheme != b.scheme) return false;
  switch (a.scheme) {
    case Scheme::kSip:
    case Scheme::kSips:
      if (a.has_userinfo != b.has_userinfo) return false;
      // userinfo is case-sensitive, compared after unescaping.
      if (lex::unescape(a.user) != lex::unescape(b.user)) return false;
      if (lex::unescape(a.password) != lex::unescape(b.password)) return false;
      if (!hosts_equal(a, b)) return false;
      if (a.port != b.port) return false;  // an explicit 5060 differs from none
      return params_equal(a, b) && headers_equal(a.headers, b.headers);
    case Scheme::kTel: {
      auto digits = [](std::string_view n) {
        std::string d;
        for (char c : n)
          if (c != '-' && c != '.' && c != '(' && c != ')') d.push_back(lex::to_lower(c));
        return d;
      };
      return digits(a.user) == digits(b.user) && params_equal(a, b);
    }
    case Scheme::kOther:
      return lex::iequals(a.scheme_text, b.scheme_text) &&
             a.text.substr(a.scheme_text.size()) == b.text.substr(b.scheme_text.size());
  }
  return false;
}

std::string aor_key(const Uri& u) {
  std::string key = lex::unescape(u.user);
  key.push_back('@');
  for (char c : u.host) key.push_back(lex::to_lower(c));
  return key;
}

}  // namespace sip
