#include "sip/parser.h"

#include <cstring>

#include "sip/lex.h"

namespace sip {

// Parser fills a Message's private fields; one instance per parse.
class Parser {
 public:
  Parser(Message& m, Framing framing, const Limits& limits)
      : m_(m), framing_(framing), limits_(limits) {}

  static ParseResult parse(std::unique_ptr<char[]> data, size_t size, Framing framing,
                           const Limits& limits) {
    Message m;
    m.storage_ = std::move(data);
    Parser p(m, framing, limits);
    if (!p.run(std::string_view(m.storage_.get(), size))) return ParseResult(p.take_error());
    return ParseResult(std::move(m));
  }

  // Returns true on success; otherwise error_ says why.
  bool run(std::string_view bytes);
  ParseError take_error() { return std::move(error_); }

 private:
  bool fail(int status, std::string reason) {
    error_.status = status;
    error_.reason = std::move(reason);
    return false;
  }
  bool fail_header(HeaderId id, std::string_view name, size_t index, const char* why) {
    std::string r(id == HeaderId::kOther ? name : header_name(id));
    if (index > 0) r += " " + std::to_string(index);
    r += ": ";
    r += why ? why : "malformed";
    return fail(400, std::move(r));
  }

  bool parse_start_line(std::string_view line);
  bool parse_request_line(std::string_view line);
  bool parse_status_line(std::string_view line);
  bool on_header(HeaderField& h);
  bool parse_delta(std::string_view value, std::optional<uint32_t>& out);

  Message& m_;
  Framing framing_;
  const Limits& limits_;
  ParseError error_;
  size_t via_index_ = 0;
  size_t contact_index_ = 0;
};

namespace {

// Finds the end of the line starting at `pos`: returns the index of '\n' (or
// npos) and sets `content_end` to the index before the CR.
size_t line_end(std::string_view s, size_t pos, size_t& content_end) {
  const void* p = std::memchr(s.data() + pos, '\n', s.size() - pos);
  if (!p) return std::string_view::npos;
  size_t nl = size_t(static_cast<const char*>(p) - s.data());
  content_end = (nl > pos && s[nl - 1] == '\r') ? nl - 1 : nl;
  return nl;
}

bool valid_version(std::string_view v) {
  // SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT (the "SIP" is case-insensitive)
  if (v.size() < 7 || !lex::iequals(v.substr(0, 4), "SIP/")) return false;
  v.remove_prefix(4);
  size_t dot = v.find('.');
  if (dot == 0 || dot == std::string_view::npos || dot + 1 == v.size()) return false;
  for (size_t i = 0; i < v.size(); ++i)
    if (i != dot && !lex::is_digit(v[i])) return false;
  return true;
}

bool is_sip20(std::string_view v) { return v.size() == 7 && lex::iequals(v, "SIP/2.0"); }

}  // namespace

bool Parser::parse_request_line(std::string_view line) {
  // Request-Line = Method SP Request-URI SP SIP-Version (exactly one SP each).
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0)
    return fail(400, "Request-Line must be 'Method SP Request-URI SP SIP-Version'");
  m_.method_ = line.substr(0, sp1);
  for (char c : m_.method_)
    if (!lex::is_token_char(c)) return fail(400, "method is not a token");
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return fail(400, "Request-Line has no SIP-Version");
  std::string_view uri = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (uri.empty()) return fail(400, "Request-Line has extra spaces");
  if (version.find(' ') != std::string_view::npos || version.find('\t') != std::string_view::npos)
    return fail(400, "Request-Line has extra spaces (LWS inside the Request-URI?)");
  if (!valid_version(version)) return fail(400, "bad SIP-Version in Request-Line");
  if (!is_sip20(version)) return fail(505, "SIP version not supported: " + std::string(version));
  m_.version_ = version;
  if (uri.size() > limits_.max_uri_bytes) return fail(414, "Request-URI too long");
  const char* why = nullptr;
  if (uri.front() == '<') return fail(400, "Request-URI must not be enclosed in '<' '>'");
  if (!parse_uri(uri, m_.request_uri_, &why)) return fail(400, std::string("Request-URI: ") + why);
  if (!m_.request_uri_.headers.empty())
    return fail(400, "Request-URI must not carry headers ('?...')");
  m_.method_id_ = method_id(m_.method_);
  m_.is_request_ = true;
  return true;
}

