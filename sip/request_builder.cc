// sip/request_builder.cc — see request_builder.h.
#include "sip/request_builder.h"

#include <algorithm>

#include "sip/lex.h"
#include "sip/via.h"

namespace sip {
namespace {

// A URI inside <…>: no controls, no whitespace, no angle brackets (any of
// them could end the name-addr early and smuggle parameters in).
std::string sanitize_uri(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '<' || c == '>' || c == '"') continue;
    out.push_back(c);
  }
  if (out.size() > 2048) out.resize(2048);
  return out;
}

std::string name_addr(std::string_view uri, std::string_view display, std::string_view tag) {
  std::string out;
  if (!display.empty()) {
    out = quote_display_name(display);
    out.push_back(' ');
  }
  out.append("<").append(sanitize_uri(uri)).append(">");
  if (!tag.empty()) out.append(";tag=").append(sanitize_header_name(tag));
  return out;
}

}  // namespace

std::string sanitize_header_value(std::string_view s, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(s.size(), max_bytes));
  for (char c : s) {
    if (out.size() >= max_bytes) break;
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) continue;
    out.push_back(c);
  }
  // Leading/trailing whitespace would be folded away by the peer anyway.
  while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
  size_t start = 0;
  while (start < out.size() && (out[start] == ' ' || out[start] == '\t')) ++start;
  return out.substr(start);
}

std::string sanitize_header_name(std::string_view s) {
  std::string out;
  for (char c : s)
    if (lex::is_token_char(c) && out.size() < 128) out.push_back(c);
  return out;
}

std::string quote_display_name(std::string_view name) { return quoted_string(name, 256); }

std::string quoted_string(std::string_view value, size_t max_bytes) {
  std::string clean = sanitize_header_value(value, max_bytes);
  std::string out = "\"";
  for (char c : clean) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string make_branch(std::string_view unique) {
  return std::string(kMagicCookie) + sanitize_header_name(unique);
}

RequestBuilder::RequestBuilder(std::string_view method, std::string_view request_uri)
    : method_(sanitize_header_name(method)), request_uri_(sanitize_uri(request_uri)) {}

RequestBuilder& RequestBuilder::via(std::string_view transport, std::string_view sent_by,
                                    std::string_view branch, bool rport) {
  branch_ = sanitize_header_name(branch);
  via_ = "SIP/2.0/" + sanitize_header_name(transport) + " " + sanitize_uri(sent_by) +
         ";branch=" + branch_;
  if (rport) via_ += ";rport";  // RFC 3581 §3: ask for responses to our source port
  return *this;
}

RequestBuilder& RequestBuilder::max_forwards(int hops) {
  max_forwards_ = hops < 0 ? 0 : (hops > 255 ? 255 : hops);
  return *this;
}

RequestBuilder& RequestBuilder::route(std::string_view value) {
  std::string v = sanitize_header_value(value, 2048);
  if (!v.empty()) routes_.push_back(std::move(v));
  return *this;
}

RequestBuilder& RequestBuilder::clear_routes() {
  routes_.clear();
  return *this;
}

RequestBuilder& RequestBuilder::from(std::string_view uri, std::string_view display,
                                     std::string_view tag) {
  from_ = name_addr(uri, display, tag);
  return *this;
}

RequestBuilder& RequestBuilder::to(std::string_view uri, std::string_view display,
                                   std::string_view tag) {
  to_ = name_addr(uri, display, tag);
  return *this;
}

RequestBuilder& RequestBuilder::from_value(std::string_view value) {
  from_ = sanitize_header_value(value, 4096);
  return *this;
}

RequestBuilder& RequestBuilder::to_value(std::string_view value) {
  to_ = sanitize_header_value(value, 4096);
  return *this;
}

RequestBuilder& RequestBuilder::call_id(std::string_view id) {
  call_id_.clear();
  for (char c : id)
    if (static_cast<unsigned char>(c) > 0x20 && c != 0x7f && call_id_.size() < 256) call_id_ += c;
  return *this;
}

RequestBuilder& RequestBuilder::cseq(uint32_t number, std::string_view method) {
  cseq_ = number;
  cseq_method_ = sanitize_header_name(method);
  return *this;
}

RequestBuilder& RequestBuilder::contact(std::string_view value) {
  contact_ = sanitize_header_value(value, 2048);
  return *this;
}

RequestBuilder& RequestBuilder::header(std::string_view name, std::string_view value) {
  std::string n = sanitize_header_name(name);
  if (!n.empty()) headers_.emplace_back(std::move(n), sanitize_header_value(value));
  return *this;
}

RequestBuilder& RequestBuilder::body(std::string_view content_type, std::string body) {
  content_type_ = sanitize_header_value(content_type, 256);
  body_ = std::move(body);
  return *this;
}

RequestBuilder& RequestBuilder::clear_body() {
  content_type_.clear();
  body_.clear();
  return *this;
}

RequestBuilder& RequestBuilder::clear_headers() {
  headers_.clear();
  return *this;
}

RequestBuilder& RequestBuilder::set_method(std::string_view method) {
  method_ = sanitize_header_name(method);
  return *this;
}

std::string RequestBuilder::build() const {
  std::string out;
  out.reserve(512 + body_.size());
  out.append(method_).append(" ").append(request_uri_).append(" SIP/2.0\r\n");
  if (!via_.empty()) out.append("Via: ").append(via_).append("\r\n");
  out.append("Max-Forwards: ").append(std::to_string(max_forwards_)).append("\r\n");
  for (const std::string& r : routes_) out.append("Route: ").append(r).append("\r\n");
  out.append("From: ").append(from_).append("\r\n");
  out.append("To: ").append(to_).append("\r\n");
  out.append("Call-ID: ").append(call_id_).append("\r\n");
  out.append("CSeq: ").append(std::to_string(cseq_)).append(" ").append(cseq_method()).append("\r\n");
  if (!contact_.empty()) out.append("Contact: ").append(contact_).append("\r\n");
  for (const auto& [name, value] : headers_) out.append(name).append(": ").append(value).append("\r\n");
  if (!body_.empty()) out.append("Content-Type: ").append(content_type_).append("\r\n");
  out.append("Content-Length: ").append(std::to_string(body_.size())).append("\r\n\r\n");
  out.append(body_);
  return out;
}

RequestBuilder ack_for_non_2xx(const RequestBuilder& invite, std::string_view response_to) {
  RequestBuilder ack = invite;
  ack.set_method("ACK").cseq(invite.cseq_number(), "ACK").to_value(response_to);
  ack.clear_body().clear_headers().contact("");
  return ack;
}

RequestBuilder cancel_for(const RequestBuilder& request) {
  RequestBuilder cancel = request;
  cancel.set_method("CANCEL").cseq(request.cseq_number(), "CANCEL");
  cancel.clear_body().clear_headers().contact("");
  return cancel;
}

}  // namespace sip
