#include "sip/via.h"

#include "sip/lex.h"

namespace sip {
namespace {
bool fail(const char** why, const char* text) {
  if (why) *why = text;
  return false;
}
}  // namespace

std::string_view Via::sent_by() const {
  if (host.empty()) return {};
  const char* begin = host.data();
  const char* end = host.data() + host.size();
  if (port != 0) {
    // Extend over [LWS] ":" [LWS] port as written.
    std::string_view tail(end, size_t(text.data() + text.size() - end));
    size_t i = 0;
    while (i < tail.size() && tail[i] != ';' && !lex::is_digit(tail[i])) ++i;
    while (i < tail.size() && lex::is_digit(tail[i])) ++i;
    end += i;
  }
  return std::string_view(begin, size_t(end - begin));
}

bool parse_via(std::string_view text, Via& out, const char** why) {
  out = Via();
  text = lex::trim_lws(text);
  out.text = text;
  std::string_view s = text;
  out.protocol_name = lex::take_token(s);
  if (out.protocol_name.empty()) return fail(why, "Via has no protocol name");
  if (!lex::take_sep(s, '/')) return fail(why, "Via sent-protocol needs '/'");
  out.protocol_version = lex::take_token(s);
  if (out.protocol_version.empty()) return fail(why, "Via has no protocol version");
  if (!lex::take_sep(s, '/')) return fail(why, "Via sent-protocol needs a transport");
  out.transport = lex::take_token(s);
  if (out.transport.empty()) return fail(why, "Via has no transport");
  if (lex::lws_length(s) == 0) return fail(why, "Via needs LWS before sent-by");
  lex::skip_lws(s);
  if (!take_hostport(s, out.host, out.host_kind, out.port, why, /*allow_lws_around_colon=*/true))
    return false;
  if (!take_header_params(s, out.params, why)) return false;
  lex::skip_lws(s);
  // RFC 2543 allowed a trailing comment; it carries nothing we use.
  if (!s.empty() && s.front() == '(') s = std::string_view();
  if (!s.empty()) return fail(why, "unexpected text in Via");
  if (auto b = out.param("branch"); b && b->empty()) return fail(why, "Via branch is empty");
  return true;
}

}  // namespace sip