bool Parser::parse_status_line(std::string_view line) {
  // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
  size_t sp1 = line.find(' ');
  std::string_view version = line.substr(0, sp1);
  if (!valid_version(version)) return fail(400, "bad SIP-Version in Status-Line");
  if (!is_sip20(version)) return fail(505, "SIP version not supported: " + std::string(version));
  if (sp1 == std::string_view::npos) return fail(400, "Status-Line has no status code");
  std::string_view rest = line.substr(sp1 + 1);
  size_t n = 0;
  while (n < rest.size() && lex::is_digit(rest[n])) ++n;
  if (n != 3) return fail(400, "status code must be three digits");
  int code = (rest[0] - '0') * 100 + (rest[1] - '0') * 10 + (rest[2] - '0');
  if (code < 100 || code > 699) return fail(400, "status code out of range 100-699");
  rest.remove_prefix(3);
  if (!rest.empty()) {
    if (rest.front() != ' ') return fail(400, "status code must be three digits");
    rest.remove_prefix(1);
  }
  for (char c : rest)
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f)
      return fail(400, "control character in Reason-Phrase");
  m_.version_ = version;
  m_.status_code_ = code;
  m_.reason_ = rest;
  m_.is_request_ = false;
  return true;
}

bool Parser::parse_start_line(std::string_view line) {
  if (line.size() >= 4 && lex::iequals(line.substr(0, 4), "SIP/")) return parse_status_line(line);
  return parse_request_line(line);
}

bool Parser::parse_delta(std::string_view value, std::optional<uint32_t>& out) {
  // delta-seconds; a value past 2^32-1 is clamped (RFC 3261 §20.19, RFC 4475 §3.1.2.4).
  if (value.empty()) return false;
  uint64_t v = 0;
  for (char c : value) {
    if (!lex::is_digit(c)) return false;
    v = v * 10 + uint64_t(c - '0');
    if (v > UINT32_MAX) v = UINT32_MAX + uint64_t(1);
  }
  out = v > UINT32_MAX ? UINT32_MAX : uint32_t(v);
  return true;
}

bool Parser::on_header(HeaderField& h) {
  const char* why = nullptr;
  switch (h.id) {
    case HeaderId::kVia: {
      bool ok = true;
      for_each_list_element(h.value, [&](std::string_view v) {
        ++via_index_;
        if (via_index_ > limits_.max_vias) {
          ok = fail(400, "too many Via values");
          return false;
        }
        Via via;
        if (!parse_via(v, via, &why)) {
          ok = fail_header(h.id, h.name, via_index_, why);
          return false;
        }
        if (via_index_ == 1) m_.top_via_ = via;
        return true;
      });
      m_.via_count_ = via_index_;
      return ok;
    }
    case HeaderId::kFrom:
    case HeaderId::kTo: {
      NameAddr na;
      if (h.value.size() > limits_.max_uri_bytes + 1024)
        return fail_header(h.id, h.name, 0, "too long");
      if (!parse_name_addr(h.value, na, &why)) return fail_header(h.id, h.name, 0, why);
      auto& slot = h.id == HeaderId::kFrom ? m_.from_ : m_.to_;
      if (!slot) slot = na;
      return true;
    }
    case HeaderId::kCallId: {
      std::string_view v = h.value;
      if (v.empty()) return fail_header(h.id, h.name, 0, "empty");
      for (char c : v)
        if (!lex::is_word_char(c) && c != '@') return fail_header(h.id, h.name, 0, "not a word[@word]");
      if (m_.call_id_.empty()) m_.call_id_ = v;
      return true;
    }
    case HeaderId::kCSeq: {
      std::string_view s = h.value;
      size_t n = 0;
      while (n < s.size() && lex::is_digit(s[n])) ++n;
      auto seq = lex::parse_uint(s.substr(0, n), UINT32_MAX);
      if (!seq) return fail_header(h.id, h.name, 0, "sequence number missing or above 2^32-1");
      s.remove_prefix(n);
      if (lex::lws_length(s) == 0) return fail_header(h.id, h.name, 0, "needs LWS before the method");
      lex::skip_lws(s);
      std::string_view method = lex::take_token(s);
      if (method.empty() || !s.empty()) return fail_header(h.id, h.name, 0, "method is not a token");
      if (!m_.cseq_) m_.cseq_ = CSeq{uint32_t(*seq), method};
      return true;
    }
    case HeaderId::kContact: {
      if (h.value == "*") {
        m_.contact_wildcard_ = true;
        ++m_.contact_count_;
        return true;
      }
      bool ok = true;
      for_each_list_element(h.value, [&](std::string_view v) {
        ++contact_index_;
        if (contact_index_ > limits_.max_contacts) {
          ok = fail(400, "too many Contact values");
          return false;
        }
        NameAddr na;
        if (!parse_name_addr(v, na, &why)) {
          ok = fail_header(h.id, h.name, contact_index_, why);
          return false;
        }
        ++m_.contact_count_;
        return true;
      });
      return ok;
    }
    case HeaderId::kRoute:
    case HeaderId::kRecordRoute:
    case HeaderId::kPath: {
      bool ok = true;
      size_t i = 0;
      for_each_list_element(h.value, [&](std::string_view v) {
        ++i;
        NameAddr na;
        if (!parse_name_addr(v, na, &why)) {
          ok = fail_header(h.id, h.name, i, why);
          return false;
        }
        return true;
      });
      return ok;
    }
    case HeaderId::kContentLength: {
      auto v = lex::parse_uint(h.value, UINT32_MAX);
      if (!v) return fail_header(h.id, h.name, 0, "must be a non-negative number below 2^32");
      if (!m_.content_length_) {
        m_.content_length_ = uint32_t(*v);
      } else if (*m_.content_length_ != *v) {
        m_.content_length_conflict_ = true;
      }
      return true;
    }
    case HeaderId::kMaxForwards: {
      auto v = lex::parse_uint(h.value, UINT32_MAX);
      if (!v) return fail_header(h.id, h.name, 0, "must be a number");
      if (!m_.max_forwards_) m_.max_forwards_ = uint32_t(*v);
      return true;
    }
    case HeaderId::kExpires:
      // A malformed Expires is treated as absent (RFC 3261 §20.19: "equivalent to 3600").
      if (!m_.expires_) parse_delta(h.value, m_.expires_);
      return true;
    case HeaderId::kMinExpires:
      if (!m_.min_expires_) parse_delta(h.value, m_.min_expires_);
      return true;
    default:
      return true;
  }
}

