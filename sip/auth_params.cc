#include "sip/auth_params.h"

#include "sip/lex.h"
#include "sip/message.h"

namespace sip {
namespace {

bool fail(const char** why, const char* text) {
  if (why) *why = text;
  return false;
}

// Splits "name = value" into its parts; false when it is not an auth-param.
bool split_param(std::string_view item, std::string_view& name, std::string_view& value) {
  std::string_view s = item;
  name = lex::take_token(s);
  if (name.empty()) return false;
  if (!lex::take_sep(s, '=')) return false;
  if (!s.empty() && s.front() == '"') {
    auto q = lex::take_quoted(s);
    if (!q) return false;
    value = *q;
  } else {
    value = lex::take_token(s);
    if (value.empty()) return false;
  }
  lex::skip_lws(s);
  return s.empty();
}

}  // namespace

std::optional<std::string_view> AuthParams::get_raw(std::string_view name) const {
  std::optional<std::string_view> found;
  for_each_list_element(params, [&](std::string_view item) {
    std::string_view n, v;
    if (split_param(item, n, v) && lex::iequals(n, name)) {
      found = v;
      return false;
    }
    return true;
  });
  return found;
}

std::optional<std::string_view> AuthParams::get(std::string_view name) const {
  auto v = get_raw(name);
  if (v && v->size() >= 2 && v->front() == '"') return v->substr(1, v->size() - 2);
  return v;
}

bool parse_auth_params(std::string_view text, AuthParams& out, const char** why) {
  out = AuthParams();
  std::string_view s = lex::trim_lws(text);
  out.scheme = lex::take_token(s);
  if (out.scheme.empty()) return fail(why, "authorization header has no scheme");
  if (!s.empty() && lex::lws_length(s) == 0) return fail(why, "authorization scheme must be followed by LWS");
  lex::skip_lws(s);
  out.params = s;
  bool ok = true;
  size_t count = 0;
  for_each_list_element(s, [&](std::string_view item) {
    std::string_view n, v;
    if (!split_param(item, n, v) || ++count > 64) ok = false;
    return ok;
  });
  if (!ok && lex::iequals(out.scheme, "Digest")) return fail(why, "malformed Digest parameters");
  // Other schemes may carry token68 data; they are kept opaque.
  return true;
}

}  // namespace sip
