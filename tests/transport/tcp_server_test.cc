// The SIP server over TCP on loopback: stream framing (partial and pipelined
// messages), RFC 5626 keep-alive pings, framing errors, the connection limit
// and the idle timeout.
#include <gtest/gtest.h>

#include "server_fixture.h"
#include "sip/header_id.h"

namespace {

using namespace testpeer;
using namespace std::chrono_literals;

RequestSpec tcp_request(const TcpPeer& peer, uint32_t cseq = 1) {
  RequestSpec s;
  s.transport = "TCP";
  s.via_port = peer.local_port();
  s.cseq = cseq;
  s.branch = "z9hG4bK-tcp-" + std::to_string(cseq);
  return s;
}

// Sends OPTIONS on `peer` and returns the status code (0: no answer).
int options_status(TcpPeer& peer, uint32_t cseq = 1) {
  if (!peer.write(make_request(tcp_request(peer, cseq)))) return 0;
  auto bytes = peer.read_message();
  if (!bytes) return 0;
  sip::ParseResult r = sip::parse_message(*bytes);
  return r.ok() ? r.message().status_code() : 0;
}

class TcpServer : public ::testing::Test {
 protected:
  void start(switchboard::SipServerOptions options = loopback_options()) {
    server_ = std::make_unique<RunningServer>(std::move(options));
  }
  bool connect(TcpPeer& peer) { return peer.connect(server_->ip(), server_->tcp_port()); }

  std::unique_ptr<RunningServer> server_;
};

TEST_F(TcpServer, OptionsGets200OverTheSameConnection) {
  start();
  TcpPeer peer;
  ASSERT_TRUE(connect(peer));
  RequestSpec spec = tcp_request(peer);
  spec.via_port = 5060;  // a TCP response ignores sent-by: same connection
  spec.rport = false;
  ASSERT_TRUE(peer.write(make_request(spec)));
  auto r = parse_response(peer.read_message());
  ASSERT_TRUE(r);
  const sip::Message& m = r->message();
  EXPECT_EQ(m.status_code(), 200);
  EXPECT_EQ(m.top_via()->transport, "TCP");
  EXPECT_EQ(m.top_via()->branch(), "z9hG4bK-tcp-1");
  EXPECT_EQ(m.header(sip::HeaderId::kAllow), "OPTIONS, ACK");
  EXPECT_FALSE(m.to()->tag().empty());
}

TEST_F(TcpServer, RequestWrittenByteByByteIsFramed) {
  start();
  TcpPeer peer;
  ASSERT_TRUE(connect(peer));
  RequestSpec spec = tcp_request(peer);
  spec.body = "v=0\r\n";
  spec.extra_headers = "Content-Type: application/sdp\r\n";
  std::string bytes = make_request(spec);
  for (char c : bytes) ASSERT_TRUE(peer.write(std::string_view(&c, 1)));
  auto r = parse_response(peer.read_message());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->message().status_code(), 200);
}

TEST_F(TcpServer, RequestSplitAcrossWritesIsFramed) {
  start();
  TcpPeer peer;
  ASSERT_TRUE(connect(peer));
  std::string bytes = make_request(tcp_request(peer));
  size_t third = bytes.size() / 3;
  ASSERT_TRUE(peer.write(bytes.substr(0, third)));
  std::this_thread::sleep_for(20ms);  // make the server see a partial read
  ASSERT_TRUE(peer.write(bytes.substr(third, third)));
  std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(peer.write(bytes.substr(2 * third)));
  auto r = parse_response(peer.read_message());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->message().status_code(), 200);
}

TEST_F(TcpServer, PipelinedRequestsAreAnsweredInOrder) {
  start();
  TcpPeer peer;
  ASSERT_TRUE(connect(peer));
  RequestSpec second = tcp_request(peer, 2);
  second.method = "FOOBAR";
  ASSERT_TRUE(peer.write(make_request(tcp_request(peer, 1)) + make_request(second)));
  auto r1 = parse_response(peer.read_message());
  auto r2 = parse_response(peer.read_message());
  ASSERT_TRUE(r1 && r2);
  EXPECT_EQ(r1->message().cseq()->seq, 1u);
  EXPECT_EQ(r1->message().status_code(), 200);
  EXPECT_EQ(r2->message().cseq()->seq, 2u);
  EXPECT_EQ(r2->message().status_code(), 501);
}

