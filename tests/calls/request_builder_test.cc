// Requests we originate (sip/request_builder.h): the wire form, CANCEL and
// ACK derivation, and that values from outside cannot inject headers.
#include "sip/request_builder.h"

#include <gtest/gtest.h>

#include "sip/parser.h"

namespace {

sip::RequestBuilder invite() {
  sip::RequestBuilder r("INVITE", "sip:alice@192.0.2.4:5062");
  r.via("UDP", "192.0.2.1:5060", sip::make_branch("abc"))
      .route("<sip:edge.test;lr>")
      .from("sip:switchboard@acme.test", "Switchboard", "f1")
      .to("sip:alice@acme.test", "", "")
      .call_id("cid-1")
      .cseq(7)
      .contact("<sip:switchboard@192.0.2.1:5060>")
      .header("X-Campaign", "spring")
      .body("application/sdp", "v=0\r\n");
  return r;
}

// The request parses back with every part in place.
TEST(RequestBuilder, BuildsAParseableInvite) {
  sip::ParseResult r = sip::parse_message(invite().build());
  ASSERT_TRUE(r.ok()) << r.error().reason;
  const sip::Message& m = r.message();
  EXPECT_EQ(m.method(), "INVITE");
  EXPECT_EQ(m.request_uri().text, "sip:alice@192.0.2.4:5062");
  EXPECT_EQ(m.top_via()->branch(), "z9hG4bKabc");
  EXPECT_TRUE(m.top_via()->rport().has_value());
  EXPECT_EQ(m.max_forwards(), 70u);
  EXPECT_EQ(m.header(sip::HeaderId::kRoute), "<sip:edge.test;lr>");
  EXPECT_EQ(m.from()->tag(), "f1");
  EXPECT_EQ(m.from()->display_name_text(), "Switchboard");
  EXPECT_EQ(m.to()->tag(), "");
  EXPECT_EQ(m.cseq()->seq, 7u);
  EXPECT_EQ(m.cseq()->method, "INVITE");
  EXPECT_EQ(m.body(), "v=0\r\n");
  EXPECT_EQ(m.content_length(), 5u);
}

// §9.1: CANCEL keeps the Request-URI, Via, Route, From, To, Call-ID and CSeq number.
TEST(RequestBuilder, CancelCopiesTheInvite) {
  sip::RequestBuilder inv = invite();
  sip::ParseResult r = sip::parse_message(sip::cancel_for(inv).build());
  ASSERT_TRUE(r.ok());
  const sip::Message& m = r.message();
  EXPECT_EQ(m.method(), "CANCEL");
  EXPECT_EQ(m.request_uri().text, "sip:alice@192.0.2.4:5062");
  EXPECT_EQ(m.top_via()->branch(), "z9hG4bKabc");
  EXPECT_EQ(m.header(sip::HeaderId::kRoute), "<sip:edge.test;lr>");
  EXPECT_EQ(m.cseq()->seq, 7u);
  EXPECT_EQ(m.cseq()->method, "CANCEL");
  EXPECT_TRUE(m.body().empty());
  EXPECT_EQ(m.find("X-Campaign"), nullptr);
}

// §17.1.1.3: the ACK of a non-2xx has the INVITE's branch and the response's To.
TEST(RequestBuilder, AckForNonSuccess) {
  sip::ParseResult r =
      sip::parse_message(sip::ack_for_non_2xx(invite(), "<sip:alice@acme.test>;tag=t9").build());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.message().method(), "ACK");
  EXPECT_EQ(r.message().top_via()->branch(), "z9hG4bKabc");
  EXPECT_EQ(r.message().to()->tag(), "t9");
  EXPECT_EQ(r.message().cseq()->method, "ACK");
  EXPECT_EQ(r.message().cseq()->seq, 7u);
}

// CR, LF and NUL in values from outside never start a header of their own.
TEST(RequestBuilder, ValuesCannotInjectHeaders) {
  sip::RequestBuilder r("INVITE", "sip:alice@acme.test\r\nX-Evil: 1");
  r.via("UDP", "192.0.2.1:5060", sip::make_branch("a\r\nX-Evil: 2"))
      .from("sip:switchboard@acme.test>\r\nX-Evil: 3", "Bob\"\r\nX-Evil: 4", "t\r\n")
      .to("sip:alice@acme.test", "", "")
      .call_id(std::string("c\r\nX-Evil: 5\0", 13))
      .cseq(1)
      .header("X-Note\r\nX-Evil", "v\r\nX-Evil: 6")
      .header("X-Nul", std::string("a\0b", 3));
  std::string wire = r.build();
  EXPECT_EQ(wire.find("\nX-Evil"), std::string::npos) << wire;
  EXPECT_EQ(wire.find('\0'), std::string::npos);
  sip::ParseResult parsed = sip::parse_message(wire);
  ASSERT_TRUE(parsed.ok()) << parsed.error().reason << "\n" << wire;
  EXPECT_EQ(parsed.message().find("X-Evil"), nullptr);
  EXPECT_EQ(parsed.message().from()->display_name_text(), "Bob\"X-Evil: 4");
}

}  // namespace
