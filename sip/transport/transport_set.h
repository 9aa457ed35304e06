// sip/transport/transport_set.h — the listeners and connections of one worker
// thread, and the Sender that routes bytes back through them.
//
// A SIP server runs N worker threads, each with its own io_context and its own
// TransportSet bound to every listen address (SO_REUSEPORT). Everything here
// is single-threaded: no locks on the data path.
//
//   sip::transport::TransportSet set(io, options, receiver, counters);
//   auto bound = set.listen(address, ec);   // port 0 → the kernel's pick
//   set.start();                            // then io.run() on the worker thread
//   ...
//   set.send(destination, bytes);           // from the Receiver, same thread
//   set.close();                            // on the worker thread, at shutdown
//
// Threading: listen() before the worker thread runs the io_context; start(),
// send() and close() on the worker thread.
#ifndef SWITCHBOARD_SIP_TRANSPORT_TRANSPORT_SET_H_
#define SWITCHBOARD_SIP_TRANSPORT_TRANSPORT_SET_H_

#include <boost/asio/io_context.hpp>
#include <memory>
#include <optional>
#include <vector>

#include "sip/limits.h"
#include "sip/transport/connection_registry.h"
#include "sip/transport/listen_address.h"
#include "sip/transport/receiver.h"
#include "sip/transport/source.h"
#include "sip/transport/tcp_connection.h"
#include "sip/transport/tcp_listener.h"
#include "sip/transport/transport_counters.h"
#include "sip/transport/udp_listener.h"

namespace sip::transport {

struct TransportOptions {
  sip::Limits limits;
  UdpOptions udp;
  TcpOptions tcp;
};

class TransportSet final : public Sender {
 public:
  // `worker`: this set's index among the server's workers, encoded in the
  // ids of the connections it accepts (ConnectionRegistry::worker_of).
  // REQUIRES: worker < ConnectionRegistry::kMaxWorkers.
  TransportSet(boost::asio::io_context& io, const TransportOptions& options, Receiver& receiver,
               TransportCounters& counters, unsigned worker = 0);
  ~TransportSet() override;
  TransportSet(const TransportSet&) = delete;
  TransportSet& operator=(const TransportSet&) = delete;

  // Binds a listener. Returns the address actually bound (the port resolved
  // when `at.port` was 0), or nullopt with `ec`.
  std::optional<ListenAddress> listen(const ListenAddress& at, boost::system::error_code& ec);
  // Starts receiving and accepting on every listener.
  void start();
  // Closes every listener and connection. Idempotent.
  void close();

  // Sender: UDP from the listener bound to `to.local_*`; TCP over `to.connection`
  // (a connection that is gone counts in tcp_send_failures).
  bool send(const Source& to, std::string bytes) override;

  ConnectionRegistry& connections() { return connections_; }
  std::vector<ListenAddress> bound() const { return bound_; }

 private:
  UdpListener* udp_listener_for(const Source& to);

  boost::asio::io_context& io_;
  TransportOptions options_;
  Receiver& receiver_;
  TransportCounters& counters_;
  ConnectionRegistry connections_;
  std::vector<std::unique_ptr<UdpListener>> udp_;
  std::vector<std::unique_ptr<TcpListener>> tcp_;
  std::vector<ListenAddress> bound_;
};

}  // namespace sip::transport

#endif  // SWITCHBOARD_SIP_TRANSPORT_TRANSPORT_SET_H_