TEST_F(TcpServer, DoubleCrlfPingGetsSingleCrlfPong) {
  start();
  TcpPeer peer;
  ASSERT_TRUE(connect(peer));
  ASSERT_TRUE(peer.write("\r\n\r\n"));
  EXPECT_EQ(peer.read_bytes(2), "\r\n");
  EXPECT_FALSE(peer.read_bytes(1, 150ms)) << "exactly one CRLF per ping";
  // The flow is still usable for SIP after the keep-alive.
  EXPECT_EQ(options_status(peer), 200);
  EXPECT_TRUE(eventually([&] { return server_->server().counters().transport.pongs_sent.load() == 1; }));
}

TEST_F(TcpServer, FramingErrorClosesOnlyThatConnection) {
  start();
  TcpPeer good, bad;
  ASSERT_TRUE(connect(good));
  ASSERT_TRUE(connect(bad));
  RequestSpec spec = tcp_request(bad);
  std::string bytes = make_request(spec);
  bytes.replace(bytes.find("Content-Length: 0"), 17, "Content-Length: -1");
  ASSERT_TRUE(bad.write(bytes));
  EXPECT_TRUE(bad.wait_closed());
  EXPECT_EQ(server_->server().counters().transport.tcp_framing_errors.load(), 1u);
  EXPECT_EQ(options_status(good), 200);
}

TEST_F(TcpServer, ConnectionsBeyondTheLimitAreClosed) {
  auto options = loopback_options();
  options.transport.tcp.max_connections = 2;
  start(std::move(options));
  TcpPeer a, b, c;
  ASSERT_TRUE(connect(a));
  ASSERT_TRUE(connect(b));
  ASSERT_EQ(options_status(a, 1), 200);
  ASSERT_EQ(options_status(b, 1), 200);
  ASSERT_TRUE(connect(c));  // the kernel completes the handshake; we close it
  EXPECT_TRUE(c.wait_closed());
  EXPECT_EQ(server_->server().counters().transport.tcp_refused.load(), 1u);
  EXPECT_EQ(options_status(a, 2), 200) << "existing connections are unaffected";

  // A closed connection frees its slot.
  b.close();
  ASSERT_TRUE(eventually([&] { return server_->server().counters().transport.tcp_active.load() == 1; }));
  TcpPeer d;
  ASSERT_TRUE(connect(d));
  EXPECT_EQ(options_status(d), 200);
}

TEST_F(TcpServer, IdleConnectionIsClosedAfterTheTimeout) {
  auto options = loopback_options();
  options.transport.tcp.idle_timeout = 1s;
  start(std::move(options));
  TcpPeer idle;
  ASSERT_TRUE(connect(idle));
  ASSERT_EQ(options_status(idle), 200);
  auto since = std::chrono::steady_clock::now();
  EXPECT_TRUE(idle.wait_closed(2s));
  auto waited = std::chrono::steady_clock::now() - since;
  EXPECT_GE(waited, 900ms) << "closed before the idle timeout";
  EXPECT_EQ(server_->server().counters().transport.tcp_closed_idle.load(), 1u);
}

TEST_F(TcpServer, TrafficKeepsAConnectionOpen) {
  auto options = loopback_options();
  options.transport.tcp.idle_timeout = 1s;
  start(std::move(options));
  TcpPeer busy;
  ASSERT_TRUE(connect(busy));
  for (int i = 0; i < 5; ++i) {  // 5 × 300 ms: well past the timeout in total
    std::this_thread::sleep_for(300ms);
    ASSERT_TRUE(busy.write("\r\n\r\n"));
    ASSERT_EQ(busy.read_bytes(2), "\r\n") << "closed while active, round " << i;
  }
  EXPECT_EQ(server_->server().counters().transport.tcp_closed_idle.load(), 0u);
}

TEST_F(TcpServer, OversizedMessageClosesTheConnection) {
  auto options = loopback_options();
  options.transport.limits.max_message_bytes = 2000;
  start(std::move(options));
  TcpPeer peer;
  ASSERT_TRUE(connect(peer));
  RequestSpec spec = tcp_request(peer);
  spec.extra_headers = "X-Padding: " + std::string(4000, 'a') + "\r\n";
  peer.write(make_request(spec));  // may fail midway once the server closes
  EXPECT_TRUE(peer.wait_closed());
}

}  // namespace
