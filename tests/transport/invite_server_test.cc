// INVITE server transactions in the running server (RFC 3261 §17.2.1, RFC
// 6026): 100 Trying at once, retransmissions answered with the last
// provisional, a failure retransmitted over UDP until the ACK, the ACK
// absorbed, a 2xx left to the application, CANCEL finding its INVITE.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <vector>

#include "server_fixture.h"
#include "sip/transaction/transaction_key.h"

namespace {

using namespace testpeer;
using namespace std::chrono_literals;

// Records every request; answers INVITEs as told (0: not at all, keep the Reply).
class InviteHandler : public switchboard::RequestHandler {
 public:
  explicit InviteHandler(std::vector<int> statuses = {}) : statuses_(std::move(statuses)) {}

  void handle(const sip::Message& request, const sip::transport::Source& source,
              switchboard::Reply reply) override {
    std::lock_guard lock(mutex_);
    methods_.emplace_back(request.method());
    if (request.method_id() == sip::Method::kCancel) {
      cancel_target_ = sip::transaction::invite_key_for_cancel(request);
      reply.send(reply.response(request, 200).to_tag("cancel-tag").build());
      return;
    }
    if (request.method_id() != sip::Method::kInvite) return;
    invite_key_ = sip::transaction::server_transaction_key(request);
    for (int status : statuses_)
      reply.send(reply.response(request, status).to_tag("uas-tag").build());
    final_ = reply.response(request, 486).to_tag("uas-tag").build();
    reply_ = std::move(reply);
  }

  // Sends a 486 through the kept Reply, from the calling (test) thread.
  bool reject_later() {
    std::lock_guard lock(mutex_);
    return reply_.send(final_);
  }
  int count(std::string_view method) {
    std::lock_guard lock(mutex_);
    int n = 0;
    for (const auto& m : methods_) n += m == method;
    return n;
  }
  bool cancel_found_invite() {
    std::lock_guard lock(mutex_);
    return cancel_target_ && invite_key_ && *cancel_target_ == *invite_key_;
  }

