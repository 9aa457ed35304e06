#include "sip/params.h"

#include "sip/lex.h"

namespace sip {
namespace {

// uri paramchar (RFC 3261 §25.1): unreserved / escaped / param-unreserved.
constexpr lex::detail::CharTable kUriParamChar = lex::detail::make_table("-_.!~*'()%[]/:&+$", true);
bool is_uri_param_char(char c) { return kUriParamChar[c]; }

// gen-value = token / host / quoted-string; hosts bring ':' '[' ']'. A few more
// characters seen in the field ('/', '@') are tolerated since nothing splits on them.
constexpr lex::detail::CharTable kHeaderValueChar = lex::detail::make_table("-.!%*_+`'~:[]/@", true);
bool is_header_value_char(char c) { return kHeaderValueChar[c]; }

struct Step {
  Param param;
  bool ok = false;
  const char* why = nullptr;
};

// Reads one ";name[=value]" from the front of `s`. `s` must not be empty.
Step take_one(std::string_view& s, ParamList::Style style) {
  Step st;
  const bool header = style == ParamList::kHeader;
  if (header) lex::skip_lws(s);
  if (s.empty() || s.front() != ';') {
    st.why = "expected ';' before a parameter";
    return st;
  }
  s.remove_prefix(1);
  if (header) lex::skip_lws(s);
  size_t n = 0;
  if (header) {
    while (n < s.size() && lex::is_token_char(s[n])) ++n;
  } else {
    while (n < s.size() && is_uri_param_char(s[n])) ++n;
  }
  if (n == 0) {
    st.why = "empty parameter";
    return st;
  }
  st.param.name = s.substr(0, n);
  s.remove_prefix(n);
  std::string_view t = s;
  if (header) lex::skip_lws(t);
  if (!t.empty() && t.front() == '=') {
    t.remove_prefix(1);
    if (header) {
      lex::skip_lws(t);
      if (!t.empty() && t.front() == '"') {
        auto q = lex::take_quoted(t);
        if (!q) {
          st.why = "unterminated quoted parameter value";
          return st;
        }
        st.param.value = *q;
      } else {
        size_t m = 0;
        while (m < t.size() && is_header_value_char(t[m])) ++m;
        if (m == 0) {
          st.why = "parameter '=' without a value";
          return st;
        }
        st.param.value = t.substr(0, m);
        t.remove_prefix(m);
      }
    } else {
      size_t m = 0;
      while (m < t.size() && is_uri_param_char(t[m])) ++m;
      if (m == 0) {
        st.why = "URI parameter '=' without a value";
        return st;
      }
      st.param.value = t.substr(0, m);
      t.remove_prefix(m);
    }
    st.param.has_value = true;
    s = t;
  }
  st.ok = true;
  return st;
}

}  // namespace

void ParamList::Iterator::advance() {
  std::string_view t = rest_;
  if (style_ == kHeader) lex::skip_lws(t);
  if (t.empty()) {
    done_ = true;
    rest_ = t;
    return;
  }
  Step st = take_one(t, style_);
  if (!st.ok) {  // only reachable on unvalidated input: stop quietly
    done_ = true;
    rest_ = std::string_view();
    return;
  }
  current_ = st.param;
  rest_ = t;
}

std::optional<std::string_view> ParamList::get(std::string_view name) const {
  for (const Param& p : *this)
    if (lex::iequals(p.name, name)) return p.value;
  return std::nullopt;
}

std::optional<std::string_view> ParamList::get_unquoted(std::string_view name) const {
  auto v = get(name);
  if (v && v->size() >= 2 && v->front() == '"' && v->back() == '"') return v->substr(1, v->size() - 2);
  return v;
}

bool ParamList::validate(std::string_view raw, Style style, const char** why, size_t max_count) {
  size_t count = 0;
  for (;;) {
    if (style == kHeader) lex::skip_lws(raw);
    if (raw.empty()) return true;
    Step st = take_one(raw, style);
    if (!st.ok) {
      if (why) *why = st.why;
      return false;
    }
    if (++count > max_count) {
      if (why) *why = "too many parameters";
      return false;
    }
  }
}

bool take_header_params(std::string_view& s, std::string_view& raw, const char** why,
                        size_t max_count) {
  const char* start = s.data();
  std::string_view t = s;
  for (size_t count = 0;; ++count) {
    std::string_view probe = t;
    lex::skip_lws(probe);
    if (probe.empty() || probe.front() != ';') break;
    if (count == max_count) {
      if (why) *why = "too many parameters";
      return false;
    }
    Step st = take_one(t, ParamList::kHeader);
    if (!st.ok) {
      if (why) *why = st.why;
      return false;
    }
  }
  raw = std::string_view(start, size_t(t.data() - start));
  s = t;
  return true;
}

}  // namespace sip
