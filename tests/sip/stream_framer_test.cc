// Cutting a TCP byte stream into messages: partial reads, pipelining,
// RFC 5626 keep-alive pings, and framing errors that must close the connection.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sip/parser.h"
#include "sip/stream_framer.h"

namespace sip {
namespace {

using Kind = StreamFramer::Kind;

const std::string kMsg =
    "OPTIONS sip:acme.test SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"
    "From: <sip:a@acme.test>;tag=1\r\nTo: <sip:acme.test>\r\nCall-ID: s1\r\nCSeq: 1 OPTIONS\r\n"
    "Content-Length: 4\r\n\r\nbody";

std::vector<std::string> drain(StreamFramer& f, std::vector<Kind>* kinds = nullptr) {
  std::vector<std::string> out;
  for (;;) {
    StreamFramer::Frame fr = f.next();
    if (kinds) kinds->push_back(fr.kind);
    if (fr.kind == Kind::kNeedMore || fr.kind == Kind::kError) return out;
    if (fr.kind == Kind::kMessage) out.emplace_back(fr.bytes);
  }
}

TEST(StreamFramer, ByteByByte) {
  StreamFramer f;
  std::vector<std::string> got;
  for (char c : kMsg) {
    f.append(std::string_view(&c, 1));
    auto part = drain(f);
    got.insert(got.end(), part.begin(), part.end());
  }
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], kMsg);
  ParseResult r = parse_message(got[0], Framing::kStream);
  ASSERT_TRUE(r.ok()) << r.error().reason;
  EXPECT_EQ(r.message().body(), "body");
  EXPECT_EQ(f.buffered(), 0u);
}

TEST(StreamFramer, PipelinedMessagesAndPings) {
  StreamFramer f;
  f.append("\r\n\r\n" + kMsg + "\r\n" + kMsg + "\r\n\r\n");
  std::vector<Kind> kinds;
  auto msgs = drain(f, &kinds);
  EXPECT_EQ(msgs.size(), 2u);
  EXPECT_THAT(kinds, testing::ElementsAre(Kind::kPing, Kind::kMessage, Kind::kMessage, Kind::kPing,
                                          Kind::kNeedMore));
}

TEST(StreamFramer, HalfAPingWaits) {
  StreamFramer f;
  f.append("\r\n");
  std::vector<Kind> kinds;
  drain(f, &kinds);
  EXPECT_THAT(kinds, testing::ElementsAre(Kind::kNeedMore));
  f.append("\r\n");
  kinds.clear();
  drain(f, &kinds);
  EXPECT_THAT(kinds, testing::ElementsAre(Kind::kPing, Kind::kNeedMore));
}

TEST(StreamFramer, MissingContentLengthMeansNoBody) {
  StreamFramer f;
  f.append("OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n\r\nOPTIONS");
  auto msgs = drain(f);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(f.buffered(), 7u);
}

TEST(StreamFramer, FramingErrorsAreFinal) {
  for (const char* bad : {"OPTIONS sip:a SIP/2.0\r\nContent-Length: -999\r\n\r\n",
                          "OPTIONS sip:a SIP/2.0\r\nl: 13\r\nContent-Length: 5\r\n\r\nabcde",
                          "OPTIONS sip:a SIP/2.0\r\nContent-Length: 99999999\r\n\r\n"}) {
    StreamFramer f;
    f.append(bad);
    std::vector<Kind> kinds;
    drain(f, &kinds);
    EXPECT_EQ(kinds.back(), Kind::kError) << bad;
    EXPECT_FALSE(f.append(kMsg));
    EXPECT_EQ(f.next().kind, Kind::kError);
  }
}

TEST(StreamFramer, EndlessHeaderBlockIsBounded) {
  Limits limits;
  limits.max_message_bytes = 4096;
  StreamFramer f(limits);
  f.append("OPTIONS sip:a SIP/2.0\r\n");
  Kind last = Kind::kNeedMore;
  for (int i = 0; i < 1000 && last == Kind::kNeedMore; ++i) {
    f.append("X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    last = f.next().kind;
  }
  EXPECT_EQ(last, Kind::kError);
  EXPECT_LE(f.buffered(), 4096u + 64u);
}

}  // namespace
}  // namespace sip
