// TransportSet as a Sender, without the SIP server: UDP leaves from the bound
// socket; TCP goes over a connection by id, and fails once it is gone.
#include "sip/transport/transport_set.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "test_peer.h"

namespace {

using namespace std::chrono_literals;
using sip::transport::ListenAddress;
using sip::transport::Protocol;
using sip::transport::Source;

class NullReceiver : public sip::transport::Receiver {
 public:
  void on_message(sip::ParseResult&, std::string_view, const Source&) override { ++messages; }
  int messages = 0;
};

TEST(TransportSet, SendToAConnectionThatIsGoneFails) {
  boost::asio::io_context io(1);
  NullReceiver receiver;
  sip::transport::TransportCounters counters;
  sip::transport::TransportSet set(io, {}, receiver, counters);
  Source gone;
  gone.protocol = Protocol::kTcp;
  gone.connection = 987654321;
  EXPECT_FALSE(set.send(gone, "SIP/2.0 200 OK\r\n\r\n"));
  EXPECT_EQ(counters.tcp_send_failures.load(), 1u);
}

TEST(TransportSet, UdpSendLeavesFromTheBoundSocket) {
  boost::asio::io_context io(1);
  NullReceiver receiver;
  sip::transport::TransportCounters counters;
  sip::transport::TransportSet set(io, {}, receiver, counters);
  boost::system::error_code ec;
  auto bound = set.listen(*sip::transport::parse_listen_address("udp:127.0.0.1:0", nullptr), ec);
  ASSERT_TRUE(bound) << ec.message();
  ASSERT_NE(bound->port, 0);

  testpeer::UdpPeer peer;
  Source to;
  to.protocol = Protocol::kUdp;
  to.local_address = bound->address;
  to.local_port = bound->port;
  to.remote_address = boost::asio::ip::make_address("127.0.0.1");
  to.remote_port = peer.port();
  EXPECT_TRUE(set.send(to, "hello"));
  EXPECT_EQ(peer.receive(), "hello");
  EXPECT_EQ(counters.datagrams_sent.load(), 1u);
  set.close();
}

TEST(TransportSet, SecondListenerOnTheSamePortSharesItWithReusePort) {
  // What every worker thread does: same address, one socket each.
  boost::asio::io_context io(1);
  NullReceiver receiver;
  sip::transport::TransportCounters counters;
  sip::transport::TransportSet a(io, {}, receiver, counters), b(io, {}, receiver, counters);
  boost::system::error_code ec;
  auto first = a.listen(*sip::transport::parse_listen_address("tcp:127.0.0.1:0", nullptr), ec);
  ASSERT_TRUE(first) << ec.message();
  auto second = b.listen(*first, ec);
  ASSERT_TRUE(second) << ec.message();
  EXPECT_EQ(second->port, first->port);
  a.close();
  b.close();
}

}  // namespace
