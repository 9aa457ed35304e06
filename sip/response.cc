#include "sip/response.h"

#include <charconv>

#include "sip/lex.h"

namespace sip {
namespace {

struct Reason {
  int code;
  std::string_view text;
};
constexpr Reason kReasons[] = {
    {100, "Trying"}, {180, "Ringing"}, {181, "Call Is Being Forwarded"}, {182, "Queued"},
    {183, "Session Progress"}, {199, "Early Dialog Terminated"}, {200, "OK"}, {202, "Accepted"},
    {204, "No Notification"}, {300, "Multiple Choices"}, {301, "Moved Permanently"},
    {302, "Moved Temporarily"}, {305, "Use Proxy"}, {380, "Alternative Service"},
    {400, "Bad Request"}, {401, "Unauthorized"}, {402, "Payment Required"}, {403, "Forbidden"},
    {404, "Not Found"}, {405, "Method Not Allowed"}, {406, "Not Acceptable"},
    {407, "Proxy Authentication Required"}, {408, "Request Timeout"}, {410, "Gone"},
    {412, "Conditional Request Failed"}, {413, "Request Entity Too Large"},
    {414, "Request-URI Too Long"}, {415, "Unsupported Media Type"},
    {416, "Unsupported URI Scheme"}, {417, "Unknown Resource-Priority"}, {420, "Bad Extension"},
    {421, "Extension Required"}, {422, "Session Interval Too Small"}, {423, "Interval Too Brief"},
    {429, "Provide Referrer Identity"}, {430, "Flow Failed"}, {439, "First Hop Lacks Outbound Support"},
    {480, "Temporarily Unavailable"}, {481, "Call/Transaction Does Not Exist"},
    {482, "Loop Detected"}, {483, "Too Many Hops"}, {484, "Address Incomplete"},
    {485, "Ambiguous"}, {486, "Busy Here"}, {487, "Request Terminated"},
    {488, "Not Acceptable Here"}, {489, "Bad Event"}, {491, "Request Pending"},
    {493, "Undecipherable"}, {494, "Security Agreement Required"},
    {500, "Server Internal Error"}, {501, "Not Implemented"}, {502, "Bad Gateway"},
    {503, "Service Unavailable"}, {504, "Server Time-out"}, {505, "Version Not Supported"},
    {513, "Message Too Large"}, {580, "Precondition Failure"}, {600, "Busy Everywhere"},
    {603, "Decline"}, {604, "Does Not Exist Anywhere"}, {606, "Not Acceptable"},
    {607, "Unwanted"},
};

// Header text from outside must not be able to inject lines.
void append_clean(std::string& out, std::string_view s) {
  for (char c : s)
    if (c != '\r' && c != '\n') out.push_back(c);
}

// A header value as it goes out: folded LWS becomes one space.
void append_value(std::string& out, std::string_view v) {
  if (v.find('\r') == std::string_view::npos && v.find('\n') == std::string_view::npos) {
    out.append(v);
  } else {
    out.append(lex::unfold(v));
  }
}

void append_number(std::string& out, uint64_t n) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, r.ptr);
}

bool to_has_tag(std::string_view to_value) {
  NameAddr na;
  if (parse_name_addr(to_value, na)) return na.param("tag").has_value();
  return to_value.find("tag=") != std::string_view::npos;
}

}  // namespace

std::string_view default_reason(int status) {
  for (const Reason& r : kReasons)
    if (r.code == status) return r.text;
  return {};
}

std::string via_with_received(const Via& via, std::string_view source_ip, uint16_t source_port) {
  std::string out;
  out.reserve(via.text.size() + 48);
  out.append(via.protocol_name).push_back('/');
  out.append(via.protocol_version).push_back('/');
  out.append(via.transport).push_back(' ');
  out.append(via.host);
  if (via.port != 0) {
    out.push_back(':');
    append_number(out, via.port);
  }
  const bool rport = via.rport().has_value();
  // RFC 3261 §18.2.1: received when sent-by differs from the source address;
  // RFC 3581 §4: always when rport is present.
  const bool need_received = rport || via.host_address() != source_ip;
  bool wrote_received = false;
  for (const Param& p : via.param_list()) {
    out.push_back(';');
    if (lex::iequals(p.name, "rport")) {
      out.append("rport=");
      append_number(out, source_port);
    } else if (lex::iequals(p.name, "received")) {
      if (!need_received) {
        out.pop_back();
        continue;
      }
      out.append("received=").append(source_ip);
      wrote_received = true;
    } else {
      out.append(p.name);
      if (p.has_value) out.push_back('=');
      append_value(out, p.value);
    }
  }
  if (need_received && !wrote_received) out.append(";received=").append(source_ip);
  return out;
}

