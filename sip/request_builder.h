// sip/request_builder.h — requests we originate (RFC 3261 §8.1.1), and the
// requests derived from them: the ACK of a non-2xx (§17.1.1.3) and CANCEL
// (§9.1).
//
// A RequestBuilder is a value holding the parts of one request as strings;
// build() writes it out. Keeping the parts (not only the bytes) is what lets a
// client transaction derive its ACK and a UAC its CANCEL without reparsing.
//
//   sip::RequestBuilder invite("INVITE", "sip:alice@192.0.2.4:5062");
//   invite.via("UDP", "192.0.2.1:5060", sip::new_branch(tag))
//         .route("<sip:edge.example;lr>")
//         .from("sip:switchboard@acme.example", "Switchboard", from_tag)
//         .to("sip:alice@acme.example", "", "")
//         .call_id(call_id).cseq(1)
//         .contact("<sip:switchboard@192.0.2.1:5060>")
//         .header("X-Campaign", value)            // CR, LF and NUL are removed
//         .body("application/sdp", offer);
//   std::string wire = invite.build();
//   std::string cancel = sip::cancel_for(invite).build();
//
// Injection safety: every value set here (URIs, display names, tags, header
// names and values, Call-ID) has CR, LF and NUL removed before it is stored,
// so text from an API caller can never start a header of its own. Display
// names are written as quoted-strings with '"' and '\' escaped. Header names
// keep token characters only.
//
// Threading: a value; no shared state.
#ifndef SWITCHBOARD_SIP_REQUEST_BUILDER_H_
#define SWITCHBOARD_SIP_REQUEST_BUILDER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sip {

// `s` without CR, LF and NUL (and other C0 controls but HTAB), at most
// `max_bytes` long: safe inside a header value.
std::string sanitize_header_value(std::string_view s, size_t max_bytes = 1024);
// `s` with only token characters kept (RFC 3261 §25.1): safe as a header name.
std::string sanitize_header_name(std::string_view s);
// A quoted-string for a display name: "\"Alice \\\"A\\\" Smith\"" (sanitized first).
std::string quote_display_name(std::string_view name);
// A SIP quoted-string (RFC 3261 §25.1) of `value`, sanitized as above to at
// most `max_bytes`, with '"' and '\\' escaped.
std::string quoted_string(std::string_view value, size_t max_bytes);
// "z9hG4bK" + `unique`: an RFC 3261 branch (§8.1.1.7). `unique` must be
// random (a TagSource value), so branches never repeat across restarts.
std::string make_branch(std::string_view unique);

class RequestBuilder {
 public:
  RequestBuilder() = default;
  RequestBuilder(std::string_view method, std::string_view request_uri);

  // The top (and only) Via: "SIP/2.0/{transport} {sent_by};branch={branch}[;rport]".
  RequestBuilder& via(std::string_view transport, std::string_view sent_by,
                      std::string_view branch, bool rport = true);
  RequestBuilder& max_forwards(int hops);
  // Appends one Route value ("<sip:edge.example;lr>"); Routes keep their order.
  RequestBuilder& route(std::string_view value);
  RequestBuilder& clear_routes();
  // From / To as name-addr: `display` "" for none, `tag` "" for none.
  RequestBuilder& from(std::string_view uri, std::string_view display, std::string_view tag);
  RequestBuilder& to(std::string_view uri, std::string_view display, std::string_view tag);
  // From / To as whole values (tag included), e.g. as a response carried
  // them: for ACK and in-dialog requests.
  RequestBuilder& from_value(std::string_view value);
  RequestBuilder& to_value(std::string_view value);
  RequestBuilder& call_id(std::string_view id);
  // CSeq number; the method is the request's unless `method` is given.
  RequestBuilder& cseq(uint32_t number, std::string_view method = {});
  RequestBuilder& contact(std::string_view value);  // a whole value: "<sip:…>"
  // Any other header, after the standard ones, in order of the calls.
  RequestBuilder& header(std::string_view name, std::string_view value);
  RequestBuilder& body(std::string_view content_type, std::string body);
  RequestBuilder& clear_body();
  RequestBuilder& clear_headers();  // the extra headers only
  RequestBuilder& set_method(std::string_view method);

  // The request as sent: request line, Via, Max-Forwards, Route…, From, To,
  // Call-ID, CSeq, Contact, extra headers, Content-Type, Content-Length, body.
  std::string build() const;

  const std::string& method() const { return method_; }
  const std::string& request_uri() const { return request_uri_; }
  const std::string& branch() const { return branch_; }
  const std::string& via_value() const { return via_; }
  const std::string& from_value() const { return from_; }
  const std::string& to_header() const { return to_; }
  const std::string& call_id_value() const { return call_id_; }
  uint32_t cseq_number() const { return cseq_; }
  const std::string& cseq_method() const { return cseq_method_.empty() ? method_ : cseq_method_; }
  const std::vector<std::string>& routes() const { return routes_; }
  const std::string& body_value() const { return body_; }

 private:
  std::string method_;
  std::string request_uri_;
  std::string via_;
  std::string branch_;
  int max_forwards_ = 70;
  std::vector<std::string> routes_;
  std::string from_, to_, call_id_;
  uint32_t cseq_ = 1;
  std::string cseq_method_;
  std::string contact_;
  std::vector<std::pair<std::string, std::string>> headers_;
  std::string content_type_, body_;
};

// The ACK of a non-2xx final response to `invite` (§17.1.1.3): the INVITE's
// Request-URI, top Via (same branch), Call-ID, From, Route set and CSeq
// number; To from the response (with its tag); no body.
RequestBuilder ack_for_non_2xx(const RequestBuilder& invite, std::string_view response_to);

// CANCEL of `request` (§9.1): same Request-URI, Call-ID, From, To, CSeq
// number, top Via and Route set; method CANCEL; no body.
RequestBuilder cancel_for(const RequestBuilder& request);

}  // namespace sip

#endif  // SWITCHBOARD_SIP_REQUEST_BUILDER_H_
