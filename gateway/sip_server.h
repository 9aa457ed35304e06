// gateway/sip_server.h — the SIP server: N worker threads, each with its own
// io_context, listeners on every listen address (SO_REUSEPORT), TCP
// connections, transaction table and dispatcher.
//
// Why per-thread everything: a datagram or connection stays on the thread
// whose socket received it, so the transaction table, the connection registry
// and the buffers are touched by one thread only — no locks on the data path.
// The kernel keeps a source on one socket (4-tuple hash), so retransmissions
// find their transaction.
//
//   switchboard::SipServerOptions options;
//   options.listen = {*sip::transport::parse_listen_address("udp:127.0.0.1:0", nullptr)};
//   options.threads = 2;
//   switchboard::SipServer server(std::move(options));
//   std::string error;
//   if (!server.start(&error)) die(error);
//   server.bound();   // the addresses with the ephemeral ports resolved
//   ...
//   server.stop();
//
// Threading: start(), stop() and the destructor from one controlling thread.
// counters() may be read from anywhere.
#ifndef SWITCHBOARD_GATEWAY_SIP_SERVER_H_
#define SWITCHBOARD_GATEWAY_SIP_SERVER_H_

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/json_log.h"
#include "gateway/request_handler.h"
#include "gateway/sip_counters.h"
#include "gateway/tag_source.h"
#include "sip/clock.h"
#include "sip/transaction/server_transaction_table.h"
#include "sip/transport/listen_address.h"
#include "sip/transport/transport_set.h"

namespace switchboard {

struct SipServerOptions {
  std::vector<sip::transport::ListenAddress> listen;  // at least one
  unsigned threads = 1;
  sip::transport::TransportOptions transport;
  sip::transaction::ServerTransactionTable::Options transactions;  // per thread
  std::shared_ptr<RequestHandler> handler;    // nullptr: DefaultRequestHandler
  std::shared_ptr<const sip::Clock> clock;    // nullptr: SystemClock
  TagSource tags;                             // empty: random_tag_source()
  Logger* logger = nullptr;                   // nullptr: silent
  std::chrono::milliseconds expiry_interval{500};
  // Called on the worker thread when a TCP connection closes (the registrar
  // drops its bindings). Must be quick and thread-safe. Empty: not called.
  std::function<void(const sip::transport::Source& connection, std::string_view reason)>
      on_connection_closed;
};

class SipServer {
 public:
  explicit SipServer(SipServerOptions options);
  ~SipServer();  // stop()
  SipServer(const SipServer&) = delete;
  SipServer& operator=(const SipServer&) = delete;

  // Binds every listen address on every thread, then starts the threads.
  // On failure nothing keeps running and `error` says which address failed
  // and why ("cannot listen on udp:127.0.0.1:5060: Address already in use").
  bool start(std::string* error);
  // Closes listeners and connections and joins the threads. Idempotent.
  void stop();

  // The addresses bound by start(), in the order of options.listen, with
  // ephemeral ports resolved.
  const std::vector<sip::transport::ListenAddress>& bound() const { return bound_; }
  // The first bound address of this transport (and IP family), if any.
  std::optional<sip::transport::ListenAddress> bound_address(sip::transport::Protocol protocol,
                                                             bool ipv6 = false) const;

  const SipCounters& counters() const { return counters_; }
  unsigned threads() const { return unsigned(workers_.size()); }
  bool running() const { return running_; }

 private:
  struct Worker;

  void close_unstarted();

  SipServerOptions options_;
  SipCounters counters_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<sip::transport::ListenAddress> bound_;
  bool running_ = false;
};

}  // namespace switchboard

#endif  // SWITCHBOARD_GATEWAY_SIP_SERVER_H_
