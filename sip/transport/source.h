// sip/transport/source.h — where a message came from, and how bytes go back.
//
// A Source is a plain value the transport attaches to every received message:
// the transport (UDP or TCP), the remote and local endpoints and, for TCP, the
// connection it arrived on. Responses are routed from it (response_route.h)
// and sent through a Sender: UDP datagrams leave from the socket bound to
// `local` (so the peer sees the address it sent to), TCP bytes go back over
// the same connection, found by id — when that connection has closed, the send
// fails and nothing is opened in its place (RFC 3261 §18.2.2 would allow a new
// connection; a registrar behind NAT cannot reach the client that way anyway).
//
// Threading: Source is a value. A Sender belongs to one worker thread (the one
// whose io_context runs the listeners) and is only called on that thread.
#ifndef SWITCHBOARD_SIP_TRANSPORT_SOURCE_H_
#define SWITCHBOARD_SIP_TRANSPORT_SOURCE_H_

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <cstdint>
#include <string>

#include "sip/transport/listen_address.h"

namespace sip::transport {

// Identifies one TCP connection for its whole life; never reused within a
// process. 0 means "no connection" (UDP).
using ConnectionId = uint64_t;

struct Source {
  Protocol protocol = Protocol::kUdp;
  boost::asio::ip::address remote_address;
  uint16_t remote_port = 0;
  boost::asio::ip::address local_address;  // the listener's bound address (may be 0.0.0.0)
  uint16_t local_port = 0;
  ConnectionId connection = 0;             // TCP only

  // Reliable transports run Timer J = 0 and never see retransmissions.
  bool reliable() const { return protocol == Protocol::kTcp; }
  // The remote IP as text for Via received= (no brackets, no IPv6 zone).
  std::string remote_ip() const;
  boost::asio::ip::udp::endpoint remote_udp() const { return {remote_address, remote_port}; }
  boost::asio::ip::udp::endpoint local_udp() const { return {local_address, local_port}; }
  // "udp 192.0.2.1:5060" / "tcp [::1]:40000 #7", for logs.
  std::string to_string() const;
};

// An IP as it appears in a Via received= parameter: IPv4 dotted, IPv6 without
// brackets and without a zone index (RFC 3261 §18.2.1 / §25.1 has no zones).
std::string ip_text(const boost::asio::ip::address& address);

// Sends bytes back towards a Source. Implemented by the per-thread
// TransportSet; tests may fake it.
class Sender {
 public:
  virtual ~Sender() = default;
  // UDP: one datagram from `to.local_*` to `to.remote_*`. TCP: queued on
  // connection `to.connection`. Returns false when nothing was sent: the
  // connection is gone, its write queue is full, or the socket refused.
  virtual bool send(const Source& to, std::string bytes) = 0;
};

}  // namespace sip::transport

#endif  // SWITCHBOARD_SIP_TRANSPORT_SOURCE_H_
