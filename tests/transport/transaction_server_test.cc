// Server transactions in the running server: a retransmission never reaches
// the application twice, is answered from the cached response, and the cache
// expires on Timer J as told by the injected clock.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "gateway/tag_source.h"
#include "server_fixture.h"
#include "sip/clock.h"

namespace {

using namespace testpeer;
using namespace std::chrono_literals;

// Answers REGISTER with 200 and a fresh random tag, counting calls: two
// invocations could never produce byte-identical responses.
class CountingRegistrar : public switchboard::RequestHandler {
 public:
  void handle(const sip::Message& request, const sip::transport::Source& source,
              switchboard::Reply reply) override {
    ++calls;
    reply.send(reply.response(request, 200)
                   .to_tag(tags_())
                   .header("Contact", "<sip:alice@127.0.0.1>;expires=3600")
                   .build());
  }
  std::atomic<int> calls{0};

 private:
  switchboard::TagSource tags_ = switchboard::random_tag_source();
};

// Keeps the Reply and answers later, from the test thread.
class DeferredRegistrar : public switchboard::RequestHandler {
 public:
  void handle(const sip::Message& request, const sip::transport::Source& source,
              switchboard::Reply reply) override {
    std::lock_guard lock(mutex_);
    ++calls;
    response_ = reply.response(request, 200).to_tag("deferred").build();
    reply_ = std::move(reply);
  }
  bool answer() {
    std::lock_guard lock(mutex_);
    return reply_.send(response_);
  }
  std::atomic<int> calls{0};

 private:
  std::mutex mutex_;
  switchboard::Reply reply_;
  std::string response_;
};

class NeverAnswers : public switchboard::RequestHandler {
 public:
  void handle(const sip::Message&, const sip::transport::Source&, switchboard::Reply) override {}
};

RequestSpec register_request(uint16_t via_port, const std::string& branch = "z9hG4bK-reg-1") {
  RequestSpec s;
  s.method = "REGISTER";
  s.request_uri = "sip:switchboard.test";
  s.via_port = via_port;
  s.branch = branch;
  s.extra_headers = "Contact: <sip:alice@127.0.0.1>\r\nExpires: 3600\r\n";
  return s;
}

TEST(TransactionServer, RetransmittedRegisterIsAnsweredFromTheCache) {
  auto handler = std::make_shared<CountingRegistrar>();
  auto options = loopback_options();
  options.handler = handler;
  RunningServer server(std::move(options));
  UdpPeer client;
  std::string request = make_request(register_request(client.port()));

  ASSERT_TRUE(client.send_to(server.ip(), server.udp_port(), request));
  auto first = client.receive();
  ASSERT_TRUE(first);
  ASSERT_TRUE(client.send_to(server.ip(), server.udp_port(), request));  // retransmission
  auto second = client.receive();
  ASSERT_TRUE(second);

  EXPECT_EQ(handler->calls.load(), 1);
  EXPECT_EQ(*first, *second) << "the retransmission must get the cached bytes";
  auto r = parse_response(first);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->message().status_code(), 200);
  EXPECT_EQ(server.server().counters().retransmissions.load(), 1u);

  // A new transaction (new branch) reaches the handler again.
  ASSERT_TRUE(client.send_to(server.ip(), server.udp_port(),
                             make_request(register_request(client.port(), "z9hG4bK-reg-2"))));
  auto third = client.receive();
  ASSERT_TRUE(third);
  EXPECT_EQ(handler->calls.load(), 2);
  EXPECT_NE(*first, *third);
}

TEST(TransactionServer, RetransmissionBeforeTheAnswerIsAbsorbed) {
  auto handler = std::make_shared<DeferredRegistrar>();
  auto options = loopback_options();
  options.handler = handler;
  RunningServer server(std::move(options));
  UdpPeer client;
  std::string request = make_request(register_request(client.port()));

  ASSERT_TRUE(client.send_to(server.ip(), server.udp_port(), request));
  ASSERT_TRUE(eventually([&] { return handler->calls.load() == 1; }));
  ASSERT_TRUE(client.send_to(server.ip(), server.udp_port(), request));
  EXPECT_FALSE(client.receive(200ms)) << "absorbed while the application works";
  EXPECT_EQ(handler->calls.load(), 1);

  // The application answers from another thread; the reply is posted to the
  // worker that owns the transaction.
  ASSERT_TRUE(handler->answer());
  auto answer = client.receive();
  ASSERT_TRUE(answer);
  ASSERT_TRUE(client.send_to(server.ip(), server.udp_port(), request));
  auto replay = client.receive();
  ASSERT_TRUE(replay);
  EXPECT_EQ(*answer, *replay);
  EXPECT_EQ(handler->calls.load(), 1);
  EXPECT_FALSE(handler->answer() && client.receive(200ms)) << "a second final is refused";
}

