// sip/transport/tcp_listener.cc — see tcp_listener.h.
#include "sip/transport/tcp_listener.h"

#include <boost/asio/ip/v6_only.hpp>
#include <chrono>

#include "sip/transport/socket_options.h"

namespace sip::transport {

TcpListener::TcpListener(boost::asio::io_context& io, const TcpOptions& options,
                         const sip::Limits& limits, Receiver& receiver,
                         TransportCounters& counters, ConnectionRegistry& registry)
    : acceptor_(io),
      retry_timer_(io),
      options_(options),
      limits_(limits),
      receiver_(receiver),
      counters_(counters),
      registry_(registry) {}

bool TcpListener::open(const boost::asio::ip::tcp::endpoint& at, boost::system::error_code& ec) {
  acceptor_.open(at.protocol(), ec);
  if (ec) return false;
  if (at.address().is_v6()) acceptor_.set_option(boost::asio::ip::v6_only(true), ec);
  // SO_REUSEADDR: restart without waiting for TIME_WAIT of the previous run.
  if (!ec) acceptor_.set_option(boost::asio::socket_base::reuse_address(true), ec);
  if (!ec && options_.reuse_port) acceptor_.set_option(ReusePort(true), ec);
  if (!ec) acceptor_.bind(at, ec);
  if (!ec) acceptor_.listen(options_.backlog, ec);
  if (!ec) local_ = acceptor_.local_endpoint(ec);
  if (ec) {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    return false;
  }
  return true;
}

void TcpListener::start() { accept(); }

void TcpListener::close() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  retry_timer_.cancel();
}

void TcpListener::accept() {
  acceptor_.async_accept(
      [this](const boost::system::error_code& ec, boost::asio::ip::tcp::socket socket) {
        if (ec == boost::asio::error::operation_aborted || !acceptor_.is_open()) return;
        if (ec) {
          // EMFILE/ENFILE/ENOBUFS: accepting again at once would spin. The
          // pending connection stays in the backlog until we retry.
          retry_timer_.expires_after(std::chrono::milliseconds(100));
          retry_timer_.async_wait([this](const boost::system::error_code& wait_ec) {
            if (!wait_ec && acceptor_.is_open()) accept();
          });
          return;
        }
        on_accept(std::move(socket));
        accept();
      });
}

void TcpListener::on_accept(boost::asio::ip::tcp::socket socket) {
  int64_t before = counters_.tcp_active.fetch_add(1, std::memory_order_relaxed);
  if (before >= int64_t(options_.max_connections)) {
    counters_.tcp_active.fetch_sub(1, std::memory_order_relaxed);
    bump(counters_.tcp_refused);
    Source source;
    source.protocol = Protocol::kTcp;
    boost::system::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    if (!ec) {
      source.remote_address = remote.address();
      source.remote_port = remote.port();
    }
    source.local_address = local_.address();
    source.local_port = local_.port();
    socket.close(ec);
    receiver_.on_connection_event(source, ConnectionEvent::kRefused, "connection limit reached");
    return;
  }
  bump(counters_.tcp_accepted);
  auto connection = std::make_shared<TcpConnection>(
      std::move(socket), ConnectionRegistry::next_id(registry_.worker()), options_, limits_,
      receiver_, counters_, registry_);
  registry_.add(connection);
  receiver_.on_connection_event(connection->source(), ConnectionEvent::kAccepted, "");
  connection->start();
}

}  // namespace sip::transport
