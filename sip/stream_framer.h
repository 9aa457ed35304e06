// sip/stream_framer.h — cuts a TCP/TLS byte stream into SIP messages
// (RFC 3261 §18.3) and recognises RFC 5626 §4.4.1 keep-alive pings.
//
// Feed it what the socket read; take frames until it needs more. Partial
// reads, several messages in one read and CRLF pings between messages are all
// handled. A framing error (no, negative, duplicate-and-different or
// oversized Content-Length, oversized header block) is final: the connection
// must be closed, since no later byte can be trusted to start a message.
//
//   framer.append(data);
//   for (;;) {
//     sip::StreamFramer::Frame f = framer.next();
//     if (f.kind == Kind::kNeedMore) break;
//     if (f.kind == Kind::kPing) write("\r\n");          // the pong
//     if (f.kind == Kind::kMessage) handle(parse_message(f.bytes, Framing::kStream));
//     if (f.kind == Kind::kError) { close(); break; }
//   }
#ifndef SWITCHBOARD_SIP_STREAM_FRAMER_H_
#define SWITCHBOARD_SIP_STREAM_FRAMER_H_

#include <string>
#include <string_view>

#include "sip/limits.h"

namespace sip {

class StreamFramer {
 public:
  enum class Kind { kNeedMore, kMessage, kPing, kError };
  struct Frame {
    Kind kind = Kind::kNeedMore;
    std::string_view bytes;  // kMessage: valid until the next append() or next()
    std::string error;       // kError: why
  };

  explicit StreamFramer(const Limits& limits = Limits()) : limits_(limits) {}

  // Adds received bytes (call next() until kNeedMore before the next append).
  // Returns false once the framer has failed.
  bool append(std::string_view data);
  Frame next();
  // Bytes buffered but not yet framed.
  size_t buffered() const { return buffer_.size() - consumed_; }

 private:
  Frame fail(std::string why);

  Limits limits_;
  std::string buffer_;
  size_t consumed_ = 0;   // bytes of buffer_ already framed
  size_t scan_from_ = 0;  // where the search for the header end resumes
  bool failed_ = false;
  std::string error_;
};

}  // namespace sip

#endif  // SWITCHBOARD_SIP_STREAM_FRAMER_H_