bool Parser::run(std::string_view bytes) {
  if (bytes.size() > limits_.max_message_bytes) return fail(513, "Message Too Large");
  size_t pos = 0;
  // RFC 3261 §7.5: CRLFs before the start line are ignored.
  while (pos < bytes.size() && (bytes[pos] == '\r' || bytes[pos] == '\n')) ++pos;
  if (pos == bytes.size()) return fail(400, "empty message");
  const size_t start = pos;

  size_t content_end = 0;
  size_t nl = line_end(bytes, pos, content_end);
  if (nl == std::string_view::npos) return fail(400, "start line not terminated by CRLF");
  if (!parse_start_line(bytes.substr(pos, content_end - pos))) return false;
  pos = nl + 1;

  m_.headers_.reserve(24);
  bool terminated = false;
  while (pos < bytes.size()) {
    nl = line_end(bytes, pos, content_end);
    if (nl == std::string_view::npos) return fail(400, "header block not terminated by an empty line");
    if (content_end == pos) {  // the empty line
      pos = nl + 1;
      terminated = true;
      break;
    }
    if (lex::is_wsp(bytes[pos])) return fail(400, "continuation line without a header");
    // A header's value continues on lines that start with SP or HT (folding).
    size_t header_begin = pos;
    size_t value_end = content_end;
    while (nl + 1 < bytes.size() && lex::is_wsp(bytes[nl + 1])) {
      size_t next_nl = line_end(bytes, nl + 1, content_end);
      if (next_nl == std::string_view::npos)
        return fail(400, "header block not terminated by an empty line");
      nl = next_nl;
      value_end = content_end;
    }
    if (value_end - header_begin > limits_.max_header_bytes) return fail(400, "header too long");
    if (m_.headers_.size() >= limits_.max_headers) return fail(400, "too many headers");

    std::string_view line = bytes.substr(header_begin, value_end - header_begin);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return fail(400, "header line without ':'");
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && lex::is_wsp(name.back())) name.remove_suffix(1);
    if (name.empty()) return fail(400, "header with an empty name");
    for (char c : name)
      if (!lex::is_token_char(c)) return fail(400, "header name is not a token");
    HeaderField& h = m_.headers_.emplace_back();
    h.name = name;
    h.id = header_id(name);
    h.value = lex::trim_lws(line.substr(colon + 1));
    if (!on_header(h)) return false;
    pos = nl + 1;
  }
  if (!terminated) return fail(400, "header block not terminated by an empty line");

  std::string_view rest = bytes.substr(pos);
  if (framing_ == Framing::kDatagram) {
    if (m_.content_length_ && !m_.content_length_conflict_) {
      if (*m_.content_length_ > rest.size())
        return fail(400, "Content-Length exceeds the bytes received");
      m_.body_ = rest.substr(0, *m_.content_length_);  // trailing bytes are datagram noise
    } else {
      m_.body_ = rest;  // RFC 2543: the body runs to the end of the datagram
    }
  } else {
    if (m_.content_length_ && *m_.content_length_ != rest.size())
      return fail(400, "Content-Length does not match the framed body");
    m_.body_ = rest;
  }
  m_.bytes_ = bytes.substr(start, size_t(m_.body_.data() + m_.body_.size() - (bytes.data() + start)));
  return true;
}

ParseResult parse_message(std::unique_ptr<char[]> data, size_t size, Framing framing,
                          const Limits& limits) {
  if (size > limits.max_message_bytes) return ParseResult(ParseError{513, "Message Too Large"});
  return Parser::parse(std::move(data), size, framing, limits);
}

ParseResult parse_message(std::string_view bytes, Framing framing, const Limits& limits) {
  if (bytes.size() > limits.max_message_bytes) return ParseResult(ParseError{513, "Message Too Large"});
  std::unique_ptr<char[]> data(new char[bytes.size()]);
  std::memcpy(data.get(), bytes.data(), bytes.size());
  return parse_message(std::move(data), bytes.size(), framing, limits);
}

}  // namespace sip
