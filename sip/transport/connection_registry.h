// sip/transport/connection_registry.h — the open TCP connections of one
// worker thread, by id.
//
// Responses and (later) requests towards a registered flow find their
// connection here. Ids come from one process-wide counter, so an id never
// names two connections, even across threads: a stale id simply finds nothing.
// The low 8 bits of an id name the worker that owns the connection, so a
// sender on any thread knows where to post (SipServer::send):
//
//   ConnectionId id = ConnectionRegistry::next_id(3);   // (n << 8) | 3, n >= 1
//   ConnectionRegistry::worker_of(id) == 3;
//
// Hence at most kMaxWorkers (256) workers; 0 stays "no connection".
//
// Threading: one registry per worker thread, used only on that thread (no
// locks); next_id() and worker_of() from any thread.
#ifndef SWITCHBOARD_SIP_TRANSPORT_CONNECTION_REGISTRY_H_
#define SWITCHBOARD_SIP_TRANSPORT_CONNECTION_REGISTRY_H_

#include <memory>
#include <unordered_map>

#include "sip/transport/source.h"

namespace sip::transport {

class TcpConnection;

class ConnectionRegistry {
 public:
  static constexpr unsigned kWorkerBits = 8;
  static constexpr unsigned kMaxWorkers = 1u << kWorkerBits;

  // REQUIRES: worker < kMaxWorkers.
  explicit ConnectionRegistry(unsigned worker = 0);

  // A fresh id owned by `worker`: never 0, never reused in this process
  // (thread-safe). REQUIRES: worker < kMaxWorkers.
  static ConnectionId next_id(unsigned worker);
  // The worker index encoded in `id` (any thread).
  static unsigned worker_of(ConnectionId id) { return unsigned(id & (kMaxWorkers - 1)); }

  // The worker this registry belongs to; next_id(worker()) for its connections.
  unsigned worker() const { return worker_; }

  void add(std::shared_ptr<TcpConnection> connection);
  void remove(ConnectionId id);
  // nullptr when the connection has closed.
  std::shared_ptr<TcpConnection> find(ConnectionId id) const;
  size_t size() const { return connections_.size(); }
  // Closes every connection (server shutdown).
  void close_all();

 private:
  unsigned worker_;
  std::unordered_map<ConnectionId, std::shared_ptr<TcpConnection>> connections_;
};

}  // namespace sip::transport

#endif  // SWITCHBOARD_SIP_TRANSPORT_CONNECTION_REGISTRY_H_
