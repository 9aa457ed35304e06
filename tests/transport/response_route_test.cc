// RFC 3261 §18.2.2 / RFC 3581 §4: where a response goes.
#include "sip/transport/response_route.h"

#include <gtest/gtest.h>

#include "sip/via.h"

namespace {

using sip::transport::Protocol;
using sip::transport::response_destination;
using sip::transport::Source;

Source udp_source() {
  Source s;
  s.protocol = Protocol::kUdp;
  s.remote_address = boost::asio::ip::make_address("192.0.2.7");
  s.remote_port = 40123;
  s.local_address = boost::asio::ip::make_address("127.0.0.1");
  s.local_port = 5060;
  return s;
}

sip::Via via(const char* text) {
  sip::Via v;
  EXPECT_TRUE(sip::parse_via(text, v)) << text;
  return v;
}

TEST(ResponseRoute, RportSendsToSourcePort) {
  sip::Via v = via("SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK1;rport");
  Source to = response_destination(&v, udp_source());
  EXPECT_EQ(to.remote_address.to_string(), "192.0.2.7");
  EXPECT_EQ(to.remote_port, 40123);
  EXPECT_EQ(to.local_port, 5060);
}

TEST(ResponseRoute, NoRportSendsToSourceIpAndSentByPort) {
  sip::Via v = via("SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK1");
  Source to = response_destination(&v, udp_source());
  EXPECT_EQ(to.remote_address.to_string(), "192.0.2.7");  // the received= address
  EXPECT_EQ(to.remote_port, 5062);
}

TEST(ResponseRoute, NoRportNoPortDefaultsTo5060) {
  sip::Via v = via("SIP/2.0/UDP client.test;branch=z9hG4bK1");
  EXPECT_EQ(response_destination(&v, udp_source()).remote_port, 5060);
}

TEST(ResponseRoute, MaddrIsIgnored) {
  sip::Via v = via("SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK1;maddr=239.1.1.1");
  Source to = response_destination(&v, udp_source());
  EXPECT_EQ(to.remote_address.to_string(), "192.0.2.7");
}

TEST(ResponseRoute, TcpStaysOnTheConnection) {
  Source s = udp_source();
  s.protocol = Protocol::kTcp;
  s.connection = 42;
  sip::Via v = via("SIP/2.0/TCP 10.0.0.1:5062;branch=z9hG4bK1");
  Source to = response_destination(&v, s);
  EXPECT_EQ(to.connection, 42u);
  EXPECT_EQ(to.remote_port, 40123);
}

TEST(ResponseRoute, NoViaMeansTheSource) {
  Source to = response_destination(static_cast<const sip::Via*>(nullptr), udp_source());
  EXPECT_EQ(to.remote_port, 40123);
}

TEST(Source, RemoteIpHasNoBracketsOrZone) {
  Source s;
  s.remote_address = boost::asio::ip::make_address("fe80::1%1");
  EXPECT_EQ(s.remote_ip(), "fe80::1");
  s.remote_address = boost::asio::ip::make_address("::1");
  s.remote_port = 5060;
  s.protocol = Protocol::kTcp;
  s.connection = 9;
  EXPECT_EQ(s.remote_ip(), "::1");
  EXPECT_EQ(s.to_string(), "tcp [::1]:5060 #9");
}

}  // namespace
