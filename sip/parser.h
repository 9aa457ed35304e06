// sip/parser.h — turns received bytes into a sip::Message, or says why not.
//
// One datagram is one message (RFC 3261 §18.3): the body is framed by
// Content-Length, bytes after it are ignored (RFC 4475 §3.1.1.8), and a missing
// Content-Length means the body runs to the end of the datagram (RFC 2543
// compatibility, RFC 4475 §3.4.1). Over a stream, sip/stream_framer.h cuts the
// bytes first and the parser sees exactly one message.
//
// The parser checks the syntax of the start line and of every header the
// registrar and call control rely on (Via, From, To, Call-ID, CSeq, Contact,
// Max-Forwards, Expires, Min-Expires, Content-Length, Route, Record-Route,
// Path); other headers stay opaque. Semantic checks (mandatory headers,
// duplicates, CSeq method) are sip/validate.h's job, so that a UAS can still
// answer such a message with a proper 400.
//
//   sip::ParseResult r = sip::parse_message(bytes);
//   if (!r.ok()) log(r.error().reason);   // r.error().status: 400, 505 or 513
#ifndef SWITCHBOARD_SIP_PARSER_H_
#define SWITCHBOARD_SIP_PARSER_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sip/limits.h"
#include "sip/message.h"

namespace sip {

enum class Framing : uint8_t { kDatagram, kStream };

struct ParseError {
  int status = 400;    // the SIP status a UAS answers with: 400, 414, 505 or 513
  std::string reason;  // for a person: "Via 2: empty parameter"
};

class ParseResult {
 public:
  explicit ParseResult(Message m) : message_(std::move(m)) {}
  explicit ParseResult(ParseError e) : error_(std::move(e)) {}
  bool ok() const { return message_.has_value(); }
  // REQUIRES: ok()
  Message& message() { return *message_; }
  const Message& message() const { return *message_; }
  // REQUIRES: !ok()
  const ParseError& error() const { return error_; }

 private:
  std::optional<Message> message_;
  ParseError error_;
};

// Copies `bytes` into the message's own buffer, then parses. Never throws.
ParseResult parse_message(std::string_view bytes, Framing framing = Framing::kDatagram,
                          const Limits& limits = Limits());
// Takes ownership of `data[0, size)` without copying.
ParseResult parse_message(std::unique_ptr<char[]> data, size_t size,
                          Framing framing = Framing::kDatagram, const Limits& limits = Limits());

}  // namespace sip

#endif  // SWITCHBOARD_SIP_PARSER_H_
