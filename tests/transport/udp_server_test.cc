// The SIP server over UDP on loopback: the default handler's answers, error
// responses, RFC 3261 §18.2.2 / RFC 3581 routing, and what is dropped.
#include <gtest/gtest.h>

#include "server_fixture.h"
#include "sip/header_id.h"

namespace {

using namespace testpeer;
using namespace std::chrono_literals;
using sip::HeaderId;

class UdpServer : public ::testing::Test {
 protected:
  UdpServer() : server_(loopback_options()) {}

  RequestSpec request(const std::string& method = "OPTIONS") {
    RequestSpec s;
    s.method = method;
    s.via_port = client_.port();
    return s;
  }
  std::optional<std::string> exchange(const std::string& bytes) {
    EXPECT_TRUE(client_.send_to(server_.ip(), server_.udp_port(), bytes));
    return client_.receive();
  }

  RunningServer server_;
  UdpPeer client_;
};

TEST_F(UdpServer, Options200CarriesDialogHeadersAndCapabilities) {
  RequestSpec spec = request();
  spec.via_port = 5099;  // sent-by says 5099; rport must win
  auto r = parse_response(exchange(make_request(spec)));
  ASSERT_TRUE(r);
  const sip::Message& m = r->message();
  EXPECT_EQ(m.status_code(), 200);
  EXPECT_EQ(m.reason_phrase(), "OK");

  ASSERT_TRUE(m.top_via());
  EXPECT_EQ(m.via_count(), 1u);
  EXPECT_EQ(m.top_via()->branch(), "z9hG4bK-test-1");
  EXPECT_EQ(m.top_via()->host, "127.0.0.1");
  EXPECT_EQ(m.top_via()->port, 5099);
  EXPECT_EQ(m.top_via()->rport(), std::to_string(client_.port()));
  EXPECT_EQ(m.top_via()->received(), "127.0.0.1");

  ASSERT_TRUE(m.from());
  EXPECT_EQ(m.from()->uri.text, "sip:alice@switchboard.test");
  EXPECT_EQ(m.from()->tag(), "from-tag-1");
  ASSERT_TRUE(m.to());
  EXPECT_EQ(m.to()->uri.text, "sip:alice@switchboard.test");
  EXPECT_EQ(m.to()->tag(), "srv-1");
  EXPECT_EQ(m.call_id(), "call-1@test");
  ASSERT_TRUE(m.cseq());
  EXPECT_EQ(m.cseq()->seq, 1u);
  EXPECT_EQ(m.cseq()->method, "OPTIONS");

  EXPECT_EQ(m.header(HeaderId::kAllow), "OPTIONS, ACK");
  EXPECT_EQ(m.header(HeaderId::kAccept), "application/sdp");
  EXPECT_EQ(m.header(HeaderId::kSupported), "path, outbound");
  EXPECT_EQ(m.content_length(), 0u);
  EXPECT_TRUE(m.body().empty());

  const auto& c = server_.server().counters();
  EXPECT_EQ(c.received.load(), 1u);
  EXPECT_EQ(c.requests.load(), 1u);
  // Counted after the send returns: the client may be faster.
  EXPECT_TRUE(eventually([&] { return c.responses_sent[2].load() == 1; }));
}

TEST_F(UdpServer, UnknownMethodGets501WithAllow) {
  auto r = parse_response(exchange(make_request(request("FOOBAR"))));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->message().status_code(), 501);
  EXPECT_EQ(r->message().header(HeaderId::kAllow), "OPTIONS, ACK");
  EXPECT_EQ(r->message().cseq()->method, "FOOBAR");
  EXPECT_FALSE(r->message().to()->tag().empty());
  EXPECT_TRUE(eventually([&] { return server_.server().counters().responses_sent[5].load() == 1; }));
}

TEST_F(UdpServer, RegisterGets501UntilARegistrarIsPluggedIn) {
  auto r = parse_response(exchange(make_request(request("REGISTER"))));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->message().status_code(), 501);
}

TEST_F(UdpServer, MalformedRequestGets400) {
  RequestSpec spec = request();
  spec.extra_headers = "Max-Forwards: seventy\r\n";  // not a number
  std::string bytes = make_request(spec);
  // Replace CSeq with garbage as well: the parser must reject the message.
  bytes.replace(bytes.find("CSeq: 1 OPTIONS"), 15, "CSeq: one OPTIONS");
  auto raw = exchange(bytes);
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->substr(0, 12), "SIP/2.0 400 ") << *raw;
  EXPECT_NE(raw->find("branch=z9hG4bK-test-1"), std::string::npos) << *raw;
  EXPECT_NE(raw->find("call-1@test"), std::string::npos) << *raw;
  EXPECT_EQ(server_.server().counters().parse_errors.load(), 1u);
}

