// name-addr and addr-spec (From, To, Contact, Route): display names, quoting,
// UTF-8, and which parameters belong to the URI and which to the header.
#include <gtest/gtest.h>

#include "sip/name_addr.h"

namespace sip {
namespace {

NameAddr parse(std::string_view text, bool wildcard = false) {
  NameAddr na;
  const char* why = nullptr;
  EXPECT_TRUE(parse_name_addr(text, na, &why, wildcard)) << text << ": " << (why ? why : "");
  return na;
}

bool rejects(std::string_view text) {
  NameAddr na;
  return !parse_name_addr(text, na);
}

TEST(NameAddr, QuotedDisplayNameWithEscapes) {
  NameAddr na = parse(R"("Alice \"The\" Admin" <sip:alice@acme.test>;tag=1928)");
  EXPECT_EQ(na.display_name_text(), "Alice \"The\" Admin");
  EXPECT_EQ(na.uri.user, "alice");
  EXPECT_EQ(na.tag(), "1928");
  EXPECT_TRUE(na.bracketed);
}

TEST(NameAddr, Utf8DisplayNames) {
  EXPECT_EQ(parse("\"Zoë Ångström\" <sip:zoe@acme.test>").display_name_text(), "Zoë Ångström");
  EXPECT_EQ(parse("Zoë <sip:zoe@acme.test>").display_name_text(), "Zoë");
}

TEST(NameAddr, TokenDisplayNameWithoutSpaceBeforeBracket) {
  NameAddr na = parse("caller<sip:caller@example.com>;tag=323");
  EXPECT_EQ(na.display_name, "caller");
  EXPECT_EQ(na.tag(), "323");
}

TEST(NameAddr, AddrSpecParamsBelongToTheHeader) {
  NameAddr na = parse("sip:alice@acme.test;expires=60;q=0.5");
  EXPECT_EQ(na.uri.text, "sip:alice@acme.test");
  EXPECT_TRUE(na.uri.params.empty());
  EXPECT_EQ(na.param("expires"), "60");
  EXPECT_EQ(na.param("q"), "0.5");
}

TEST(NameAddr, BracketedUriKeepsItsParams) {
  NameAddr na = parse("<sip:alice@192.0.2.4:5062;transport=tcp;ob>;expires=3600;"
                      "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\";reg-id=1");
  EXPECT_EQ(na.uri.param("transport"), "tcp");
  EXPECT_EQ(na.uri.param("ob"), "");
  EXPECT_EQ(na.param("expires"), "3600");
  EXPECT_EQ(na.param_list().get_unquoted("+sip.instance"), "<urn:uuid:00000000-0000-1000-8000-000A95A0E128>");
  EXPECT_EQ(na.param("reg-id"), "1");
}

TEST(NameAddr, WildcardOnlyWhereAllowed) {
  EXPECT_TRUE(parse("*", /*wildcard=*/true).wildcard);
  EXPECT_TRUE(rejects("*"));
}

TEST(NameAddr, RejectsMalformed) {
  EXPECT_TRUE(rejects("\"unterminated <sip:a@b>"));
  EXPECT_TRUE(rejects("<sip:a@b"));
  EXPECT_TRUE(rejects("< sip:a@b >"));
  EXPECT_TRUE(rejects("Bell, Alexander <sip:a.g.bell@bell-tel.com>"));
  EXPECT_TRUE(rejects("sip:user@example.com?Route=%3Csip:sip.example.com%3E"));
  EXPECT_TRUE(rejects("<sip:joe@example.org>;;;;"));
  EXPECT_TRUE(rejects("<sip:joe@example.org> trailing"));
  EXPECT_TRUE(rejects(""));
}

}  // namespace
}  // namespace sip