TEST(TransactionServer, CacheExpiresOnTimerJFromTheInjectedClock) {
  auto clock = std::make_shared<sip::ManualClock>();
  auto handler = std::make_shared<CountingRegistrar>();
  auto options = loopback_options();
  options.handler = handler;
  options.clock = clock;
  options.expiry_interval = 10ms;
  RunningServer server(std::move(options));
  UdpPeer client;
  std::string request = make_request(register_request(client.port()));

  ASSERT_TRUE(client.send_to(server.ip(), server.udp_port(), request));
  ASSERT_TRUE(client.receive());
  clock->advance(31s);  // within Timer J (32 s): still cached
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(client.send_to(server.ip(), server.udp_port(), request));
  ASSERT_TRUE(client.receive());
  EXPECT_EQ(handler->calls.load(), 1);

  clock->advance(2s);  // past Timer J: the transaction is gone
  EXPECT_TRUE(eventually([&] {
    if (!client.send_to(server.ip(), server.udp_port(), request)) return false;
    client.receive(100ms);
    return handler->calls.load() == 2;
  })) << "after Timer J the same request is a new transaction";
}

TEST(TransactionServer, OverTcpTheTransactionEndsWithTheFinalResponse) {
  auto handler = std::make_shared<CountingRegistrar>();
  auto options = loopback_options();
  options.handler = handler;
  RunningServer server(std::move(options));
  TcpPeer peer;
  ASSERT_TRUE(peer.connect(server.ip(), server.tcp_port()));
  RequestSpec spec = register_request(peer.local_port());
  spec.transport = "TCP";
  std::string request = make_request(spec);
  ASSERT_TRUE(peer.write(request));
  ASSERT_TRUE(peer.read_message());
  ASSERT_TRUE(peer.write(request));
  ASSERT_TRUE(peer.read_message());
  EXPECT_EQ(handler->calls.load(), 2) << "Timer J is 0 on reliable transports";
}

TEST(TransactionServer, FullTableAnswers503) {
  auto options = loopback_options(false, /*threads=*/1);
  options.handler = std::make_shared<NeverAnswers>();
  options.transactions.max_transactions = 1;
  RunningServer server(std::move(options));
  UdpPeer client;
  ASSERT_TRUE(client.send_to(server.ip(), server.udp_port(),
                             make_request(register_request(client.port(), "z9hG4bK-a"))));
  EXPECT_FALSE(client.receive(100ms));
  ASSERT_TRUE(client.send_to(server.ip(), server.udp_port(),
                             make_request(register_request(client.port(), "z9hG4bK-b"))));
  auto r = parse_response(client.receive());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->message().status_code(), 503);
  EXPECT_EQ(r->message().header(sip::HeaderId::kRetryAfter), "5");
  EXPECT_EQ(server.server().counters().transactions_refused.load(), 1u);
}

TEST(TransactionServer, AckOfANon2xxFinalIsAbsorbed) {
  // INVITE → 100, then 501 from the default handler; its ACK (same branch)
  // matches the transaction and goes nowhere.
  RunningServer server(loopback_options());
  UdpPeer client;
  RequestSpec invite;
  invite.method = "INVITE";
  invite.via_port = client.port();
  ASSERT_TRUE(client.send_to(server.ip(), server.udp_port(), make_request(invite)));
  auto trying = parse_response(client.receive());  // the INVITE transaction's 100
  ASSERT_TRUE(trying);
  EXPECT_EQ(trying->message().status_code(), 100);
  auto r = parse_response(client.receive());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->message().status_code(), 501);
  RequestSpec ack = invite;
  ack.method = "ACK";
  ack.to = "<sip:alice@switchboard.test>;tag=" + std::string(r->message().to()->tag());
  ASSERT_TRUE(client.send_to(server.ip(), server.udp_port(), make_request(ack)));
  EXPECT_FALSE(client.receive(200ms));
  EXPECT_TRUE(eventually([&] { return server.server().counters().retransmissions.load() == 1; }));
}

}  // namespace
