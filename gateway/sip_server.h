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
// counters() may be read from anywhere; send() and local_for() may be called
// from any thread, workers included, at any time (also while stop() runs).
//
// Lifetime (send() racing stop()): send() registers itself in an atomic
// in-flight count, then checks the atomic running_ flag (both seq_cst), and
// only then touches workers_. stop() clears running_ and waits (yielding)
// until the in-flight count is 0 — so no send() is between its check and its
// post — before it stops, joins and (after the join) destroys the workers.
// Any later send() returns false. No lock is taken on the send path, so a
// busy sender cannot starve stop(). Work posted to a worker whose loop has
// already stopped is destroyed with its io_context, never run. bound_ is
// written by start() only before running_ is set; local_for() reads it under
// a small mutex.
//
// Connection ids encode their worker (ConnectionRegistry::worker_of), so
// threads are capped at ConnectionRegistry::kMaxWorkers (256).
#ifndef SWITCHBOARD_GATEWAY_SIP_SERVER_H_
#define SWITCHBOARD_GATEWAY_SIP_SERVER_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "gateway/json_log.h"
#include "gateway/request_handler.h"
#include "gateway/sip_counters.h"
#include "gateway/sip_metrics.h"
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
  // Called on the worker thread for every parsed SIP response (the responses
  // to requests we sent: client transactions). `raw` is the message's bytes,
  // valid only during the call: copy what is kept. The callee must be quick
  // and thread-safe (several workers call it at once). Empty: responses are
  // dropped (and counted), as before.
  std::function<void(std::string_view raw, const sip::transport::Source& source)> on_response;
  // INVITE server transactions (RFC 3261 §17.2.1 with RFC 6026): how long an
  // INVITE may stay in Proceeding waiting for the application's final
  // response before the transaction is dropped (a ringing call). Overrides
  // transactions.invite_proceeding_limit.
  std::chrono::seconds invite_proceeding_limit{300};
  // Prometheus counters by method/transport/code; nullptr: none. Must outlive the server.
  SipMetrics* metrics = nullptr;
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

  // Sends a SIP message (typically a request of a client transaction, or an
  // ACK/2xx retransmission of the call layer) towards `to`, from any thread.
  // UDP: a datagram from the listener bound to `to.local_address:local_port`
  //      (any worker's socket: they share the address with SO_REUSEPORT).
  // TCP: queued on connection `to.connection` on the worker that owns it.
  // Returns false when it cannot even be queued: server not running, no UDP
  // listener bound to exactly that local address and port, TCP connection 0
  // or naming a worker that does not exist (ConnectionId encodes the owning
  // worker). On a worker thread the send happens at once (UDP on that
  // worker's socket; TCP when it owns the connection) and the result is the
  // transport's; otherwise it is posted (UDP: to the worker chosen by a hash
  // of the destination, so one device's messages keep their order) and true
  // means "queued". A TCP connection found closed on its worker is
  // dropped silently (counters().transport.tcp_send_failures), as are other
  // failures after queuing: client transactions time out.
  bool send(const sip::transport::Source& to, std::string bytes);

  // The listener a message to `remote` over `protocol` would leave from when
  // no binding names one: the first bound address of that protocol and IP
  // family (IPv4 vs IPv6) as `remote`. nullopt when none (or before start()).
  std::optional<sip::transport::ListenAddress> local_for(sip::transport::Protocol protocol,
                                                         const boost::asio::ip::address& remote) const;

  // Graceful drain: while true, new REGISTERs and new INVITEs get 503 with
  // Retry-After (dispatcher.h); everything else goes on. Any thread.
  void set_draining(bool draining) { draining_.store(draining, std::memory_order_relaxed); }
  bool draining() const { return draining_.load(std::memory_order_relaxed); }

  const SipCounters& counters() const { return counters_; }
  unsigned threads() const { return unsigned(workers_.size()); }
  bool running() const { return running_; }

 private:
  struct Worker;

  void close_unstarted();
  // The worker whose thread is the calling thread, or nullptr.
  // REQUIRES: running_ seen true by a registered send() (see the header).
  Worker* current_worker() const;

  SipServerOptions options_;
  SipCounters counters_;
  std::atomic<bool> draining_{false};
  std::vector<std::unique_ptr<Worker>> workers_;
  mutable std::shared_mutex bound_mutex_;  // bound_ against local_for() on other threads
  std::vector<sip::transport::ListenAddress> bound_;
  std::atomic<bool> running_{false};
  std::atomic<int> sends_in_flight_{0};  // send() calls between their check and their post
};

}  // namespace switchboard

#endif  // SWITCHBOARD_GATEWAY_SIP_SERVER_H_
