// Client transactions (RFC 3261 §17.1) driven by a ManualClock: timers A/B/D
// for INVITE (with RFC 6026's Accepted), E/F/K for the rest, and the ACK a
// transaction generates for a non-2xx final.
#include "sip/transaction/client_transaction.h"

#include <gtest/gtest.h>

#include "sip/parser.h"

namespace {

using sip::transaction::ClientTimers;
using sip::transaction::ClientTransaction;
using State = ClientTransaction::State;
using std::chrono::milliseconds;
using std::chrono::seconds;

sip::RequestBuilder request(std::string_view method) {
  sip::RequestBuilder r(method, "sip:alice@192.0.2.4:5062");
  r.via("UDP", "192.0.2.1:5060", "z9hG4bK-tx-1")
      .from("sip:switchboard@acme.test", "", "from-1")
      .to("sip:alice@acme.test", "", "")
      .call_id("call-1")
      .cseq(1);
  return r;
}

sip::Message response(int status, std::string_view method = "INVITE", std::string_view branch = "z9hG4bK-tx-1") {
  std::string m = "SIP/2.0 " + std::to_string(status) + " X\r\n";
  m += "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=" + std::string(branch) + ";rport=5060\r\n";
  m += "From: <sip:switchboard@acme.test>;tag=from-1\r\nTo: <sip:alice@acme.test>;tag=dev-9\r\n";
  m += "Call-ID: call-1\r\nCSeq: 1 " + std::string(method) + "\r\nContent-Length: 0\r\n\r\n";
  sip::ParseResult r = sip::parse_message(m);
  EXPECT_TRUE(r.ok());
  return std::move(r.message());
}

class ClientTransactionTest : public testing::Test {
 protected:
  sip::ManualClock clock;
  ClientTimers timers{.t1 = milliseconds(500), .t2 = seconds(4), .t4 = seconds(5), .timer_d = seconds(32)};
};

// Timer A doubles from T1 on UDP; Timer B (64*T1) times the INVITE out.
TEST_F(ClientTransactionTest, InviteRetransmitsThenTimesOut) {
  ClientTransaction tx(request("INVITE"), false, timers, clock.now());
  EXPECT_EQ(tx.state(), State::kCalling);
  std::vector<sip::Clock::duration> gaps;
  auto last = clock.now();
  for (int i = 0; i < 6; ++i) {
    clock.advance(*tx.next_timer() - clock.now());
    auto act = tx.on_timer(clock.now());
    ASSERT_EQ(act.send.size(), 1u);
    EXPECT_EQ(act.send[0], tx.request_bytes());
    gaps.push_back(clock.now() - last);
    last = clock.now();
  }
  EXPECT_EQ(gaps[0], milliseconds(500));
  EXPECT_EQ(gaps[1], milliseconds(1000));
  EXPECT_EQ(gaps[2], milliseconds(2000));
  clock.advance(seconds(32));
  auto act = tx.on_timer(clock.now());
  EXPECT_TRUE(act.timeout);
  EXPECT_TRUE(act.terminated);
  EXPECT_TRUE(tx.terminated());
}

// TCP: no Timer A, only B.
TEST_F(ClientTransactionTest, ReliableInviteDoesNotRetransmit) {
  ClientTransaction tx(request("INVITE"), true, timers, clock.now());
  EXPECT_EQ(*tx.next_timer(), clock.now() + seconds(32));
}

// A provisional stops retransmissions and Timer B; the TU decides.
TEST_F(ClientTransactionTest, ProvisionalStopsTimers) {
  ClientTransaction tx(request("INVITE"), false, timers, clock.now());
  auto act = tx.on_response(response(180), clock.now());
  EXPECT_TRUE(act.deliver);
  EXPECT_EQ(tx.state(), State::kProceeding);
  EXPECT_FALSE(tx.next_timer().has_value());
}

// 486 → Completed: the ACK (same branch, To with the tag) goes out, and again
// for each retransmitted 486; the final goes up once; Timer D ends it.
TEST_F(ClientTransactionTest, NonSuccessFinalIsAckedByTheTransaction) {
  ClientTransaction tx(request("INVITE"), false, timers, clock.now());
  auto act = tx.on_response(response(486), clock.now());
  EXPECT_TRUE(act.deliver);
  ASSERT_EQ(act.send.size(), 1u);
  sip::ParseResult ack = sip::parse_message(act.send[0]);
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack.message().method(), "ACK");
  EXPECT_EQ(ack.message().top_via()->branch(), "z9hG4bK-tx-1");
  EXPECT_EQ(ack.message().to()->tag(), "dev-9");
  EXPECT_EQ(ack.message().cseq()->seq, 1u);
  EXPECT_EQ(ack.message().cseq()->method, "ACK");
  EXPECT_EQ(ack.message().request_uri().text, "sip:alice@192.0.2.4:5062");
  auto again = tx.on_response(response(486), clock.now());
  EXPECT_FALSE(again.deliver);
  ASSERT_EQ(again.send.size(), 1u);
  EXPECT_EQ(again.send[0], act.send[0]);
  clock.advance(seconds(32));
  EXPECT_TRUE(tx.on_timer(clock.now()).terminated);
}

