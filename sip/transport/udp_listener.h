// sip/transport/udp_listener.h — one UDP socket of one worker thread.
//
// Each worker thread owns one UdpListener per UDP listen address, all bound to
// the same address with SO_REUSEPORT (see socket_options.h). A datagram is one
// message (RFC 3261 §18.3): it is parsed with Framing::kDatagram and handed to
// the Receiver with its Source. Datagrams holding only CR/LF/space (RFC 5626
// style keep-alives some clients send over UDP) and empty ones are counted and
// dropped.
//
// Sends never block the thread: the socket is non-blocking and a datagram that
// would block is dropped and counted — UDP may lose it anyway, and the
// transaction layer absorbs the retransmission that follows.
//
// Threading: owned by one worker thread; every method except open() and
// local_endpoint() must run on that thread (open() runs before the thread
// starts). Must outlive the pending receive, i.e. close() it and stop the
// io_context before destroying.
#ifndef SWITCHBOARD_SIP_TRANSPORT_UDP_LISTENER_H_
#define SWITCHBOARD_SIP_TRANSPORT_UDP_LISTENER_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <cstddef>
#include <memory>
#include <string_view>

#include "sip/limits.h"
#include "sip/transport/receiver.h"
#include "sip/transport/transport_counters.h"

namespace sip::transport {

struct UdpOptions {
  // SO_RCVBUF: a burst of REGISTERs must not overflow the kernel queue while
  // the thread is busy. Linux caps it at net.core.rmem_max (silently).
  int receive_buffer_bytes = 8 << 20;
  int send_buffer_bytes = 1 << 20;
  bool reuse_port = true;  // several threads share the address
};

class UdpListener {
 public:
  // Room for the largest UDP payload; bigger than Limits::max_message_bytes so
  // an oversized datagram is seen whole and answered 513, not truncated.
  static constexpr size_t kReceiveBufferBytes = 64 * 1024;

  UdpListener(boost::asio::io_context& io, const UdpOptions& options, const sip::Limits& limits,
              Receiver& receiver, TransportCounters& counters);
  UdpListener(const UdpListener&) = delete;
  UdpListener& operator=(const UdpListener&) = delete;

  // Opens and binds the socket. False (with `ec`) when the address cannot be bound.
  bool open(const boost::asio::ip::udp::endpoint& at, boost::system::error_code& ec);
  // Starts receiving. REQUIRES: open() succeeded.
  void start();
  // Stops receiving and closes the socket. Idempotent.
  void close();

  // One datagram to `to`; false when not sent.
  bool send_to(const boost::asio::ip::udp::endpoint& to, std::string_view bytes);

  const boost::asio::ip::udp::endpoint& local_endpoint() const { return local_; }

 private:
  void receive();
  void on_datagram(size_t size);

  boost::asio::ip::udp::socket socket_;
  UdpOptions options_;
  sip::Limits limits_;
  Receiver& receiver_;
  TransportCounters& counters_;
  boost::asio::ip::udp::endpoint local_;
  boost::asio::ip::udp::endpoint remote_;  // filled by each receive
  std::unique_ptr<char[]> buffer_;
};

}  // namespace sip::transport

#endif  // SWITCHBOARD_SIP_TRANSPORT_UDP_LISTENER_H_
