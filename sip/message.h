// sip/message.h — a parsed SIP request or response over the bytes it came in.
//
// The Message owns one buffer holding the received bytes; every string it hands
// out is a view into that buffer, valid as long as the Message lives (moving a
// Message keeps them valid). Headers the registrar and call control need are
// parsed and checked by the parser (sip/parser.h) and offered typed; all
// others stay raw and are found by name.
//
//   sip::ParseResult r = sip::parse_message(datagram);
//   if (!r.ok()) return reply(r.error().status, r.error().reason);
//   const sip::Message& m = r.message();
//   if (m.method_id() == sip::Method::kRegister)
//     for (const sip::NameAddr& c : m.contacts()) bind(m.to()->uri, c);
#ifndef SWITCHBOARD_SIP_MESSAGE_H_
#define SWITCHBOARD_SIP_MESSAGE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "sip/header_id.h"
#include "sip/name_addr.h"
#include "sip/uri.h"
#include "sip/via.h"

namespace sip {

enum class Method : uint8_t {
  kUnknown, kAck, kBye, kCancel, kInfo, kInvite, kMessage, kNotify, kOptions, kPrack,
  kPublish, kRefer, kRegister, kSubscribe, kUpdate,
};
// Methods are case-sensitive (RFC 3261 §7.1): "invite" is an unknown method.
Method method_id(std::string_view token);
std::string_view method_name(Method m);

struct HeaderField {
  HeaderId id = HeaderId::kOther;
  std::string_view name;   // as written ("v", "VIA", "NewFangledHeader")
  std::string_view value;  // trimmed; folded lines keep their CRLF WSP inside
};

struct CSeq {
  uint32_t seq = 0;
  std::string_view method;
};

// Splits a list header value on commas outside quotes and angle brackets.
// Calls `fn(value)` with each trimmed element; returns false if `fn` does.
template <typename Fn>
bool for_each_list_element(std::string_view value, Fn&& fn);

class Message {
 public:
  Message(Message&&) noexcept = default;
  Message& operator=(Message&&) noexcept = default;
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;

  bool is_request() const { return is_request_; }
  bool is_response() const { return !is_request_; }

  // Request-Line (requests only).
  std::string_view method() const { return method_; }
  Method method_id() const { return method_id_; }
  const Uri& request_uri() const { return request_uri_; }
  std::string_view version() const { return version_; }

  // Status-Line (responses only).
  int status_code() const { return status_code_; }
  std::string_view reason_phrase() const { return reason_; }

  // Every header line in order of appearance.
  std::span<const HeaderField> headers() const { return headers_; }
  // First header with this id or name (long or compact form, any case); nullptr if none.
  const HeaderField* find(HeaderId id) const;
  const HeaderField* find(std::string_view name) const;
  // Value of the first such header, "" when absent.
  std::string_view header(HeaderId id) const;
  // Number of header lines with this id (a comma list counts once).
  size_t count(HeaderId id) const;
  // Calls fn(value) for every element of every header line with this id.
  template <typename Fn>
  void for_each_value(HeaderId id, Fn&& fn) const {
    for (const HeaderField& h : headers_)
      if (h.id == id && !for_each_list_element(h.value, fn)) return;
  }

  // Typed headers (the first occurrence; duplicates are left to sip/validate.h).
  std::string_view call_id() const { return call_id_; }            // "" when absent
  const std::optional<CSeq>& cseq() const { return cseq_; }
  const std::optional<NameAddr>& from() const { return from_; }
  const std::optional<NameAddr>& to() const { return to_; }
  const std::optional<Via>& top_via() const { return top_via_; }
  size_t via_count() const { return via_count_; }
  std::vector<Via> vias() const;                                    // allocates: for tools and tests
  std::optional<uint32_t> max_forwards() const { return max_forwards_; }
  std::optional<uint32_t> expires() const { return expires_; }
  std::optional<uint32_t> min_expires() const { return min_expires_; }
  // Contact values; `contact_wildcard()` when the value is "*".
  size_t contact_count() const { return contact_count_; }
  bool contact_wildcard() const { return contact_wildcard_; }
  template <typename Fn>  // fn(const NameAddr&)
  void for_each_contact(Fn&& fn) const;
  std::vector<NameAddr> contacts() const;                           // allocates
  template <typename Fn>  // fn(const Via&)
  void for_each_via(Fn&& fn) const;

  // Content-Length as the header says (nullopt when absent); `content_length_conflict()`
  // when it appears more than once with different values (RFC 4475 §3.3.9).
  std::optional<uint32_t> content_length() const { return content_length_; }
  bool content_length_conflict() const { return content_length_conflict_; }
  std::string_view content_type() const { return header(HeaderId::kContentType); }
  std::string_view body() const { return body_; }

  // The bytes of this message as framed (trailing datagram noise excluded).
  std::string_view bytes() const { return bytes_; }

 private:
  friend class Parser;
  Message() = default;

  std::unique_ptr<char[]> storage_;
  std::string_view bytes_;
  bool is_request_ = true;
  std::string_view method_;
  Method method_id_ = Method::kUnknown;
  Uri request_uri_;
  std::string_view version_;
  int status_code_ = 0;
  std::string_view reason_;
  std::vector<HeaderField> headers_;

  std::string_view call_id_;
  std::optional<CSeq> cseq_;
  std::optional<NameAddr> from_, to_;
  std::optional<Via> top_via_;
  size_t via_count_ = 0;
  std::optional<uint32_t> max_forwards_, expires_, min_expires_, content_length_;
  bool content_length_conflict_ = false;
  size_t contact_count_ = 0;
  bool contact_wildcard_ = false;
  std::string_view body_;
};

// ---- implementation of the templates ----

template <typename Fn>
bool for_each_list_element(std::string_view value, Fn&& fn) {
  size_t start = 0;
  int angle = 0;
  bool quoted = false;
  auto emit = [&](size_t end) {
    std::string_view e = value.substr(start, end - start);
    while (!e.empty() && (e.front() == ' ' || e.front() == '\t' || e.front() == '\r' || e.front() == '\n'))
      e.remove_prefix(1);
    while (!e.empty() && (e.back() == ' ' || e.back() == '\t' || e.back() == '\r' || e.back() == '\n'))
      e.remove_suffix(1);
    return fn(e);
  };
  // Most values hold one element: no comma at all means no scan.
  if (value.find(',') == std::string_view::npos) return emit(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (quoted) {
      if (c == '\\') ++i;
      else if (c == '"') quoted = false;
    } else if (c == '"') {
      quoted = true;
    } else if (c == '<') {
      ++angle;
    } else if (c == '>') {
      if (angle > 0) --angle;
    } else if (c == ',' && angle == 0) {
      if (!emit(i)) return false;
      start = i + 1;
    }
  }
  return emit(value.size());
}

template <typename Fn>
void Message::for_each_contact(Fn&& fn) const {
  if (contact_wildcard_) return;
  for_each_value(HeaderId::kContact, [&](std::string_view v) {
    NameAddr na;
    if (parse_name_addr(v, na)) fn(na);
    return true;
  });
}

template <typename Fn>
void Message::for_each_via(Fn&& fn) const {
  for_each_value(HeaderId::kVia, [&](std::string_view v) {
    Via via;
    if (parse_via(v, via)) fn(via);
    return true;
  });
}

}  // namespace sip

#endif  // SWITCHBOARD_SIP_MESSAGE_H_
