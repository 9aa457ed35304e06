// sip/response.h — responses built per RFC 3261 §8.2.6, and message serialization.
//
// A response copies the request's Via values (in order), From, To (adding a tag
// when the request's To had none, except for 100), Call-ID and CSeq, and ends
// with Content-Length. RFC 3581: when the request reached us from an address
// other than its top Via's sent-by, or with `rport`, the top Via gets
// `received=` and `rport=` filled in (RFC 3261 §18.2.1).
//
//   std::string wire = sip::ResponseBuilder(request, 200)
//                          .to_tag(tag)
//                          .received_from("192.0.2.7", 40123)
//                          .header("Allow", "INVITE, ACK, OPTIONS")
//                          .build();
#ifndef SWITCHBOARD_SIP_RESPONSE_H_
#define SWITCHBOARD_SIP_RESPONSE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sip/message.h"

namespace sip {

// The RFC 3261 §21 reason phrase of a status code ("Not Found"); "" if unknown.
std::string_view default_reason(int status);

class ResponseBuilder {
 public:
  // REQUIRES: request.is_request(); 100 <= status <= 699.
  ResponseBuilder(const Message& request, int status, std::string_view reason = {});

  // Tag to put in To when the request's To has none (ignored otherwise, and for 100).
  ResponseBuilder& to_tag(std::string_view tag);
  // The transport source of the request: fills received / rport of the top Via.
  ResponseBuilder& received_from(std::string_view ip, uint16_t port);
  // Extra header (name and value written as given; CR/LF in them are dropped).
  ResponseBuilder& header(std::string_view name, std::string_view value);
  ResponseBuilder& body(std::string_view content_type, std::string_view body);

  std::string build() const;

 private:
  const Message& request_;
  int status_;
  std::string reason_;
  std::string to_tag_;
  std::string received_ip_;
  uint16_t received_port_ = 0;
  bool have_source_ = false;
  std::vector<std::pair<std::string, std::string>> extra_;
  std::string content_type_, body_;
};

// What a response needs from its request, copied, so that the response can be
// built after the request is gone (a registrar answers after its store commits).
//
//   sip::ResponseContext ctx(request, tag, source_ip, source_port);   // now
//   ...
//   send(ctx.build(200, "", {{"Contact", contacts}, {"Date", date}})); // later, any thread
class ResponseContext {
 public:
  ResponseContext(const Message& request, std::string_view to_tag, std::string_view source_ip,
                  uint16_t source_port);
  // A complete response; `headers` are added after CSeq (CR/LF removed).
  std::string build(int status, std::string_view reason,
                    const std::vector<std::pair<std::string, std::string>>& headers) const;

 private:
  std::string head_;  // Via..CSeq lines, To with the tag for non-100 responses
};

// The top Via value with received/rport set as RFC 3261 §18.2.1 and RFC 3581 say.
std::string via_with_received(const Via& via, std::string_view source_ip, uint16_t source_port);

// A stateless error response for bytes that did not parse: copies whatever Via,
// From, To, Call-ID and CSeq lines can be found. nullopt when the bytes do not
// look like a request or carry no Via (then there is nowhere to answer).
std::optional<std::string> build_error_for_unparsed(std::string_view bytes, int status,
                                                    std::string_view reason,
                                                    std::string_view source_ip,
                                                    uint16_t source_port,
                                                    std::string_view to_tag);

// Writes a message in canonical form: the start line, every header with its
// long name and unfolded value, Content-Length matching the body, the body.
// Parsing the output gives the same message (the round trip the tests check).
std::string serialize(const Message& m);

}  // namespace sip

#endif  // SWITCHBOARD_SIP_RESPONSE_H_
