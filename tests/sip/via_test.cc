// Via values: sent-protocol with LWS, sent-by with IPv6, branch, rport, received.
#include <gtest/gtest.h>

#include "sip/via.h"

namespace sip {
namespace {

Via parse(std::string_view text) {
  Via v;
  const char* why = nullptr;
  EXPECT_TRUE(parse_via(text, v, &why)) << text << ": " << (why ? why : "");
  return v;
}

TEST(Via, Fields) {
  Via v = parse("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;rport;received=198.51.100.3");
  EXPECT_EQ(v.protocol_name, "SIP");
  EXPECT_EQ(v.protocol_version, "2.0");
  EXPECT_EQ(v.transport, "UDP");
  EXPECT_EQ(v.host, "192.0.2.1");
  EXPECT_EQ(v.port, 5060);
  EXPECT_EQ(v.sent_by(), "192.0.2.1:5060");
  EXPECT_EQ(v.branch(), "z9hG4bK776asdhds");
  EXPECT_TRUE(v.rfc3261_branch());
  EXPECT_EQ(v.rport(), "");
  EXPECT_EQ(v.received(), "198.51.100.3");
}

TEST(Via, LwsEverywhereAndIpv6) {
  Via v = parse("SIP / 2.0 / TCP [2001:db8::9] : 5070 ; branch = z9hG4bKx ; maddr=[2001:db8::1]");
  EXPECT_EQ(v.transport, "TCP");
  EXPECT_EQ(v.host, "[2001:db8::9]");
  EXPECT_EQ(v.host_kind, HostKind::kIpv6);
  EXPECT_EQ(v.port, 5070);
  EXPECT_EQ(v.branch(), "z9hG4bKx");
  EXPECT_EQ(v.maddr(), "[2001:db8::1]");
}

TEST(Via, BareMagicCookieIsNotAn3261Branch) {
  EXPECT_FALSE(parse("SIP/2.0/UDP host;branch=z9hG4bK").rfc3261_branch());
  EXPECT_FALSE(parse("SIP/2.0/UDP host").rfc3261_branch());
}

TEST(Via, RejectsMalformed) {
  Via v;
  EXPECT_FALSE(parse_via("SIP/2.0 192.0.2.1", v));
  EXPECT_FALSE(parse_via("SIP/2.0/UDP", v));
  EXPECT_FALSE(parse_via("SIP/2.0/UDP 192.0.2.1;;", v));
  EXPECT_FALSE(parse_via("SIP/2.0/UDP 192.0.2.1;branch=", v));
  EXPECT_FALSE(parse_via("SIP/2.0/UDP 192.0.2.1:99999", v));
  EXPECT_FALSE(parse_via("SIP/2.0/UDP 192.0.2.1 junk", v));
}

}  // namespace
}  // namespace sip
