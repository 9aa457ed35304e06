// Listen address parsing: the forms the command line accepts, and a clear
// error for each way to get it wrong.
#include "sip/transport/listen_address.h"

#include <gtest/gtest.h>

namespace {

using sip::transport::ListenAddress;
using sip::transport::parse_listen_address;
using sip::transport::Protocol;

TEST(ListenAddress, ParsesIpv4Udp) {
  std::string error;
  auto a = parse_listen_address("udp:127.0.0.1:5060", &error);
  ASSERT_TRUE(a) << error;
  EXPECT_EQ(a->protocol, Protocol::kUdp);
  EXPECT_EQ(a->address.to_string(), "127.0.0.1");
  EXPECT_EQ(a->port, 5060);
  EXPECT_EQ(a->to_string(), "udp:127.0.0.1:5060");
}

TEST(ListenAddress, ParsesBracketedIpv6Tcp) {
  std::string error;
  auto a = parse_listen_address("tcp:[::1]:5070", &error);
  ASSERT_TRUE(a) << error;
  EXPECT_EQ(a->protocol, Protocol::kTcp);
  EXPECT_TRUE(a->address.is_v6());
  EXPECT_EQ(a->address.to_string(), "::1");
  EXPECT_EQ(a->port, 5070);
  EXPECT_EQ(a->host_port(), "[::1]:5070");
  EXPECT_EQ(a->to_string(), "tcp:[::1]:5070");
}

TEST(ListenAddress, ParsesWildcardAndPortZeroAndUpperCaseTransport) {
  auto any = parse_listen_address("udp:0.0.0.0:5060", nullptr);
  ASSERT_TRUE(any);
  EXPECT_TRUE(any->address.is_unspecified());
  auto any6 = parse_listen_address("UDP:[::]:0", nullptr);
  ASSERT_TRUE(any6);
  EXPECT_TRUE(any6->address.is_v6());
  EXPECT_EQ(any6->port, 0);
  EXPECT_EQ(any6->protocol, Protocol::kUdp);
}

TEST(ListenAddress, RoundTripsThroughToString) {
  for (const char* text : {"udp:10.1.2.3:1", "tcp:[2001:db8::7]:65535", "udp:[::]:0"}) {
    auto a = parse_listen_address(text, nullptr);
    ASSERT_TRUE(a) << text;
    EXPECT_EQ(a->to_string(), text);
    EXPECT_EQ(parse_listen_address(a->to_string(), nullptr), a);
  }
}

struct BadCase {
  const char* text;
  const char* expected_fragment;
};

class ListenAddressErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(ListenAddressErrors, SaysWhatIsWrong) {
  std::string error;
  EXPECT_FALSE(parse_listen_address(GetParam().text, &error));
  EXPECT_NE(error.find(GetParam().expected_fragment), std::string::npos)
      << "text: " << GetParam().text << "\nerror: " << error;
}

INSTANTIATE_TEST_SUITE_P(
    All, ListenAddressErrors,
    ::testing::Values(BadCase{"", "empty"},
                      BadCase{"foo", "expected TRANSPORT:ADDRESS:PORT"},
                      BadCase{"sctp:127.0.0.1:5060", "unknown transport \"sctp\""},
                      BadCase{"tls:127.0.0.1:5061", "unknown transport \"tls\""},
                      BadCase{":127.0.0.1:5060", "missing transport"},
                      BadCase{"udp:127.0.0.1", "missing port"},
                      BadCase{"udp:127.0.0.1:", "bad port"},
                      BadCase{"udp:127.0.0.1:65536", "bad port \"65536\""},
                      BadCase{"udp:127.0.0.1:50x0", "bad port"},
                      BadCase{"udp:127.0.0.1:-1", "bad port"},
                      BadCase{"udp:1.2.3:5060", "bad address \"1.2.3\""},
                      BadCase{"udp:localhost:5060", "host names are not accepted"},
                      BadCase{"udp::5060", "missing address"},
                      BadCase{"tcp:::1:5060", "must be in brackets"},
                      BadCase{"tcp:[::1:5060", "without ']'"},
                      BadCase{"tcp:[::1]", "missing port"},
                      BadCase{"tcp:[::1]x5060", "after the IPv6 address"},
                      BadCase{"tcp:[1.2.3.4]:5060", "not an IPv6 address"},
                      BadCase{"tcp:[]:5060", "not an IPv6 address"}));

}  // namespace
