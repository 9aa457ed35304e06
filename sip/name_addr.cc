#include "sip/name_addr.h"

#include "sip/lex.h"

namespace sip {
namespace {

bool fail(const char** why, const char* text) {
  if (why) *why = text;
  return false;
}

// Unquoted display names are tokens separated by LWS (RFC 3261 §25.1). UTF-8
// octets are tolerated there too: nothing else could be meant by them.
bool is_display_token_char(char c) {
  return lex::is_token_char(c) || static_cast<unsigned char>(c) >= 0x80;
}

// Checks that nothing but LWS remains.
bool only_lws(std::string_view s) {
  lex::skip_lws(s);
  return s.empty();
}

}  // namespace

std::string NameAddr::display_name_text() const {
  if (!display_name.empty() && display_name.front() == '"') return lex::unquote(display_name);
  return lex::unfold(display_name);
}

bool parse_name_addr(std::string_view text, NameAddr& out, const char** why, bool allow_wildcard) {
  out = NameAddr();
  text = lex::trim_lws(text);
  out.text = text;
  if (text.empty()) return fail(why, "empty address");
  if (allow_wildcard && text == "*") {
    out.wildcard = true;
    return true;
  }

  std::string_view s = text;
  bool name_addr_form = false;
  if (s.front() == '"') {
    auto q = lex::take_quoted(s);
    if (!q) return fail(why, "unterminated quoted display name");
    out.display_name = *q;
    lex::skip_lws(s);
    if (s.empty() || s.front() != '<') return fail(why, "expected '<' after display name");
    name_addr_form = true;
  } else {
    // Either `tokens <uri>` or an addr-spec: look for '<' after a run of tokens.
    size_t i = 0;
    size_t last_token_end = 0;
    for (;;) {
      size_t n = lex::lws_length(s.substr(i));
      i += n;
      if (i >= s.size()) break;
      if (s[i] == '<') {
        name_addr_form = true;
        break;
      }
      if (!is_display_token_char(s[i])) break;
      while (i < s.size() && is_display_token_char(s[i])) ++i;
      last_token_end = i;
    }
    if (name_addr_form) {
      out.display_name = s.substr(0, last_token_end);
      s.remove_prefix(i);
    } else {
      // A '<' before any parameter or quote means a name-addr was meant, so
      // whatever stopped the scan is a bad display name (RFC 4475 §3.1.2.15).
      size_t lt = s.find('<');
      if (lt != std::string_view::npos && lt < s.find(';') && lt < s.find('"'))
        return fail(why, "invalid character in display name");
    }
  }

  std::string_view rest;
  if (name_addr_form) {
    // s starts at '<'.
    size_t close = s.find('>');
    if (close == std::string_view::npos) return fail(why, "missing '>' after URI");
    std::string_view uri_text = s.substr(1, close - 1);
    if (!parse_uri(uri_text, out.uri, why)) return false;
    out.bracketed = true;
    rest = s.substr(close + 1);
  } else {
    // addr-spec: the URI ends at LWS, ';' or the end. A URI with ',', ';' or '?'
    // must be bracketed (RFC 3261 §20), so such characters end it or are an error.
    size_t n = 0;
    while (n < s.size() && s[n] != ';' && s[n] != ' ' && s[n] != '\t' && s[n] != '\r' && s[n] != '\n')
      ++n;
    std::string_view uri_text = s.substr(0, n);
    if (uri_text.find('?') != std::string_view::npos)
      return fail(why, "a URI with '?' must be enclosed in '<' '>'");
    if (uri_text.find(',') != std::string_view::npos)
      return fail(why, "a URI with ',' must be enclosed in '<' '>'");
    if (!parse_uri(uri_text, out.uri, why)) return false;
    rest = s.substr(n);
  }

  if (!take_header_params(rest, out.params, why)) return false;
  if (!only_lws(rest)) return fail(why, "unexpected text after address");
  return true;
}

}  // namespace sip
