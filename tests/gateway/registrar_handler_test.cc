// The registrar handler's mapping of a transport Source to the registrar's
// RequestContext, and what it advertises (Allow lists REGISTER).
#include "gateway/registrar_handler.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/address.hpp>

namespace {

using boost::asio::ip::make_address;

// Verifies a TCP source maps to transport, peer, listener and connection id.
TEST(RegistrarHandler, TcpSourceBecomesContext) {
  sip::transport::Source s;
  s.protocol = sip::transport::Protocol::kTcp;
  s.remote_address = make_address("192.0.2.10");
  s.remote_port = 40001;
  s.local_address = make_address("0.0.0.0");
  s.local_port = 5060;
  s.connection = 7;
  registrar::RequestContext c = switchboard::request_context(s, "tag1");
  EXPECT_EQ(c.transport, "tcp");
  EXPECT_EQ(c.source_ip, "192.0.2.10");
  EXPECT_EQ(c.source_port, 40001);
  EXPECT_EQ(c.local_address, "tcp:0.0.0.0:5060");
  EXPECT_EQ(c.connection_id, 7u);
  EXPECT_EQ(c.to_tag, "tag1");
}

// Verifies IPv6 addresses lose their brackets in source_ip but keep them in
// the listener, as in listen addresses.
TEST(RegistrarHandler, Ipv6UdpSourceBecomesContext) {
  sip::transport::Source s;
  s.protocol = sip::transport::Protocol::kUdp;
  s.remote_address = make_address("2001:db8::5");
  s.remote_port = 5062;
  s.local_address = make_address("::1");
  s.local_port = 5070;
  registrar::RequestContext c = switchboard::request_context(s, "t");
  EXPECT_EQ(c.transport, "udp");
  EXPECT_EQ(c.source_ip, "2001:db8::5");
  EXPECT_EQ(c.local_address, "udp:[::1]:5070");
  EXPECT_EQ(c.connection_id, 0u);
}

// Verifies the registrar advertises REGISTER in Allow.
TEST(RegistrarHandler, CapabilitiesAllowRegister) {
  switchboard::Capabilities c = switchboard::registrar_capabilities();
  EXPECT_NE(c.allow.find("REGISTER"), std::string::npos);
  EXPECT_NE(c.allow.find("OPTIONS"), std::string::npos);
}

}  // namespace
