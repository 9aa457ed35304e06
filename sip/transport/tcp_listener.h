// sip/transport/tcp_listener.h — one TCP accepting socket of one worker thread.
//
// Every worker thread accepts on the same address (SO_REUSEPORT; the kernel
// spreads new connections), so a connection and everything received on it
// stay on the accepting thread. Beyond TcpOptions::max_connections open
// connections (counted across all threads) a new connection is accepted and
// closed at once: refusing in the kernel is impossible with a listen backlog,
// and an accepted-then-closed socket tells the client immediately instead of
// leaving it waiting. Accept errors such as EMFILE back off briefly instead of
// spinning.
//
// Threading: owned by one worker thread; start()/close() run on it (open()
// before the thread starts). close() it and stop the io_context before
// destroying.
#ifndef SWITCHBOARD_SIP_TRANSPORT_TCP_LISTENER_H_
#define SWITCHBOARD_SIP_TRANSPORT_TCP_LISTENER_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "sip/limits.h"
#include "sip/transport/connection_registry.h"
#include "sip/transport/receiver.h"
#include "sip/transport/tcp_connection.h"
#include "sip/transport/transport_counters.h"

namespace sip::transport {

class TcpListener {
 public:
  TcpListener(boost::asio::io_context& io, const TcpOptions& options, const sip::Limits& limits,
              Receiver& receiver, TransportCounters& counters, ConnectionRegistry& registry);
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;

  // Opens, binds and listens. False (with `ec`) when the address cannot be bound.
  bool open(const boost::asio::ip::tcp::endpoint& at, boost::system::error_code& ec);
  void start();
  // Stops accepting (open connections are the registry's to close). Idempotent.
  void close();

  const boost::asio::ip::tcp::endpoint& local_endpoint() const { return local_; }

 private:
  void accept();
  void on_accept(boost::asio::ip::tcp::socket socket);

  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  TcpOptions options_;
  sip::Limits limits_;
  Receiver& receiver_;
  TransportCounters& counters_;
  ConnectionRegistry& registry_;
  boost::asio::ip::tcp::endpoint local_;
};

}  // namespace sip::transport

#endif  // SWITCHBOARD_SIP_TRANSPORT_TCP_LISTENER_H_
