// sip/transport/connection_registry.cc — see connection_registry.h.
#include "sip/transport/connection_registry.h"

#include <atomic>

#include "sip/transport/tcp_connection.h"

namespace sip::transport {

ConnectionId ConnectionRegistry::next_id() {
  static std::atomic<ConnectionId> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

void ConnectionRegistry::add(std::shared_ptr<TcpConnection> connection) {
  ConnectionId id = connection->id();
  connections_.emplace(id, std::move(connection));
}

void ConnectionRegistry::remove(ConnectionId id) { connections_.erase(id); }

std::shared_ptr<TcpConnection> ConnectionRegistry::find(ConnectionId id) const {
  auto it = connections_.find(id);
  return it == connections_.end() ? nullptr : it->second;
}

void ConnectionRegistry::close_all() {
  // close() removes the connection from the map: iterate over a copy.
  auto connections = std::move(connections_);
  connections_.clear();
  for (auto& [id, connection] : connections) connection->close("server shutdown");
}

}  // namespace sip::transport
