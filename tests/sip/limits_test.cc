// Everything taken from the network is bounded, and each bound gives a clear
// error rather than a crash or unbounded memory.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sip/parser.h"

namespace sip {
namespace {

std::string request_with(const std::string& extra_headers, const std::string& ruri = "sip:acme.test") {
  return "OPTIONS " + ruri + " SIP/2.0\r\n" + extra_headers + "\r\n";
}

TEST(Limits, MessageSize) {
  std::string big = request_with("X-Pad: " + std::string(70000, 'a') + "\r\n");
  ParseResult r = parse_message(big);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 513);
}

TEST(Limits, HeaderCount) {
  std::string headers;
  for (int i = 0; i < 200; ++i) headers += "X-H: " + std::to_string(i) + "\r\n";
  ParseResult r = parse_message(request_with(headers));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().reason, testing::HasSubstr("too many headers"));
}

TEST(Limits, HeaderLength) {
  Limits limits;
  limits.max_header_bytes = 100;
  ParseResult r = parse_message(request_with("Subject: " + std::string(200, 'a') + "\r\n"),
                                Framing::kDatagram, limits);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().reason, testing::HasSubstr("header too long"));
}

TEST(Limits, UriLength) {
  ParseResult r = parse_message(request_with("", "sip:" + std::string(3000, 'a') + "@acme.test"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 414);
}

TEST(Limits, ViaCount) {
  std::string vias;
  for (int i = 0; i < 80; ++i) vias += "Via: SIP/2.0/UDP h" + std::to_string(i) + ";branch=z9hG4bK" + std::to_string(i) + "\r\n";
  ParseResult r = parse_message(request_with(vias));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().reason, testing::HasSubstr("too many Via"));
}

TEST(Limits, ContactCount) {
  std::string contacts = "Contact: ";
  for (int i = 0; i < 40; ++i) contacts += (i ? "," : "") + std::string("<sip:a@h") + std::to_string(i) + ">";
  ParseResult r = parse_message("REGISTER sip:acme.test SIP/2.0\r\n" + contacts + "\r\n\r\n");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().reason, testing::HasSubstr("too many Contact"));
}

TEST(Limits, ParameterCount) {
  std::string params;
  for (int i = 0; i < 100; ++i) params += ";p" + std::to_string(i);
  ParseResult r = parse_message(request_with("To: <sip:a@acme.test>" + params + "\r\n"));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().reason, testing::HasSubstr("too many parameters"));
}

// Truncations of a valid message at every byte must never crash or read out of bounds.
TEST(Limits, EveryTruncationIsHandled) {
  const std::string msg =
      "REGISTER sip:acme.test SIP/2.0\r\nVia: SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1;rport\r\n"
      "From: \"A\" <sip:a@acme.test>;tag=1\r\nTo: <sip:a@acme.test>\r\nCall-ID: x@y\r\n"
      "CSeq: 1 REGISTER\r\nContact: <sip:a@[2001:db8::1]>;expires=60\r\n"
      "Authorization: Digest username=\"a\", nonce=\"n\"\r\nContent-Length: 4\r\n\r\nbody";
  for (size_t n = 0; n <= msg.size(); ++n) {
    ParseResult r = parse_message(std::string_view(msg).substr(0, n));
    if (n == msg.size()) {
      EXPECT_TRUE(r.ok()) << r.error().reason;
    }
  }
}

}  // namespace
}  // namespace sip
