// SipServer's client-side plumbing: send() from any thread over UDP and TCP
// (connection ids name their worker), local_for(), and responses delivered to
// on_response.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "server_fixture.h"
#include "sip/transport/connection_registry.h"

namespace {

using namespace testpeer;
using namespace std::chrono_literals;
using sip::transport::ConnectionRegistry;
using sip::transport::Protocol;
using sip::transport::Source;

const std::string kResponse =
    "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-out-1\r\n"
    "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\nCall-ID: out@test\r\nCSeq: 1 INVITE\r\n"
    "Content-Length: 0\r\n\r\n";

std::string outbound_request(const std::string& branch) {
  RequestSpec s;
  s.method = "OPTIONS";
  s.request_uri = "sip:device@127.0.0.1";
  s.branch = branch;
  return make_request(s);
}

// Collects what on_response receives (from worker threads).
struct Responses {
  std::mutex mutex;
  std::vector<std::pair<std::string, Source>> got;
  size_t size() {
    std::lock_guard lock(mutex);
    return got.size();
  }
  std::pair<std::string, Source> at(size_t i) {
    std::lock_guard lock(mutex);
    return got.at(i);
  }
};

// Remembers the Source of every request and answers 200.
class SourceRecorder : public switchboard::RequestHandler {
 public:
  void handle(const sip::Message& request, const Source& source,
              switchboard::Reply reply) override {
    {
      std::lock_guard lock(mutex_);
      sources_.push_back(source);
    }
    if (request.method_id() != sip::Method::kAck)
      reply.send(reply.response(request, 200).to_tag("t").build());
  }
  std::vector<Source> sources() {
    std::lock_guard lock(mutex_);
    return sources_;
  }

