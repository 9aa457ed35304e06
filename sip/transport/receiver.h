// sip/transport/receiver.h — what the transport hands upwards.
//
// Listeners frame and parse; a Receiver (the SIP server's per-thread
// dispatcher) decides what to do with the result. Keep-alives (RFC 5626
// double-CRLF pings, empty datagrams) are answered or dropped inside the
// transport and never reach the Receiver.
//
// Threading: called on the worker thread that owns the listener, one call at a
// time. The Receiver may call Sender::send() from inside on_message().
#ifndef SWITCHBOARD_SIP_TRANSPORT_RECEIVER_H_
#define SWITCHBOARD_SIP_TRANSPORT_RECEIVER_H_

#include <string_view>

#include "sip/parser.h"
#include "sip/transport/source.h"

namespace sip::transport {

enum class ConnectionEvent { kAccepted, kRefused, kClosed };

class Receiver {
 public:
  virtual ~Receiver() = default;

  // One framed message (a datagram, or one message cut from a stream) and its
  // parse result. `raw` is the framed bytes, valid only during the call: the
  // error path needs them to answer an unparsable request statelessly.
  virtual void on_message(sip::ParseResult& parsed, std::string_view raw, const Source& source) = 0;

  // Connection life-cycle, for logs. `detail` says why a connection closed
  // ("idle", "peer closed", "framing error: ...", "write queue full").
  virtual void on_connection_event(const Source& source, ConnectionEvent event,
                                   std::string_view detail) {}
};

}  // namespace sip::transport

#endif  // SWITCHBOARD_SIP_TRANSPORT_RECEIVER_H_
