// sip/transport/connection_registry.h — the open TCP connections of one
// worker thread, by id.
//
// Responses and (later) requests towards a registered flow find their
// connection here. Ids come from one process-wide counter, so an id never
// names two connections, even across threads: a stale id simply finds nothing.
//
// Threading: one registry per worker thread, used only on that thread (no locks).
#ifndef SWITCHBOARD_SIP_TRANSPORT_CONNECTION_REGISTRY_H_
#define SWITCHBOARD_SIP_TRANSPORT_CONNECTION_REGISTRY_H_

#include <memory>
#include <unordered_map>

#include "sip/transport/source.h"

namespace sip::transport {

class TcpConnection;

class ConnectionRegistry {
 public:
  // A fresh id (thread-safe).
  static ConnectionId next_id();

  void add(std::shared_ptr<TcpConnection> connection);
  void remove(ConnectionId id);
  // nullptr when the connection has closed.
  std::shared_ptr<TcpConnection> find(ConnectionId id) const;
  size_t size() const { return connections_.size(); }
  // Closes every connection (server shutdown).
  void close_all();

 private:
  std::unordered_map<ConnectionId, std::shared_ptr<TcpConnection>> connections_;
};

}  // namespace sip::transport

#endif  // SWITCHBOARD_SIP_TRANSPORT_CONNECTION_REGISTRY_H_