 private:
  std::mutex mutex_;
  std::vector<Source> sources_;
};

// Verifies connection ids carry their worker in the low 8 bits, are never 0
// and never repeat.
TEST(ConnectionIds, EncodeTheOwningWorker) {
  std::set<sip::transport::ConnectionId> seen;
  for (unsigned worker : {0u, 1u, 7u, 255u}) {
    for (int i = 0; i < 10; ++i) {
      auto id = ConnectionRegistry::next_id(worker);
      EXPECT_NE(id, 0u);
      EXPECT_EQ(ConnectionRegistry::worker_of(id), worker);
      EXPECT_TRUE(seen.insert(id).second);
    }
  }
  EXPECT_EQ(ConnectionRegistry(3).worker(), 3u);
}

// Verifies a response to the server's UDP port reaches on_response with its
// source, and is counted.
TEST(OnResponse, UdpResponseIsDelivered) {
  auto responses = std::make_shared<Responses>();
  auto options = loopback_options();
  options.on_response = [responses](std::string_view raw, const Source& source) {
    std::lock_guard lock(responses->mutex);
    responses->got.emplace_back(std::string(raw), source);
  };
  RunningServer server(std::move(options));
  UdpPeer device;
  ASSERT_TRUE(device.send_to(server.ip(), server.udp_port(), kResponse));
  ASSERT_TRUE(eventually([&] { return responses->size() == 1; }));
  auto [raw, source] = responses->at(0);
  EXPECT_EQ(raw, kResponse);
  EXPECT_EQ(source.protocol, Protocol::kUdp);
  EXPECT_EQ(source.remote_port, device.port());
  EXPECT_EQ(source.local_port, server.udp_port());
  EXPECT_FALSE(device.receive(100ms)) << "a response is never answered";
  EXPECT_EQ(server.server().counters().responses_received.load(), 1u);
  EXPECT_EQ(server.server().counters().responses_dropped.load(), 0u);
}

// Verifies a response on a TCP connection reaches on_response with that
// connection's id.
TEST(OnResponse, TcpResponseIsDelivered) {
  auto responses = std::make_shared<Responses>();
  auto options = loopback_options();
  options.on_response = [responses](std::string_view raw, const Source& source) {
    std::lock_guard lock(responses->mutex);
    responses->got.emplace_back(std::string(raw), source);
  };
  RunningServer server(std::move(options));
  TcpPeer device;
  ASSERT_TRUE(device.connect(server.ip(), server.tcp_port()));
  ASSERT_TRUE(device.write(kResponse));
  ASSERT_TRUE(eventually([&] { return responses->size() == 1; }));
  auto [raw, source] = responses->at(0);
  EXPECT_EQ(raw, kResponse);
  EXPECT_EQ(source.protocol, Protocol::kTcp);
  EXPECT_NE(source.connection, 0u);
  EXPECT_LT(ConnectionRegistry::worker_of(source.connection), 2u);
}

// Verifies responses without exactly one Via are dropped and counted, and so
// are all responses when on_response is unset.
TEST(OnResponse, ResponsesFailingTheViaCheckOrUnwantedAreDropped) {
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto options = loopback_options();
  options.on_response = [calls](std::string_view, const Source&) { ++*calls; };
  RunningServer server(std::move(options));
  UdpPeer device;
  std::string two_vias = kResponse;
  two_vias.insert(two_vias.find("From:"), "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-p\r\n");
  ASSERT_TRUE(device.send_to(server.ip(), server.udp_port(), two_vias));
  ASSERT_TRUE(device.send_to(server.ip(), server.udp_port(), kResponse));
  ASSERT_TRUE(eventually([&] { return calls->load() == 1; }));
  const auto& c = server.server().counters();
  EXPECT_TRUE(eventually([&] { return c.responses_received.load() == 2; }));
  EXPECT_EQ(c.responses_dropped.load(), 1u);

  RunningServer plain(loopback_options());
  ASSERT_TRUE(device.send_to(plain.ip(), plain.udp_port(), kResponse));
  EXPECT_TRUE(eventually([&] { return plain.server().counters().responses_dropped.load() == 1; }));
}

// Verifies send() over UDP from a non-worker thread: the datagram leaves from
// the listener's address and port, whichever worker sends it.
TEST(SipServerSend, UdpFromANonWorkerThreadLeavesFromTheListener) {
  RunningServer server(loopback_options(false, /*threads=*/3));
  UdpPeer device;
  auto local =
      server.server().local_for(Protocol::kUdp, boost::asio::ip::make_address("127.0.0.1"));
  ASSERT_TRUE(local);
  Source to;
  to.protocol = Protocol::kUdp;
  to.remote_address = boost::asio::ip::make_address("127.0.0.1");
  to.remote_port = device.port();
  to.local_address = local->address;
  to.local_port = local->port;
  for (int i = 0; i < 6; ++i) {  // round-robin: every worker's socket
    std::string request = outbound_request("z9hG4bK-udp-" + std::to_string(i));
    ASSERT_TRUE(server.server().send(to, request));
    UdpPeer::Endpoint from;
    auto got = device.receive_from(&from);
    ASSERT_TRUE(got);
    EXPECT_EQ(*got, request);
    EXPECT_EQ(from.ip, "127.0.0.1");
    EXPECT_EQ(from.port, server.udp_port());
  }
}

// Verifies send() from a worker thread (inside a handler) is synchronous and
// reaches the peer.
TEST(SipServerSend, UdpFromAWorkerThreadIsSentAtOnce) {
  class Echo : public switchboard::RequestHandler {
   public:
    void handle(const sip::Message& request, const Source& source, switchboard::Reply) override {
      if (request.method_id() == sip::Method::kAck) return;
      sent = server.load()->send(source, "hello from a worker") ? 1 : -1;
    }
    std::atomic<switchboard::SipServer*> server{nullptr};  // set once the server runs
    std::atomic<int> sent{0};
  };
  auto echo = std::make_shared<Echo>();
  auto options = loopback_options();
  options.handler = echo;
  RunningServer server(std::move(options));
  echo->server = &server.server();  // before any request is sent
  UdpPeer device;
  RequestSpec s;
  s.via_port = device.port();
  ASSERT_TRUE(device.send_to(server.ip(), server.udp_port(), make_request(s)));
  EXPECT_EQ(device.receive(), "hello from a worker");
  EXPECT_TRUE(eventually([&] { return echo->sent.load() == 1; }))  // set after the send returns
      << echo->sent.load();
}

// Verifies send() over TCP reaches the peer on the connection it opened, with
// several workers owning connections (ids route to the owner).
TEST(SipServerSend, TcpReachesTheAcceptedConnectionOnItsWorker) {
  auto recorder = std::make_shared<SourceRecorder>();
  auto options = loopback_options(false, /*threads=*/2);
  options.handler = recorder;
  RunningServer server(std::move(options));
  constexpr int kPeers = 8;
  std::vector<std::unique_ptr<TcpPeer>> peers;
  for (int i = 0; i < kPeers; ++i) {
    auto peer = std::make_unique<TcpPeer>();
    ASSERT_TRUE(peer->connect(server.ip(), server.tcp_port()));
    RequestSpec s;
    s.transport = "TCP";
    s.via_port = peer->local_port();
    s.branch = "z9hG4bK-hello-" + std::to_string(i);
    ASSERT_TRUE(peer->write(make_request(s)));
    ASSERT_TRUE(peer->read_message());  // 200: the request has been handled
    peers.push_back(std::move(peer));
  }
  std::vector<Source> sources = recorder->sources();
  ASSERT_EQ(sources.size(), size_t(kPeers));
  std::set<unsigned> workers;
  for (int i = 0; i < kPeers; ++i) {
    const Source& source = sources[size_t(i)];
    ASSERT_EQ(source.protocol, Protocol::kTcp);
    workers.insert(ConnectionRegistry::worker_of(source.connection));
    // Find the peer by its port and send it a request from this thread.
    for (auto& peer : peers) {
      if (peer->local_port() != source.remote_port) continue;
      std::string request = outbound_request("z9hG4bK-tcp-out-" + std::to_string(i));
      ASSERT_TRUE(server.server().send(source, request));
      EXPECT_EQ(peer->read_message(), request);
    }
  }
  EXPECT_LE(*workers.rbegin(), 1u);
}

// Verifies send() refuses what it cannot even queue: unbound local address,
// connection 0, a worker index that does not exist, a stopped server; and a
// connection that is gone is dropped on its worker and counted.
TEST(SipServerSend, UnroutableSendsFail) {
  RunningServer server(loopback_options(false, /*threads=*/2));
  Source udp;
  udp.protocol = Protocol::kUdp;
  udp.remote_address = boost::asio::ip::make_address("127.0.0.1");
  udp.remote_port = 9;
  udp.local_address = boost::asio::ip::make_address("127.0.0.1");
  udp.local_port = uint16_t(server.udp_port() + 1);  // nothing bound there
  EXPECT_FALSE(server.server().send(udp, "x"));
  udp.local_port = server.tcp_port() == server.udp_port() ? 0 : server.tcp_port();
  EXPECT_FALSE(server.server().send(udp, "x")) << "a TCP port is not a UDP listener";

  Source tcp = udp;
  tcp.protocol = Protocol::kTcp;
  tcp.connection = 0;
  EXPECT_FALSE(server.server().send(tcp, "x"));
  tcp.connection = (uint64_t(1) << 40) | 200;  // worker 200 of 2
  EXPECT_FALSE(server.server().send(tcp, "x"));
  tcp.connection = ConnectionRegistry::next_id(1);  // never accepted
  const auto& c = server.server().counters();
  uint64_t failures = c.transport.tcp_send_failures.load();
  EXPECT_TRUE(server.server().send(tcp, "x")) << "queued: the worker finds it gone";
  EXPECT_TRUE(eventually([&] { return c.transport.tcp_send_failures.load() == failures + 1; }));

  udp.local_port = server.udp_port();
  EXPECT_TRUE(server.server().send(udp, "x"));
  server.server().stop();
  EXPECT_FALSE(server.server().send(udp, "x"));

  switchboard::SipServer never_started(loopback_options());
  EXPECT_FALSE(never_started.send(udp, "x"));
}

// Verifies send() from several threads racing stop() neither crashes nor
// succeeds after stop() returned.
TEST(SipServerSend, SendRacingStopIsSafe) {
  for (int round = 0; round < 3; ++round) {
    auto server = std::make_unique<RunningServer>(loopback_options(false, /*threads=*/2));
    UdpPeer sink;
    Source to;
    to.protocol = Protocol::kUdp;
    to.remote_address = boost::asio::ip::make_address("127.0.0.1");
    to.remote_port = sink.port();
    to.local_address = to.remote_address;
    to.local_port = server->udp_port();
    Source tcp = to;
    tcp.protocol = Protocol::kTcp;
    tcp.connection = ConnectionRegistry::next_id(1);
    std::atomic<bool> go{true};
    std::vector<std::thread> senders;
    for (int t = 0; t < 3; ++t)
      senders.emplace_back([&] {
        while (go.load()) {
          server->server().send(to, "datagram");
          server->server().send(tcp, "bytes");
        }
      });
    std::this_thread::sleep_for(20ms);
    server->server().stop();
    EXPECT_FALSE(server->server().send(to, "late"));
    go = false;
    for (auto& t : senders) t.join();
    server.reset();  // destroys the workers' io_contexts with anything still queued
  }
}

// Verifies local_for() picks the first bound address of the protocol and the
// remote's IP family.
TEST(SipServerLocalFor, PicksProtocolAndFamily) {
  RunningServer server(loopback_options());
  auto v4 = boost::asio::ip::make_address("192.0.2.1");
  auto v6 = boost::asio::ip::make_address("2001:db8::1");
  auto udp = server.server().local_for(Protocol::kUdp, v4);
  ASSERT_TRUE(udp);
  EXPECT_EQ(udp->port, server.udp_port());
  EXPECT_EQ(udp->protocol, Protocol::kUdp);
  auto tcp = server.server().local_for(Protocol::kTcp, v4);
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->port, server.tcp_port());
  EXPECT_FALSE(server.server().local_for(Protocol::kUdp, v6)) << "no IPv6 listener";

  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 loopback";
  auto options = loopback_options();
  options.listen.push_back(*sip::transport::parse_listen_address("udp:[::1]:0", nullptr));
  RunningServer both(std::move(options));
  auto six = both.server().local_for(Protocol::kUdp, v6);
  ASSERT_TRUE(six);
  EXPECT_TRUE(six->address.is_v6());
  EXPECT_TRUE(both.server().local_for(Protocol::kUdp, v4)->address.is_v4());
}

}  // namespace
