// Header names (case, compact forms), comma lists, folding and typed headers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sip/header_id.h"
#include "sip/lex.h"
#include "sip/parser.h"

namespace sip {
namespace {

TEST(HeaderId, LongNamesAnyCase) {
  EXPECT_EQ(header_id("Via"), HeaderId::kVia);
  EXPECT_EQ(header_id("VIA"), HeaderId::kVia);
  EXPECT_EQ(header_id("cOnTeNt-LeNgTh"), HeaderId::kContentLength);
  EXPECT_EQ(header_id("WWW-Authenticate"), HeaderId::kWwwAuthenticate);
  EXPECT_EQ(header_id("Proxy-Authorization"), HeaderId::kProxyAuthorization);
  EXPECT_EQ(header_id("X-Custom"), HeaderId::kOther);
  EXPECT_EQ(header_id(""), HeaderId::kOther);
  EXPECT_EQ(header_id("a-header-name-that-is-much-longer-than-any"), HeaderId::kOther);
}

TEST(HeaderId, EveryCompactForm) {
  const std::pair<char, HeaderId> compact[] = {
      {'a', HeaderId::kAcceptContact}, {'b', HeaderId::kReferredBy},
      {'c', HeaderId::kContentType},   {'d', HeaderId::kRequestDisposition},
      {'e', HeaderId::kContentEncoding}, {'f', HeaderId::kFrom},
      {'i', HeaderId::kCallId},        {'j', HeaderId::kRejectContact},
      {'k', HeaderId::kSupported},     {'l', HeaderId::kContentLength},
      {'m', HeaderId::kContact},       {'n', HeaderId::kIdentityInfo},
      {'o', HeaderId::kEvent},         {'r', HeaderId::kReferTo},
      {'s', HeaderId::kSubject},       {'t', HeaderId::kTo},
      {'u', HeaderId::kAllowEvents},   {'v', HeaderId::kVia},
      {'x', HeaderId::kSessionExpires}, {'y', HeaderId::kIdentity},
  };
  for (auto [c, id] : compact) {
    EXPECT_EQ(header_id(std::string_view(&c, 1)), id) << c;
    char upper = char(c - 32);
    EXPECT_EQ(header_id(std::string_view(&upper, 1)), id) << upper;
  }
  EXPECT_EQ(header_id("g"), HeaderId::kOther);
}

TEST(HeaderId, CanonicalNames) {
  EXPECT_EQ(header_name(HeaderId::kCallId), "Call-ID");
  EXPECT_EQ(header_name(HeaderId::kCSeq), "CSeq");
  EXPECT_EQ(header_name(HeaderId::kWwwAuthenticate), "WWW-Authenticate");
  EXPECT_EQ(header_name(HeaderId::kOther), "");
}

TEST(ListSplitting, CommasOutsideQuotesAndBrackets) {
  std::vector<std::string> parts;
  for_each_list_element(
      R"("Doe, John" <sip:j@x;a=1,2>;q=0.5 , <sip:k@y>,sip:z@w)", [&](std::string_view v) {
        parts.emplace_back(v);
        return true;
      });
  EXPECT_THAT(parts, testing::ElementsAre(R"("Doe, John" <sip:j@x;a=1,2>;q=0.5)", "<sip:k@y>", "sip:z@w"));
}

constexpr char kRegister[] =
    "REGISTER sip:acme.test SIP/2.0\r\n"
    "v: SIP/2.0/UDP 192.0.2.4:5062;branch=z9hG4bKnashds7;rport\r\n"
    "Max-Forwards: 70\r\n"
    "f: \"Alice\" <sip:alice@acme.test>;tag=456248\r\n"
    "t: <sip:alice@acme.test>\r\n"
    "i: 843817637684230@998sdasdh09\r\n"
    "CSeq: 1826 REGISTER\r\n"
    "m: <sip:alice@192.0.2.4:5062>;expires=3600, <sip:alice@198.51.100.7>;q=0.1\r\n"
    "Contact: <sip:alice@[2001:db8::4]>\r\n"
    "Expires: 7200\r\n"
    "k: path, outbound\r\n"
    "User-Agent: Yealink SIP-T46U 108.86.0.20\r\n"
    "l: 0\r\n"
    "\r\n";

TEST(Message, CompactFormsAreTyped) {
  ParseResult r = parse_message(kRegister);
  ASSERT_TRUE(r.ok()) << r.error().reason;
  const Message& m = r.message();
  EXPECT_EQ(m.method_id(), Method::kRegister);
  EXPECT_EQ(m.request_uri().host, "acme.test");
  EXPECT_EQ(m.top_via()->sent_by(), "192.0.2.4:5062");
  EXPECT_EQ(m.from()->tag(), "456248");
  EXPECT_EQ(m.to()->uri.user, "alice");
  EXPECT_EQ(m.call_id(), "843817637684230@998sdasdh09");
  EXPECT_EQ(m.cseq()->seq, 1826u);
  EXPECT_EQ(m.cseq()->method, "REGISTER");
  EXPECT_EQ(m.max_forwards(), 70u);
  EXPECT_EQ(m.expires(), 7200u);
  EXPECT_EQ(m.contact_count(), 3u);
  auto contacts = m.contacts();
  ASSERT_EQ(contacts.size(), 3u);
  EXPECT_EQ(contacts[0].param("expires"), "3600");
  EXPECT_EQ(contacts[1].param("q"), "0.1");
  EXPECT_EQ(contacts[2].uri.host, "[2001:db8::4]");
  EXPECT_EQ(m.header(HeaderId::kUserAgent), "Yealink SIP-T46U 108.86.0.20");
  EXPECT_EQ(m.find("supported"), m.find("k"));
  std::vector<std::string> supported;
  m.for_each_value(HeaderId::kSupported, [&](std::string_view v) {
    supported.emplace_back(v);
    return true;
  });
  EXPECT_THAT(supported, testing::ElementsAre("path", "outbound"));
  EXPECT_EQ(m.content_length(), 0u);
}

TEST(Message, FoldedHeaderValues) {
  ParseResult r = parse_message(
      "OPTIONS sip:acme.test SIP/2.0\r\n"
      "Via: SIP/2.0/UDP h1;branch=z9hG4bK1,\r\n"
      "   SIP/2.0/TCP h2;branch=z9hG4bK2\r\n"
      "From: <sip:a@acme.test>\r\n"
      "  ;tag=1\r\n"
      "To: <sip:b@acme.test>\r\nCall-ID: c\r\nCSeq: 1\r\n\tOPTIONS\r\nSubject: one\r\n two\r\n\r\n");
  ASSERT_TRUE(r.ok()) << r.error().reason;
  EXPECT_EQ(r.message().via_count(), 2u);
  EXPECT_EQ(r.message().from()->tag(), "1");
  EXPECT_EQ(r.message().cseq()->method, "OPTIONS");
  EXPECT_EQ(lex::unfold(r.message().header(HeaderId::kSubject)), "one two");
}

TEST(Message, CaseSensitiveMethods) {
  ParseResult r = parse_message(
      "register sip:acme.test SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
      "From: <sip:a@acme.test>;tag=1\r\nTo: <sip:a@acme.test>\r\nCall-ID: c\r\nCSeq: 1 register\r\n\r\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.message().method_id(), Method::kUnknown);
}

TEST(Message, MalformedLinesAreRejectedWithAReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"OPTIONS sip:a SIP/2.0\r\nNoColonHere\r\n\r\n", "without ':'"},
      {"OPTIONS sip:a SIP/2.0\r\n : empty\r\n\r\n", "continuation"},
      {"OPTIONS sip:a SIP/2.0\r\nBad Name: x\r\n\r\n", "not a token"},
      {"OPTIONS sip:a SIP/2.0\r\nCSeq: x OPTIONS\r\n\r\n", "CSeq"},
      {"OPTIONS sip:a SIP/2.0\r\nMax-Forwards: -1\r\n\r\n", "Max-Forwards"},
      {"OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/UDP\r\n\r\n", "Via"},
      {"OPTIONS sip:a SIP/2.0\r\nl: 5\r\n\r\nabc", "Content-Length exceeds"},
      {"OPTIONS sip:a SIP/2.0", "not terminated"},
      {"OPTIONS sip:a SIP/2.0\r\nTo: <sip:a>\r\n", "not terminated"},
      {"\r\n\r\n", "empty"},
      {"SIP/2.0 20 OK\r\n\r\n", "three digits"},
      {"SIP/2.0 700 Nope\r\n\r\n", "range"},
  };
  for (auto [bytes, why] : cases) {
    ParseResult r = parse_message(bytes);
    ASSERT_FALSE(r.ok()) << bytes;
    EXPECT_THAT(r.error().reason, testing::HasSubstr(why)) << bytes;
    EXPECT_EQ(r.error().status, 400) << bytes;
  }
}

TEST(Message, ExpiresOverflowIsClampedAndGarbageIgnored) {
  auto with_expires = [](std::string v) {
    return parse_message("REGISTER sip:a SIP/2.0\r\nExpires: " + v + "\r\n\r\n");
  };
  ParseResult big = with_expires("99999999999999");
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big.message().expires(), UINT32_MAX);
  ParseResult junk = with_expires("soon");
  ASSERT_TRUE(junk.ok());
  EXPECT_FALSE(junk.message().expires().has_value());
}

TEST(Message, LeadingCrlfIsIgnored) {
  ParseResult r = parse_message("\r\n\r\nOPTIONS sip:a SIP/2.0\r\n\r\n");
  ASSERT_TRUE(r.ok()) << r.error().reason;
  EXPECT_EQ(r.message().method(), "OPTIONS");
}

TEST(Message, OwnsItsBytesAfterMove) {
  std::string bytes = kRegister;
  ParseResult r = parse_message(bytes);
  ASSERT_TRUE(r.ok());
  bytes.assign(bytes.size(), 'x');  // the message must not point into the caller's buffer
  Message moved = std::move(r.message());
  EXPECT_EQ(moved.call_id(), "843817637684230@998sdasdh09");
  EXPECT_EQ(moved.to()->uri.user, "alice");
}

}  // namespace
}  // namespace sip
