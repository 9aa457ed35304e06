// sip/transport/socket_options.cc — see socket_options.h.
#include "sip/transport/socket_options.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ip/v6_only.hpp>

namespace sip::transport {
namespace {

template <typename Socket, typename Endpoint>
std::optional<uint16_t> probe(Socket& socket, const Endpoint& at, bool reuse_address,
                              boost::system::error_code& ec) {
  socket.open(at.protocol(), ec);
  if (ec) return std::nullopt;
  if (at.address().is_v6()) socket.set_option(boost::asio::ip::v6_only(true), ec);
  // TCP: SO_REUSEADDR ignores TIME_WAIT leftovers of a previous run but still
  // conflicts with a listening socket. UDP: without it, any holder conflicts.
  if (!ec && reuse_address) socket.set_option(boost::asio::socket_base::reuse_address(true), ec);
  if (!ec) socket.bind(at, ec);
  std::optional<uint16_t> port;
  if (!ec) {
    auto local = socket.local_endpoint(ec);
    if (!ec) port = local.port();
  }
  boost::system::error_code ignored;
  socket.close(ignored);
  return port;
}

}  // namespace

std::optional<uint16_t> probe_bind(const ListenAddress& at, boost::system::error_code& ec) {
  boost::asio::io_context io(1);
  if (at.protocol == Protocol::kUdp) {
    boost::asio::ip::udp::socket socket(io);
    return probe(socket, boost::asio::ip::udp::endpoint(at.address, at.port), false, ec);
  }
  boost::asio::ip::tcp::socket socket(io);
  return probe(socket, boost::asio::ip::tcp::endpoint(at.address, at.port), true, ec);
}

}  // namespace sip::transport