TEST_F(UdpServer, MissingCallIdGets400) {
  std::string bytes = make_request(request());
  bytes.erase(bytes.find("Call-ID: call-1@test\r\n"), 22);
  auto r = parse_response(exchange(bytes));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->message().status_code(), 400);
  EXPECT_EQ(server_.server().counters().invalid_requests.load(), 1u);
}

TEST_F(UdpServer, UnsupportedRequireGets420WithUnsupported) {
  RequestSpec spec = request();
  spec.extra_headers = "Require: path, 100rel\r\n";
  auto r = parse_response(exchange(make_request(spec)));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->message().status_code(), 420);
  EXPECT_EQ(r->message().header(HeaderId::kUnsupported), "100rel");

  spec.extra_headers = "Require: path, outbound\r\n";
  spec.branch = "z9hG4bK-test-2";
  r = parse_response(exchange(make_request(spec)));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->message().status_code(), 200);
}

TEST_F(UdpServer, GarbageWithoutViaIsDroppedAndServerKeepsAnswering) {
  ASSERT_TRUE(client_.send_to(server_.ip(), server_.udp_port(), "hello, this is not SIP\r\n\r\n"));
  ASSERT_TRUE(client_.send_to(server_.ip(), server_.udp_port(),
                              "OPTIONS sip:x SIP/2.0\r\nCall-ID: x\r\n\r\n"));  // no Via
  EXPECT_FALSE(client_.receive(300ms)) << "nothing may answer a message without Via";

  auto r = parse_response(exchange(make_request(request())));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->message().status_code(), 200);
  const auto& c = server_.server().counters();
  EXPECT_TRUE(eventually([&] { return c.dropped.load() >= 2; }));
  EXPECT_GE(c.parse_errors.load() + c.invalid_requests.load(), 1u);
}

TEST_F(UdpServer, KeepaliveDatagramsAreIgnored) {
  ASSERT_TRUE(client_.send_to(server_.ip(), server_.udp_port(), "\r\n\r\n"));
  EXPECT_FALSE(client_.receive(200ms));
  EXPECT_EQ(server_.server().counters().transport.keepalives_received.load(), 1u);
  EXPECT_EQ(server_.server().counters().received.load(), 0u);
}

TEST_F(UdpServer, ResponsesAreDropped) {
  std::string response =
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-x\r\n"
      "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\nCall-ID: r@test\r\nCSeq: 1 OPTIONS\r\n"
      "Content-Length: 0\r\n\r\n";
  ASSERT_TRUE(client_.send_to(server_.ip(), server_.udp_port(), response));
  EXPECT_FALSE(client_.receive(200ms));
  EXPECT_TRUE(eventually([&] { return server_.server().counters().responses_received.load() == 1; }));
}

TEST_F(UdpServer, AckIsNeverAnswered) {
  auto bytes = make_request(request("ACK"));
  ASSERT_TRUE(client_.send_to(server_.ip(), server_.udp_port(), bytes));
  EXPECT_FALSE(client_.receive(200ms));
}

TEST_F(UdpServer, WithoutRportTheResponseGoesToTheSentByPort) {
  UdpPeer elsewhere;  // the port the Via names; the request leaves from client_
  ASSERT_TRUE(elsewhere.ok());
  RequestSpec spec = request();
  spec.rport = false;
  spec.via_port = elsewhere.port();
  ASSERT_TRUE(client_.send_to(server_.ip(), server_.udp_port(), make_request(spec)));
  auto r = parse_response(elsewhere.receive());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->message().status_code(), 200);
  EXPECT_FALSE(r->message().top_via()->rport());
  EXPECT_FALSE(client_.receive(100ms));
}

TEST_F(UdpServer, ManyClientsAreAllAnswered) {
  // With two threads, SO_REUSEPORT spreads sources over both sockets.
  for (int i = 0; i < 8; ++i) {
    UdpPeer peer;
    RequestSpec spec = request();
    spec.via_port = peer.port();
    spec.branch = "z9hG4bK-many-" + std::to_string(i);
    ASSERT_TRUE(peer.send_to(server_.ip(), server_.udp_port(), make_request(spec)));
    auto r = parse_response(peer.receive());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->message().status_code(), 200);
    EXPECT_EQ(r->message().top_via()->branch(), spec.branch);
  }
}

}  // namespace
