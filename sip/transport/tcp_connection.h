// sip/transport/tcp_connection.h — one accepted TCP connection (a "flow" in
// RFC 5626 terms).
//
// Reads are cut into messages by a sip::StreamFramer: partial reads and
// several messages per read both work; each message is parsed with
// Framing::kStream and handed to the Receiver. An RFC 5626 §4.4.1 double-CRLF
// ping is answered with a single CRLF pong. A framing error is final — no later
// byte can be trusted to start a message — so the connection closes.
//
// Bounds: reads are at most `read_chunk_bytes` per turn, so one busy
// connection yields to the others between reads; the framer bounds buffered
// bytes by Limits::max_message_bytes; the write queue is bounded by
// `max_write_queue_bytes` and a peer that does not read is disconnected rather
// than allowed to grow it. A connection silent (nothing received) for
// `idle_timeout` is closed.
//
// Threading: lives on the worker thread that accepted it; every method runs
// there. Owned by the ConnectionRegistry while open and by its own pending
// operations (shared_from_this) until they complete.
#ifndef SWITCHBOARD_SIP_TRANSPORT_TCP_CONNECTION_H_
#define SWITCHBOARD_SIP_TRANSPORT_TCP_CONNECTION_H_

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "sip/limits.h"
#include "sip/stream_framer.h"
#include "sip/transport/receiver.h"
#include "sip/transport/source.h"
#include "sip/transport/transport_counters.h"

namespace sip::transport {

class ConnectionRegistry;

struct TcpOptions {
  size_t max_connections = 4096;                  // across all threads of a server
  std::chrono::milliseconds idle_timeout{300'000};  // 0: never close idle connections
  size_t max_write_queue_bytes = 1 << 20;
  size_t read_chunk_bytes = 16 * 1024;
  int backlog = 1024;
  bool reuse_port = true;  // several threads accept on the same address
};

class TcpConnection : public std::enable_shared_from_this<TcpConnection> {
 public:
  TcpConnection(boost::asio::ip::tcp::socket socket, ConnectionId id, const TcpOptions& options,
                const sip::Limits& limits, Receiver& receiver, TransportCounters& counters,
                ConnectionRegistry& registry);
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  // Starts reading and the idle timer.
  void start();
  // Queues bytes for writing; false when closed or when the queue bound is
  // exceeded (the connection is then closed: the peer is not reading).
  bool send(std::string bytes);
  // Closes the socket, leaves the registry, tells the Receiver. Idempotent.
  void close(std::string_view why);

  ConnectionId id() const { return source_.connection; }
  const Source& source() const { return source_; }
  bool is_open() const { return !closed_; }

 private:
  void read();
  void on_read(const boost::system::error_code& ec, size_t size);
  void write_next();
  void arm_idle_timer();

  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer idle_timer_;
  TcpOptions options_;
  sip::Limits limits_;
  Receiver& receiver_;
  TransportCounters& counters_;
  ConnectionRegistry& registry_;
  Source source_;
  sip::StreamFramer framer_;
  std::unique_ptr<char[]> read_buffer_;
  std::deque<std::string> write_queue_;
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool closed_ = false;
  std::chrono::steady_clock::time_point last_received_;
};

}  // namespace sip::transport

#endif  // SWITCHBOARD_SIP_TRANSPORT_TCP_CONNECTION_H_
