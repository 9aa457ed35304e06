// Responses per RFC 3261 §8.2.6 with RFC 3581 received/rport, stateless 400s
// for unparseable requests, and the serializer round trip.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sip/parser.h"
#include "sip/response.h"

namespace sip {
namespace {

constexpr char kOptions[] =
    "OPTIONS sip:acme.test SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bKabc;rport, SIP/2.0/TCP proxy.example;branch=z9hG4bKp\r\n"
    "Via: SIP/2.0/UDP edge.example;branch=z9hG4bKe\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:alice@acme.test>;tag=111\r\n"
    "To: <sip:acme.test>\r\n"
    "Call-ID: opt-1@10.0.0.5\r\n"
    "CSeq: 7 OPTIONS\r\n"
    "Timestamp: 54\r\n"
    "Content-Length: 0\r\n\r\n";

Message parse(std::string_view bytes) {
  ParseResult r = parse_message(bytes);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().reason);
  return std::move(r.message());
}

TEST(ResponseBuilder, CopiesTheRequestHeadersAndAddsATag) {
  Message req = parse(kOptions);
  Message resp = parse(ResponseBuilder(req, 200)
                           .to_tag("srv1")
                           .received_from("203.0.113.9", 40001)
                           .header("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER")
                           .build());
  EXPECT_EQ(resp.status_code(), 200);
  EXPECT_EQ(resp.reason_phrase(), "OK");
  auto vias = resp.vias();
  ASSERT_EQ(vias.size(), 3u);
  EXPECT_EQ(vias[0].received(), "203.0.113.9");
  EXPECT_EQ(vias[0].rport(), "40001");
  EXPECT_EQ(vias[0].branch(), "z9hG4bKabc");
  EXPECT_EQ(vias[1].host, "proxy.example");
  EXPECT_FALSE(vias[1].received().has_value());
  EXPECT_EQ(vias[2].host, "edge.example");
  EXPECT_EQ(resp.from()->tag(), "111");
  EXPECT_EQ(resp.to()->tag(), "srv1");
  EXPECT_EQ(resp.call_id(), "opt-1@10.0.0.5");
  EXPECT_EQ(resp.cseq()->seq, 7u);
  EXPECT_EQ(resp.cseq()->method, "OPTIONS");
  EXPECT_EQ(resp.header(HeaderId::kAllow), "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER");
  EXPECT_EQ(resp.content_length(), 0u);
  EXPECT_EQ(resp.find(HeaderId::kTimestamp), nullptr);  // only a 100 copies it
}

TEST(ResponseBuilder, ReceivedOnlyWhenSentByDiffersWithoutRport) {
  Message req = parse(
      "OPTIONS sip:acme.test SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n"
      "From: <sip:a@acme.test>;tag=1\r\nTo: <sip:acme.test>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n");
  Message same = parse(ResponseBuilder(req, 200).received_from("192.0.2.1", 5060).build());
  EXPECT_FALSE(same.top_via()->received().has_value());
  Message nat = parse(ResponseBuilder(req, 200).received_from("198.51.100.2", 5060).build());
  EXPECT_EQ(nat.top_via()->received(), "198.51.100.2");
  EXPECT_FALSE(nat.top_via()->rport().has_value());
}

TEST(ResponseBuilder, KeepsAnExistingToTagAndNoTagOn100) {
  Message req = parse(
      "BYE sip:a@acme.test SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
      "From: <sip:a@acme.test>;tag=1\r\nTo: <sip:b@acme.test>;tag=dialog\r\nCall-ID: c\r\nCSeq: 2 BYE\r\n"
      "Timestamp: 12\r\n\r\n");
  EXPECT_EQ(parse(ResponseBuilder(req, 200).to_tag("new").build()).to()->tag(), "dialog");
  Message trying = parse(ResponseBuilder(req, 100).to_tag("new").build());
  EXPECT_EQ(trying.to()->tag(), "dialog");
  EXPECT_EQ(trying.header(HeaderId::kTimestamp), "12");
}

TEST(ResponseBuilder, BodyAndHeaderInjectionSafety) {
  Message req = parse(kOptions);
  std::string wire = ResponseBuilder(req, 200)
                         .header("X-Evil", "a\r\nInjected: yes")
                         .body("application/sdp", "v=0\r\n")
                         .build();
  Message resp = parse(wire);
  EXPECT_EQ(resp.find("Injected"), nullptr);
  EXPECT_EQ(resp.content_type(), "application/sdp");
  EXPECT_EQ(resp.body(), "v=0\r\n");
  EXPECT_EQ(resp.content_length(), 5u);
}

TEST(StatelessError, AnswersWhatDidNotParse) {
  std::string bad =
      "INVITE sip:bob@acme.test SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.8;branch=z9hG4bKq;rport\r\n"
      "From: <sip:a@acme.test>;tag=9\r\nTo: \"unterminated <sip:bob@acme.test>\r\nCall-ID: bad1\r\n"
      "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
  ASSERT_FALSE(parse_message(bad).ok());
  auto wire = build_error_for_unparsed(bad, 400, "To: unterminated quoted display name", "192.0.2.8", 5099, "t1");
  ASSERT_TRUE(wire.has_value());
  Message resp = parse(*wire);
  EXPECT_EQ(resp.status_code(), 400);
  EXPECT_EQ(resp.reason_phrase(), "To: unterminated quoted display name");
  EXPECT_EQ(resp.top_via()->rport(), "5099");
  EXPECT_EQ(resp.call_id(), "bad1");
  EXPECT_EQ(resp.from()->tag(), "9");
  EXPECT_FALSE(resp.to().has_value());  // the malformed To is not echoed
}

TEST(StatelessError, NothingToAnswerWithoutVia) {
  EXPECT_FALSE(build_error_for_unparsed("GARBAGE\r\n\r\n", 400, "", "127.0.0.1", 1, "t").has_value());
  EXPECT_FALSE(build_error_for_unparsed("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\n\r\n", 400, "",
                                        "127.0.0.1", 1, "t")
                   .has_value());
}

// serialize(parse(x)) parses to the same message, and is a fixed point.
TEST(Serializer, RoundTrip) {
  const char* wire =
      "INVITE sip:bob@acme.test;transport=tcp SIP/2.0\r\n"
      "v: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK1\r\n"
      "f: Alice <sip:alice@acme.test>\r\n  ;tag=1\r\n"
      "t: <sip:bob@acme.test>\r\n"
      "i: rt@x\r\nCSeq: 1 INVITE\r\nX-Custom: kept as is\r\nc: application/sdp\r\nl: 7\r\n\r\n"
      "v=0\r\ns=";
  Message first = parse(wire);
  std::string out = serialize(first);
  Message second = parse(out);
  EXPECT_EQ(second.method(), first.method());
  EXPECT_EQ(second.request_uri().text, first.request_uri().text);
  EXPECT_EQ(second.top_via()->branch(), "z9hG4bK1");
  EXPECT_EQ(second.from()->tag(), "1");
  EXPECT_EQ(second.from()->display_name, "Alice");
  EXPECT_EQ(second.call_id(), "rt@x");
  EXPECT_EQ(second.header(HeaderId::kContentType), "application/sdp");
  EXPECT_EQ(second.find("x-custom")->value, "kept as is");
  EXPECT_EQ(second.body(), "v=0\r\ns=");
  EXPECT_EQ(second.headers().size(), first.headers().size());
  EXPECT_EQ(serialize(second), out);
  EXPECT_THAT(out, testing::HasSubstr("\r\nFrom: Alice <sip:alice@acme.test> ;tag=1\r\n"));
}

}  // namespace
}  // namespace sip