 private:
  std::vector<int> statuses_;
  std::mutex mutex_;
  std::vector<std::string> methods_;
  switchboard::Reply reply_;
  std::string final_;
  std::optional<sip::transaction::TransactionKey> invite_key_, cancel_target_;
};

RequestSpec invite_request(uint16_t via_port, const std::string& branch = "z9hG4bK-inv-1") {
  RequestSpec s;
  s.method = "INVITE";
  s.request_uri = "sip:bob@switchboard.test";
  s.to = "<sip:bob@switchboard.test>";
  s.via_port = via_port;
  s.branch = branch;
  s.extra_headers = "Contact: <sip:alice@127.0.0.1>\r\nTimestamp: 54\r\n";
  return s;
}

RequestSpec ack_for(const RequestSpec& invite, std::string_view to_tag) {
  RequestSpec ack = invite;
  ack.method = "ACK";
  ack.to = invite.to + ";tag=" + std::string(to_tag);
  ack.extra_headers.clear();
  return ack;
}

int status_of(const std::optional<std::string>& bytes) {
  if (!bytes) return 0;
  sip::ParseResult r = sip::parse_message(*bytes);
  return r.ok() && r.message().is_response() ? r.message().status_code() : -1;
}

struct Fixture {
  explicit Fixture(std::shared_ptr<InviteHandler> h, unsigned threads = 2,
                   std::chrono::milliseconds t1 = 500ms)
      : handler(std::move(h)) {
    auto options = loopback_options(false, threads);
    options.handler = handler;
    options.transactions.t1 = t1;
    options.transactions.t2 = 4 * t1;
    server = std::make_unique<RunningServer>(std::move(options));
  }
  bool send(UdpPeer& peer, const RequestSpec& spec) {
    return peer.send_to(server->ip(), server->udp_port(), make_request(spec));
  }
  std::shared_ptr<InviteHandler> handler;
  std::unique_ptr<RunningServer> server;
};

// Verifies a new INVITE is answered 100 Trying at once: no To tag, received/
// rport filled from the source, Timestamp echoed.
TEST(InviteServer, InviteGets100TryingAtOnce) {
  Fixture f(std::make_shared<InviteHandler>());
  UdpPeer client;
  RequestSpec invite = invite_request(5099);  // sent-by differs from the source port
  ASSERT_TRUE(f.send(client, invite));
  auto r = parse_response(client.receive());
  ASSERT_TRUE(r);
  const sip::Message& m = r->message();
  EXPECT_EQ(m.status_code(), 100);
  EXPECT_TRUE(m.to()->tag().empty());
  EXPECT_EQ(m.top_via()->branch(), invite.branch);
  ASSERT_TRUE(m.top_via()->rport());
  EXPECT_EQ(*m.top_via()->rport(), std::to_string(client.port()));
  EXPECT_EQ(m.top_via()->received().value_or(""), "127.0.0.1");
  EXPECT_EQ(m.header(sip::HeaderId::kTimestamp), "54");
  EXPECT_EQ(m.cseq()->method, "INVITE");
  EXPECT_TRUE(eventually([&] { return f.handler->count("INVITE") == 1; }));
  EXPECT_EQ(f.server->server().counters().responses_sent[1].load(), 1u);
}

// Verifies a retransmitted INVITE gets 100 again, then the application's last
// provisional, and reaches the handler only once.
TEST(InviteServer, RetransmittedInviteGetsTheLastProvisional) {
  Fixture f(std::make_shared<InviteHandler>());
  UdpPeer client;
  RequestSpec invite = invite_request(client.port());
  ASSERT_TRUE(f.send(client, invite));
  ASSERT_EQ(status_of(client.receive()), 100);
  ASSERT_TRUE(eventually([&] { return f.handler->count("INVITE") == 1; }));
  ASSERT_TRUE(f.send(client, invite));
  EXPECT_EQ(status_of(client.receive()), 100);

  auto ringing = std::make_shared<InviteHandler>(std::vector<int>{180});
  Fixture g(ringing);
  UdpPeer other;
  RequestSpec second = invite_request(other.port(), "z9hG4bK-inv-2");
  ASSERT_TRUE(g.send(other, second));
  ASSERT_EQ(status_of(other.receive()), 100);
  ASSERT_EQ(status_of(other.receive()), 180);
  ASSERT_TRUE(g.send(other, second));
  EXPECT_EQ(status_of(other.receive()), 180);
  EXPECT_FALSE(other.receive(100ms));
  EXPECT_EQ(ringing->count("INVITE"), 1);
  EXPECT_EQ(f.handler->count("INVITE"), 1);
}

// Verifies a 486 over UDP is retransmitted on Timer G until the ACK arrives,
// then stops; the ACK never reaches the handler and a retransmitted INVITE
// in Completed gets the 486 again.
TEST(InviteServer, FailureIsRetransmittedOverUdpUntilTheAck) {
  Fixture f(std::make_shared<InviteHandler>(std::vector<int>{486}), 2, /*t1=*/40ms);
  UdpPeer client;
  RequestSpec invite = invite_request(client.port());
  ASSERT_TRUE(f.send(client, invite));
  ASSERT_EQ(status_of(client.receive()), 100);
  auto first = client.receive();
  ASSERT_EQ(status_of(first), 486);
  auto again = client.receive();  // Timer G: T1 later
  ASSERT_EQ(status_of(again), 486);
  EXPECT_EQ(*first, *again) << "the same bytes, from the transaction";
  ASSERT_EQ(status_of(client.receive()), 486);  // 2*T1 later

  ASSERT_TRUE(f.send(client, invite));  // a retransmitted INVITE in Completed
  EXPECT_EQ(status_of(client.receive()), 486);

  ASSERT_TRUE(f.send(client, ack_for(invite, "uas-tag")));
  // Whatever was already on its way may still arrive; then silence well past
  // T2 (160 ms).
  while (auto late = client.receive(100ms)) EXPECT_EQ(status_of(late), 486);
  EXPECT_FALSE(client.receive(400ms)) << "retransmissions stop at the ACK";

  ASSERT_TRUE(f.send(client, ack_for(invite, "uas-tag")));  // absorbed in Confirmed
  EXPECT_FALSE(client.receive(100ms));
  EXPECT_EQ(f.handler->count("INVITE"), 1);
  EXPECT_EQ(f.handler->count("ACK"), 0);
}

// Verifies a final sent later from another thread is retransmitted too.
TEST(InviteServer, FailureFromAnotherThreadIsRetransmitted) {
  auto handler = std::make_shared<InviteHandler>();
  Fixture f(handler, 2, /*t1=*/40ms);
  UdpPeer client;
  RequestSpec invite = invite_request(client.port());
  ASSERT_TRUE(f.send(client, invite));
  ASSERT_EQ(status_of(client.receive()), 100);
  ASSERT_TRUE(eventually([&] { return handler->count("INVITE") == 1; }));
  ASSERT_TRUE(handler->reject_later());
  EXPECT_EQ(status_of(client.receive()), 486);
  EXPECT_EQ(status_of(client.receive()), 486);
  ASSERT_TRUE(f.send(client, ack_for(invite, "uas-tag")));
  while (client.receive(100ms)) {
  }
  EXPECT_FALSE(client.receive(300ms));
}

// Verifies over TCP the failure is sent once (no Timer G) and the ACK is absorbed.
TEST(InviteServer, FailureOverTcpIsNotRetransmitted) {
  Fixture f(std::make_shared<InviteHandler>(std::vector<int>{486}), 2, /*t1=*/40ms);
  TcpPeer peer;
  ASSERT_TRUE(peer.connect(f.server->ip(), f.server->tcp_port()));
  RequestSpec invite = invite_request(peer.local_port());
  invite.transport = "TCP";
  ASSERT_TRUE(peer.write(make_request(invite)));
  EXPECT_EQ(status_of(peer.read_message()), 100);
  EXPECT_EQ(status_of(peer.read_message()), 486);
  EXPECT_FALSE(peer.read_message(300ms)) << "no Timer G on reliable transports";
  ASSERT_TRUE(peer.write(make_request(ack_for(invite, "uas-tag"))));
  EXPECT_FALSE(peer.read_message(100ms));
  EXPECT_TRUE(
      eventually([&] { return f.server->server().counters().retransmissions.load() == 1; }));
  EXPECT_EQ(f.handler->count("ACK"), 0);
}

// Verifies after a 2xx (Accepted) a retransmitted INVITE is absorbed without
// an answer — the application retransmits its 2xx — and the ACK (new branch)
// reaches the handler.
TEST(InviteServer, AfterA2xxRetransmissionsAreAbsorbedAndTheAckGoesToTheHandler) {
  Fixture f(std::make_shared<InviteHandler>(std::vector<int>{200}));
  UdpPeer client;
  RequestSpec invite = invite_request(client.port());
  ASSERT_TRUE(f.send(client, invite));
  ASSERT_EQ(status_of(client.receive()), 100);
  ASSERT_EQ(status_of(client.receive()), 200);
  ASSERT_TRUE(f.send(client, invite));
  EXPECT_FALSE(client.receive(200ms)) << "Accepted: absorbed, not answered from the table";

  RequestSpec ack = ack_for(invite, "uas-tag");
  ack.branch = "z9hG4bK-ack-of-2xx";
  ASSERT_TRUE(f.send(client, ack));
  EXPECT_TRUE(eventually([&] { return f.handler->count("ACK") == 1; }));
  EXPECT_FALSE(client.receive(100ms));
  EXPECT_EQ(f.handler->count("INVITE"), 1);
}

// Verifies a CANCEL is a transaction of its own that reaches the handler,
// which finds the INVITE's key with invite_key_for_cancel().
TEST(InviteServer, CancelReachesTheHandlerAndNamesItsInvite) {
  Fixture f(std::make_shared<InviteHandler>(std::vector<int>{180}), /*threads=*/1);
  UdpPeer client;
  RequestSpec invite = invite_request(client.port());
  ASSERT_TRUE(f.send(client, invite));
  ASSERT_EQ(status_of(client.receive()), 100);
  ASSERT_EQ(status_of(client.receive()), 180);
  RequestSpec cancel = invite;
  cancel.method = "CANCEL";
  cancel.extra_headers.clear();
  ASSERT_TRUE(f.send(client, cancel));
  auto r = parse_response(client.receive());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->message().status_code(), 200);
  EXPECT_EQ(r->message().cseq()->method, "CANCEL");
  EXPECT_TRUE(f.handler->cancel_found_invite());
  // The INVITE's transaction is untouched: a retransmission still gets 180.
  ASSERT_TRUE(f.send(client, invite));
  EXPECT_EQ(status_of(client.receive()), 180);
}

}  // namespace
