// sip/transport/udp_listener.cc — see udp_listener.h.
#include "sip/transport/udp_listener.h"

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/v6_only.hpp>

#include "sip/parser.h"
#include "sip/transport/socket_options.h"

namespace sip::transport {
namespace {

// CRLF keep-alives and stray whitespace carry no message.
bool is_keepalive(std::string_view bytes) {
  for (char c : bytes)
    if (c != '\r' && c != '\n' && c != ' ' && c != '\t' && c != '\0') return false;
  return true;
}

}  // namespace

UdpListener::UdpListener(boost::asio::io_context& io, const UdpOptions& options,
                         const sip::Limits& limits, Receiver& receiver, TransportCounters& counters)
    : socket_(io),
      options_(options),
      limits_(limits),
      receiver_(receiver),
      counters_(counters),
      buffer_(new char[kReceiveBufferBytes]) {}

bool UdpListener::open(const boost::asio::ip::udp::endpoint& at, boost::system::error_code& ec) {
  socket_.open(at.protocol(), ec);
  if (ec) return false;
  // An IPv6 socket must not also claim the IPv4 port: "udp:[::]:5060" and
  // "udp:0.0.0.0:5060" are separate listeners.
  if (at.address().is_v6()) socket_.set_option(boost::asio::ip::v6_only(true), ec);
  if (!ec && options_.reuse_port) socket_.set_option(ReusePort(true), ec);
  if (!ec) socket_.set_option(boost::asio::socket_base::receive_buffer_size(options_.receive_buffer_bytes), ec);
  if (!ec) socket_.set_option(boost::asio::socket_base::send_buffer_size(options_.send_buffer_bytes), ec);
  if (!ec) socket_.non_blocking(true, ec);
  if (!ec) socket_.bind(at, ec);
  if (!ec) local_ = socket_.local_endpoint(ec);
  if (ec) {
    boost::system::error_code ignored;
    socket_.close(ignored);
    return false;
  }
  return true;
}

void UdpListener::start() { receive(); }

void UdpListener::close() {
  boost::system::error_code ignored;
  socket_.close(ignored);
}

void UdpListener::receive() {
  socket_.async_receive_from(
      boost::asio::buffer(buffer_.get(), kReceiveBufferBytes), remote_,
      [this](const boost::system::error_code& ec, size_t size) {
        if (ec == boost::asio::error::operation_aborted || !socket_.is_open()) return;
        // Other errors (ICMP port unreachable reported as ECONNREFUSED, ...)
        // concern one earlier datagram, not the socket: keep receiving.
        if (!ec) on_datagram(size);
        receive();
      });
}

void UdpListener::on_datagram(size_t size) {
  bump(counters_.datagrams_received);
  std::string_view bytes(buffer_.get(), size);
  if (is_keepalive(bytes)) {
    bump(counters_.keepalives_received);
    return;
  }
  Source source;
  source.protocol = Protocol::kUdp;
  source.remote_address = remote_.address();
  source.remote_port = remote_.port();
  source.local_address = local_.address();
  source.local_port = local_.port();
  sip::ParseResult parsed = sip::parse_message(bytes, sip::Framing::kDatagram, limits_);
  receiver_.on_message(parsed, bytes, source);
}

bool UdpListener::send_to(const boost::asio::ip::udp::endpoint& to, std::string_view bytes) {
  boost::system::error_code ec;
  socket_.send_to(boost::asio::buffer(bytes.data(), bytes.size()), to, 0, ec);
  if (ec) {
    bump(counters_.datagram_send_failures);
    return false;
  }
  bump(counters_.datagrams_sent);
  return true;
}

}  // namespace sip::transport
