// sip/transport/connection_registry.cc — see connection_registry.h.
#include "sip/transport/connection_registry.h"

#include <atomic>
#include <cassert>

#include "sip/transport/tcp_connection.h"

namespace sip::transport {

ConnectionRegistry::ConnectionRegistry(unsigned worker) : worker_(worker) {
  assert(worker < kMaxWorkers);
}

ConnectionId ConnectionRegistry::next_id(unsigned worker) {
  assert(worker < kMaxWorkers);
  // 2^56 connections before the counter wraps: never, in practice.
  static std::atomic<ConnectionId> next{1};
  ConnectionId n = next.fetch_add(1, std::memory_order_relaxed);
  return (n << kWorkerBits) | ConnectionId(worker & (kMaxWorkers - 1));
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
