// The SIP server over IPv6 loopback ([::1]), UDP and TCP. Skipped where the
// host has no IPv6 loopback.
#include <gtest/gtest.h>

#include "server_fixture.h"

namespace {

using namespace testpeer;

class Ipv6 : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!ipv6_loopback_available()) GTEST_SKIP() << "::1 is not available here";
    server_ = std::make_unique<RunningServer>(loopback_options(/*ipv6=*/true), /*ipv6=*/true);
    ASSERT_TRUE(server_->started());
  }
  std::unique_ptr<RunningServer> server_;
};

TEST_F(Ipv6, UdpOptionsGets200WithIpv6Received) {
  UdpPeer client(/*ipv6=*/true);
  ASSERT_TRUE(client.ok());
  RequestSpec spec;
  spec.via_host = "[::1]";
  spec.via_port = 5099;  // rport must win
  ASSERT_TRUE(client.send_to("::1", server_->udp_port(), make_request(spec)));
  auto r = parse_response(client.receive());
  ASSERT_TRUE(r);
  const sip::Message& m = r->message();
  EXPECT_EQ(m.status_code(), 200);
  EXPECT_EQ(m.top_via()->host, "[::1]");
  EXPECT_EQ(m.top_via()->rport(), std::to_string(client.port()));
  // RFC 3261 §25.1: received= holds the bare IPv6 address.
  EXPECT_EQ(m.top_via()->received(), "::1");
}

TEST_F(Ipv6, TcpOptionsGets200) {
  TcpPeer peer;
  ASSERT_TRUE(peer.connect("::1", server_->tcp_port()));
  RequestSpec spec;
  spec.transport = "TCP";
  spec.via_host = "[::1]";
  spec.via_port = peer.local_port();
  ASSERT_TRUE(peer.write(make_request(spec)));
  auto r = parse_response(peer.read_message());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->message().status_code(), 200);
  EXPECT_EQ(r->message().top_via()->transport, "TCP");
}

TEST_F(Ipv6, BoundAddressesAreIpv6) {
  auto udp = server_->server().bound_address(sip::transport::Protocol::kUdp, true);
  ASSERT_TRUE(udp);
  EXPECT_EQ(udp->address.to_string(), "::1");
  EXPECT_NE(udp->port, 0);
  EXPECT_EQ(udp->to_string(), "udp:[::1]:" + std::to_string(udp->port));
}

}  // namespace