ResponseBuilder::ResponseBuilder(const Message& request, int status, std::string_view reason)
    : request_(request), status_(status), reason_(reason.empty() ? default_reason(status) : reason) {}

ResponseBuilder& ResponseBuilder::to_tag(std::string_view tag) {
  to_tag_.clear();
  append_clean(to_tag_, tag);
  return *this;
}

ResponseBuilder& ResponseBuilder::received_from(std::string_view ip, uint16_t port) {
  received_ip_ = std::string(ip);
  received_port_ = port;
  have_source_ = true;
  return *this;
}

ResponseBuilder& ResponseBuilder::header(std::string_view name, std::string_view value) {
  std::string n, v;
  append_clean(n, name);
  append_clean(v, value);
  extra_.emplace_back(std::move(n), std::move(v));
  return *this;
}

ResponseBuilder& ResponseBuilder::body(std::string_view content_type, std::string_view body) {
  content_type_.clear();
  append_clean(content_type_, content_type);
  body_ = std::string(body);
  return *this;
}

std::string ResponseBuilder::build() const {
  std::string out;
  out.reserve(512 + body_.size());
  out.append("SIP/2.0 ");
  append_number(out, uint64_t(status_));
  out.push_back(' ');
  append_clean(out, reason_);
  out.append("\r\n");

  // Via values in order, one line per value; the top one gets received/rport.
  bool top = true;
  request_.for_each_value(HeaderId::kVia, [&](std::string_view v) {
    out.append("Via: ");
    Via via;
    if (top && have_source_ && parse_via(v, via)) {
      out.append(via_with_received(via, received_ip_, received_port_));
    } else {
      append_value(out, v);
    }
    top = false;
    out.append("\r\n");
    return true;
  });
  if (const HeaderField* h = request_.find(HeaderId::kFrom)) {
    out.append("From: ");
    append_value(out, h->value);
    out.append("\r\n");
  }
  if (const HeaderField* h = request_.find(HeaderId::kTo)) {
    out.append("To: ");
    append_value(out, h->value);
    if (status_ != 100 && !to_tag_.empty() && !(request_.to() && request_.to()->param("tag")))
      out.append(";tag=").append(to_tag_);
    out.append("\r\n");
  }
  if (const HeaderField* h = request_.find(HeaderId::kCallId)) {
    out.append("Call-ID: ");
    append_value(out, h->value);
    out.append("\r\n");
  }
  if (const HeaderField* h = request_.find(HeaderId::kCSeq)) {
    out.append("CSeq: ");
    append_value(out, h->value);
    out.append("\r\n");
  }
  // RFC 3261 §8.2.6.1: a 100 copies Timestamp.
  if (status_ == 100) {
    if (const HeaderField* h = request_.find(HeaderId::kTimestamp)) {
      out.append("Timestamp: ");
      append_value(out, h->value);
      out.append("\r\n");
    }
  }
  for (const auto& [name, value] : extra_) {
    out.append(name).append(": ").append(value).append("\r\n");
  }
  if (!body_.empty()) out.append("Content-Type: ").append(content_type_).append("\r\n");
  out.append("Content-Length: ");
  append_number(out, body_.size());
  out.append("\r\n\r\n");
  out.append(body_);
  return out;
}

ResponseContext::ResponseContext(const Message& request, std::string_view to_tag,
                                 std::string_view source_ip, uint16_t source_port) {
  // Build a 200 once and keep everything between the status line and the
  // Content-Length: that is the copied-header block every status shares.
  std::string full = ResponseBuilder(request, 200)
                         .to_tag(to_tag)
                         .received_from(source_ip, source_port)
                         .build();
  size_t begin = full.find("\r\n") + 2;
  size_t end = full.rfind("Content-Length: ");
  head_ = full.substr(begin, end - begin);
}