// Over TCP the non-2xx final ends the transaction at once (Timer D = 0).
TEST_F(ClientTransactionTest, ReliableFinalTerminatesAtOnce) {
  ClientTransaction tx(request("INVITE"), true, timers, clock.now());
  auto act = tx.on_response(response(603), clock.now());
  EXPECT_TRUE(act.terminated);
  EXPECT_EQ(act.send.size(), 1u);
}

// 2xx → Accepted (RFC 6026): every 2xx goes up (the TU ACKs); Timer M ends it.
TEST_F(ClientTransactionTest, SuccessGoesToAccepted) {
  ClientTransaction tx(request("INVITE"), false, timers, clock.now());
  auto act = tx.on_response(response(200), clock.now());
  EXPECT_TRUE(act.deliver);
  EXPECT_TRUE(act.send.empty());
  EXPECT_EQ(tx.state(), State::kAccepted);
  EXPECT_TRUE(tx.on_response(response(200), clock.now()).deliver);
  clock.advance(seconds(32));
  EXPECT_TRUE(tx.on_timer(clock.now()).terminated);
}

// Non-INVITE: E doubles up to T2, stays at T2 in Proceeding, F times out,
// K absorbs retransmitted finals.
TEST_F(ClientTransactionTest, NonInviteTimers) {
  ClientTransaction tx(request("BYE"), false, timers, clock.now());
  EXPECT_EQ(tx.state(), State::kTrying);
  std::vector<sip::Clock::duration> gaps;
  auto last = clock.now();
  for (int i = 0; i < 5; ++i) {
    clock.advance(*tx.next_timer() - clock.now());
    ASSERT_EQ(tx.on_timer(clock.now()).send.size(), 1u);
    gaps.push_back(clock.now() - last);
    last = clock.now();
  }
  EXPECT_EQ(gaps[3], seconds(4));
  EXPECT_EQ(gaps[4], seconds(4));  // capped at T2
  auto done = tx.on_response(response(200, "BYE"), clock.now());
  EXPECT_TRUE(done.deliver);
  EXPECT_EQ(tx.state(), State::kCompleted);
  EXPECT_FALSE(tx.on_response(response(200, "BYE"), clock.now()).deliver);
  clock.advance(seconds(5));
  EXPECT_TRUE(tx.on_timer(clock.now()).terminated);

  ClientTransaction lost(request("INFO"), false, timers, clock.now());
  clock.advance(seconds(33));
  auto act = lost.on_timer(clock.now());
  EXPECT_TRUE(act.timeout);
}

// §17.1.3: the key is the top Via branch + CSeq method.
TEST_F(ClientTransactionTest, ResponsesMatchByBranchAndMethod) {
  ClientTransaction tx(request("INVITE"), false, timers, clock.now());
  EXPECT_EQ(sip::transaction::client_transaction_key(response(180)), tx.key());
  EXPECT_NE(sip::transaction::client_transaction_key(response(200, "CANCEL")), tx.key());
  EXPECT_NE(sip::transaction::client_transaction_key(response(180, "INVITE", "z9hG4bK-other")), tx.key());
  EXPECT_FALSE(sip::transaction::client_transaction_key(response(180, "INVITE", "1234")).has_value());
}

// A transport error ends the transaction and reports it.
TEST_F(ClientTransactionTest, TransportError) {
  ClientTransaction tx(request("INVITE"), true, timers, clock.now());
  auto act = tx.on_transport_error();
  EXPECT_TRUE(act.terminated);
  EXPECT_TRUE(act.timeout);
}

}  // namespace
