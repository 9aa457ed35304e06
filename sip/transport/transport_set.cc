// sip/transport/transport_set.cc — see transport_set.h.
#include "sip/transport/transport_set.h"

namespace sip::transport {

TransportSet::TransportSet(boost::asio::io_context& io, const TransportOptions& options,
                           Receiver& receiver, TransportCounters& counters, unsigned worker)
    : io_(io), options_(options), receiver_(receiver), counters_(counters), connections_(worker) {}

TransportSet::~TransportSet() = default;

std::optional<ListenAddress> TransportSet::listen(const ListenAddress& at,
                                                  boost::system::error_code& ec) {
  ListenAddress bound = at;
  if (at.protocol == Protocol::kUdp) {
    auto listener = std::make_unique<UdpListener>(io_, options_.udp, options_.limits, receiver_,
                                                  counters_);
    if (!listener->open({at.address, at.port}, ec)) return std::nullopt;
    bound.port = listener->local_endpoint().port();
    udp_.push_back(std::move(listener));
  } else {
    auto listener = std::make_unique<TcpListener>(io_, options_.tcp, options_.limits, receiver_,
                                                  counters_, connections_);
    if (!listener->open({at.address, at.port}, ec)) return std::nullopt;
    bound.port = listener->local_endpoint().port();
    tcp_.push_back(std::move(listener));
  }
  bound_.push_back(bound);
  return bound;
}

void TransportSet::start() {
  for (auto& l : udp_) l->start();
  for (auto& l : tcp_) l->start();
}

void TransportSet::close() {
  for (auto& l : udp_) l->close();
  for (auto& l : tcp_) l->close();
  connections_.close_all();
}

UdpListener* TransportSet::udp_listener_for(const Source& to) {
  for (auto& l : udp_) {
    const auto& local = l->local_endpoint();
    if (local.port() == to.local_port && local.address() == to.local_address) return l.get();
  }
  // No exact match (a Source made up by a caller): any socket of the family.
  for (auto& l : udp_)
    if (l->local_endpoint().address().is_v6() == to.remote_address.is_v6()) return l.get();
  return nullptr;
}

bool TransportSet::send(const Source& to, std::string bytes) {
  if (to.protocol == Protocol::kUdp) {
    UdpListener* listener = udp_listener_for(to);
    if (listener == nullptr) {
      bump(counters_.datagram_send_failures);
      return false;
    }
    return listener->send_to(to.remote_udp(), bytes);
  }
  std::shared_ptr<TcpConnection> connection = connections_.find(to.connection);
  if (!connection) {
    bump(counters_.tcp_send_failures);
    return false;
  }
  return connection->send(std::move(bytes));
}

}  // namespace sip::transport