std::string ResponseContext::build(
    int status, std::string_view reason,
    const std::vector<std::pair<std::string, std::string>>& headers) const {
  std::string out;
  out.reserve(head_.size() + 256);
  out.append("SIP/2.0 ");
  append_number(out, uint64_t(status));
  out.push_back(' ');
  append_clean(out, reason.empty() ? default_reason(status) : reason);
  out.append("\r\n");
  out.append(head_);
  for (const auto& [name, value] : headers) {
    append_clean(out, name);
    out.append(": ");
    append_clean(out, value);
    out.append("\r\n");
  }
  out.append("Content-Length: 0\r\n\r\n");
  return out;
}

std::optional<std::string> build_error_for_unparsed(std::string_view bytes, int status,
                                                    std::string_view reason,
                                                    std::string_view source_ip,
                                                    uint16_t source_port,
                                                    std::string_view to_tag) {
  while (!bytes.empty() && (bytes.front() == '\r' || bytes.front() == '\n')) bytes.remove_prefix(1);
  if (bytes.size() >= 4 && lex::iequals(bytes.substr(0, 4), "SIP/")) return std::nullopt;  // a response
  std::vector<std::string_view> vias;
  std::string_view from, to, call_id, cseq;
  size_t pos = bytes.find('\n');
  size_t lines = 0;
  while (pos != std::string_view::npos && ++lines < 256) {
    size_t begin = pos + 1;
    size_t end = bytes.find('\n', begin);
    std::string_view line = bytes.substr(begin, end == std::string_view::npos ? end : end - begin);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // end of the header block
    pos = end;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = lex::trim_lws(line.substr(0, colon));
    std::string_view value = lex::trim_lws(line.substr(colon + 1));
    if (value.empty() || value.size() > 1024) continue;
    bool clean = true;
    for (char c : value)
      if (static_cast<unsigned char>(c) < 0x20 && c != '\t') clean = false;
    if (!clean) continue;
    switch (header_id(name)) {
      case HeaderId::kVia: if (vias.size() < 70) vias.push_back(value); break;
      case HeaderId::kFrom: if (from.empty()) from = value; break;
      case HeaderId::kTo: if (to.empty()) to = value; break;
      case HeaderId::kCallId: if (call_id.empty()) call_id = value; break;
      case HeaderId::kCSeq: if (cseq.empty()) cseq = value; break;
      default: break;
    }
  }
  if (vias.empty()) return std::nullopt;
  std::string out;
  out.append("SIP/2.0 ");
  append_number(out, uint64_t(status));
  out.push_back(' ');
  std::string_view phrase = reason.empty() ? default_reason(status) : reason;
  append_clean(out, phrase);
  out.append("\r\n");
  bool top = true;
  for (std::string_view v : vias) {
    out.append("Via: ");
    Via via;
    if (top && parse_via(v, via)) {
      out.append(via_with_received(via, source_ip, source_port));
    } else {
      out.append(v);
    }
    top = false;
    out.append("\r\n");
  }
  // From and To are copied only when they parse: a malformed one would make
  // the response itself unparseable for the client.
  NameAddr check;
  if (!from.empty() && parse_name_addr(from, check)) out.append("From: ").append(from).append("\r\n");
  if (!to.empty() && parse_name_addr(to, check)) {
    out.append("To: ").append(to);
    if (!to_tag.empty() && !to_has_tag(to)) out.append(";tag=").append(to_tag);
    out.append("\r\n");
  }
  if (!call_id.empty()) out.append("Call-ID: ").append(call_id).append("\r\n");
  if (!cseq.empty()) out.append("CSeq: ").append(cseq).append("\r\n");
  out.append("Content-Length: 0\r\n\r\n");
  return out;
}

std::string serialize(const Message& m) {
  std::string out;
  out.reserve(m.bytes().size() + 64);
  if (m.is_request()) {
    out.append(m.method()).push_back(' ');
    out.append(m.request_uri().text).append(" SIP/2.0\r\n");
  } else {
    out.append("SIP/2.0 ");
    append_number(out, uint64_t(m.status_code()));
    out.push_back(' ');
    out.append(m.reason_phrase()).append("\r\n");
  }
  for (const HeaderField& h : m.headers()) {
    if (h.id == HeaderId::kContentLength) continue;
    out.append(h.id == HeaderId::kOther ? h.name : header_name(h.id)).append(": ");
    append_value(out, h.value);
    out.append("\r\n");
  }
  out.append("Content-Length: ");
  append_number(out, m.body().size());
  out.append("\r\n\r\n");
  out.append(m.body());
  return out;
}

}  // namespace sip
