// INVITE server transactions in the table (RFC 3261 §17.2.1 as updated by
// RFC 6026): Proceeding, Accepted (Timer L), Completed (Timers G and H),
// Confirmed (Timer I), and the key a CANCEL uses to find its INVITE. Driven
// by a ManualClock: no sleeping.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "sip/clock.h"
#include "sip/parser.h"
#include "sip/transaction/server_transaction_table.h"
#include "sip/transaction/transaction_key.h"
#include "test_peer.h"

namespace {

using namespace std::chrono_literals;
using sip::transaction::invite_key_for_cancel;
using sip::transaction::server_transaction_key;
using sip::transaction::ServerTransactionTable;
using sip::transaction::TransactionKey;
using Ack = ServerTransactionTable::Ack;
using Insert = ServerTransactionTable::Insert;
using Record = ServerTransactionTable::Record;
using State = ServerTransactionTable::State;
using Transaction = ServerTransactionTable::Transaction;

std::optional<TransactionKey> key_of(const testpeer::RequestSpec& spec, bool as_cancel_target) {
  std::string text = testpeer::make_request(spec);
  sip::ParseResult r = sip::parse_message(text);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().reason) << "\n" << text;
  if (!r.ok()) return std::nullopt;
  return as_cancel_target ? invite_key_for_cancel(r.message())
                          : server_transaction_key(r.message());
}

TransactionKey invite_key(const std::string& branch = "z9hG4bK-inv-1") {
  testpeer::RequestSpec s;
  s.method = "INVITE";
  s.branch = branch;
  return key_of(s, false).value_or(TransactionKey{});
}

sip::transport::Source destination(bool reliable) {
  sip::transport::Source d;
  d.protocol = reliable ? sip::transport::Protocol::kTcp : sip::transport::Protocol::kUdp;
  d.remote_address = boost::asio::ip::make_address("192.0.2.10");
  d.remote_port = 5060;
  d.local_address = boost::asio::ip::make_address("127.0.0.1");
  d.local_port = 5060;
  d.connection = reliable ? 7 : 0;
  return d;
}

// Runs Timer G at `now`, returning the responses it would send.
std::vector<std::string> due(ServerTransactionTable& table, sip::Clock::time_point now) {
  std::vector<std::string> sent;
  table.retransmit_due(now, [&](const Transaction& t) { sent.push_back(t.last_response); });
  return sent;
}

constexpr std::string_view k100 = "SIP/2.0 100 Trying\r\n\r\n";
constexpr std::string_view k180 = "SIP/2.0 180 Ringing\r\n\r\n";
constexpr std::string_view k200 = "SIP/2.0 200 OK\r\n\r\n";
constexpr std::string_view k486 = "SIP/2.0 486 Busy Here\r\n\r\n";

// Verifies an INVITE starts in Proceeding and keeps the latest provisional.
TEST(InviteServerTransaction, StartsInProceedingAndKeepsTheLastProvisional) {
  sip::ManualClock clock;
  ServerTransactionTable table;
  TransactionKey k = invite_key();
  ASSERT_EQ(table.insert_invite(k, destination(false), clock.now()), Insert::kInserted);
  EXPECT_EQ(table.insert_invite(k, destination(false), clock.now()), Insert::kExists);
  const Transaction* t = table.find(k);
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(t->invite);
  EXPECT_EQ(t->state, State::kProceeding);
  EXPECT_EQ(t->destination.remote_port, 5060);

  EXPECT_EQ(table.record_response(k, 100, k100, clock.now()), Record::kRecorded);
  EXPECT_EQ(table.find(k)->last_response, k100);
  EXPECT_EQ(table.record_response(k, 180, k180, clock.now()), Record::kRecorded);
  EXPECT_EQ(table.find(k)->state, State::kProceeding);
  EXPECT_EQ(table.find(k)->last_status, 180);
  EXPECT_EQ(table.find(k)->last_response, k180);
  EXPECT_FALSE(table.next_retransmission().has_value()) << "provisionals are never retransmitted";
}

// Verifies an unanswered INVITE lives for invite_proceeding_limit, not 64*T1.
TEST(InviteServerTransaction, WaitsForTheApplicationUpToTheProceedingLimit) {
  sip::ManualClock clock;
  ServerTransactionTable table;  // default limit: 300 s
  TransactionKey k = invite_key();
  ASSERT_EQ(table.insert_invite(k, destination(false), clock.now()), Insert::kInserted);
  ASSERT_EQ(table.record_response(k, 180, k180, clock.now()), Record::kRecorded);
  clock.advance(64 * 500ms);
  EXPECT_EQ(table.expire(clock.now()), 0u) << "a ringing call outlives 64*T1";
  EXPECT_EQ(table.next_expiry(), clock.now() - 32s + 300s);
  clock.advance(300s - 32s - 1ms);
  EXPECT_EQ(table.expire(clock.now()), 0u);
  clock.advance(1ms);
  EXPECT_EQ(table.expire(clock.now()), 1u);
  EXPECT_EQ(table.find(k), nullptr);
}

// Verifies a custom invite_proceeding_limit is honoured.
TEST(InviteServerTransaction, ProceedingLimitIsConfigurable) {
  sip::ManualClock clock;
  ServerTransactionTable::Options options;
  options.invite_proceeding_limit = 10s;
  ServerTransactionTable table(options);
  TransactionKey k = invite_key();
  ASSERT_EQ(table.insert_invite(k, destination(true), clock.now()), Insert::kInserted);
  clock.advance(10s);
  EXPECT_EQ(table.expire(clock.now()), 1u);
}

// Verifies a 2xx moves to Accepted for Timer L; the TU's 2xx retransmissions
// are accepted, anything else is refused, and nothing is retransmitted.
TEST(InviteServerTransaction, TwoHundredIsAcceptedForTimerL) {
  sip::ManualClock clock;
  ServerTransactionTable table;
  TransactionKey k = invite_key();
  ASSERT_EQ(table.insert_invite(k, destination(false), clock.now()), Insert::kInserted);
  ASSERT_EQ(table.record_response(k, 100, k100, clock.now()), Record::kRecorded);
  ASSERT_EQ(table.record_response(k, 200, k200, clock.now()), Record::kRecorded);
  EXPECT_EQ(table.find(k)->state, State::kAccepted);
  EXPECT_EQ(table.find(k)->last_status, 200);
  EXPECT_EQ(table.next_expiry(), clock.now() + 32s);
  EXPECT_FALSE(table.next_retransmission().has_value()) << "the TU retransmits its 2xx";

  EXPECT_EQ(table.record_response(k, 200, k200, clock.now()), Record::kRecorded);
  EXPECT_EQ(table.record_response(k, 486, k486, clock.now()), Record::kAlreadyFinal);
  EXPECT_EQ(table.record_response(k, 180, k180, clock.now()), Record::kAlreadyFinal);

  clock.advance(32s - 1ms);
  EXPECT_EQ(table.expire(clock.now()), 0u);
  clock.advance(1ms);
  EXPECT_EQ(table.expire(clock.now()), 1u);
  EXPECT_EQ(table.stats().ack_timeouts, 0u);
}

// Verifies Timer L applies on reliable transports too (RFC 6026).
TEST(InviteServerTransaction, AcceptedLastsTimerLOverTcpToo) {
  sip::ManualClock clock;
  ServerTransactionTable table;
  TransactionKey k = invite_key();
  ASSERT_EQ(table.insert_invite(k, destination(true), clock.now()), Insert::kInserted);
  ASSERT_EQ(table.record_response(k, 200, k200, clock.now()), Record::kRecorded);
  ASSERT_NE(table.find(k), nullptr);
  EXPECT_EQ(table.find(k)->state, State::kAccepted);
}

// Verifies an ACK that matches an Accepted INVITE is left to the TU, an ACK
// without a transaction matches nothing, and one before any final is absorbed.
TEST(InviteServerTransaction, AckOutcomesByState) {
  sip::ManualClock clock;
  ServerTransactionTable table;
  TransactionKey accepted = invite_key("z9hG4bK-acc"), proceeding = invite_key("z9hG4bK-pro");
  ASSERT_EQ(table.insert_invite(accepted, destination(false), clock.now()), Insert::kInserted);
  ASSERT_EQ(table.insert_invite(proceeding, destination(false), clock.now()), Insert::kInserted);
  ASSERT_EQ(table.record_response(accepted, 200, k200, clock.now()), Record::kRecorded);
  EXPECT_EQ(table.ack(accepted, clock.now()), Ack::kAccepted);
  EXPECT_EQ(table.find(accepted)->state, State::kAccepted);
  EXPECT_EQ(table.ack(proceeding, clock.now()), Ack::kAbsorbed);
  EXPECT_EQ(table.find(proceeding)->state, State::kProceeding);
  EXPECT_EQ(table.ack(invite_key("z9hG4bK-none"), clock.now()), Ack::kNoMatch);
}

// Verifies a 486 over UDP is retransmitted on Timer G: T1, doubling, capped at T2.
TEST(InviteServerTransaction, FailureOverUdpIsRetransmittedOnTimerGUpToT2) {
  sip::ManualClock clock;
  ServerTransactionTable table;  // T1 500 ms, T2 4 s
  TransactionKey k = invite_key();
  auto t0 = clock.now();
  ASSERT_EQ(table.insert_invite(k, destination(false), t0), Insert::kInserted);
  ASSERT_EQ(table.record_response(k, 486, k486, t0), Record::kRecorded);
  EXPECT_EQ(table.find(k)->state, State::kCompleted);
  EXPECT_EQ(table.record_response(k, 500, "x", t0), Record::kAlreadyFinal);

  // Due at +0.5, +1.5, +3.5, +7.5, +11.5 (capped at 4 s), +15.5 ...
  const std::vector<std::chrono::milliseconds> expected = {500ms,  1500ms,  3500ms,
                                                           7500ms, 11500ms, 15500ms};
  for (auto at : expected) {
    SCOPED_TRACE(at.count());
    EXPECT_EQ(table.next_retransmission(), t0 + at);
    EXPECT_TRUE(due(table, t0 + at - 1ms).empty());
    std::vector<std::string> sent = due(table, t0 + at);
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0], k486);
  }
  EXPECT_EQ(table.find(k)->retransmissions, expected.size());
  EXPECT_EQ(table.stats().retransmitted, expected.size());
}

// Verifies a late Timer G sends once and reschedules from now, not a burst.
TEST(InviteServerTransaction, LateTimerGSendsOnce) {
  sip::ManualClock clock;
  ServerTransactionTable table;
  TransactionKey k = invite_key();
  ASSERT_EQ(table.insert_invite(k, destination(false), clock.now()), Insert::kInserted);
  ASSERT_EQ(table.record_response(k, 486, k486, clock.now()), Record::kRecorded);
  clock.advance(10s);
  EXPECT_EQ(due(table, clock.now()).size(), 1u);
  EXPECT_EQ(table.next_retransmission(), clock.now() + 1s);
}

// Verifies Timer H ends a Completed INVITE that never got its ACK.
TEST(InviteServerTransaction, TimerHEndsTheWaitForTheAck) {
  sip::ManualClock clock;
  ServerTransactionTable table;
  TransactionKey k = invite_key();
  ASSERT_EQ(table.insert_invite(k, destination(false), clock.now()), Insert::kInserted);
  ASSERT_EQ(table.record_response(k, 486, k486, clock.now()), Record::kRecorded);
  EXPECT_EQ(table.next_expiry(), clock.now() + 32s);
  clock.advance(32s);
  EXPECT_EQ(table.expire(clock.now()), 1u);
  EXPECT_EQ(table.find(k), nullptr);
  EXPECT_FALSE(table.next_retransmission().has_value());
  EXPECT_EQ(table.stats().ack_timeouts, 1u);
}

// Verifies the ACK stops Timer G and moves to Confirmed, which absorbs ACKs
// for Timer I = T4 and then ends.
TEST(InviteServerTransaction, AckConfirmsAndTimerIAbsorbsRepeats) {
  sip::ManualClock clock;
  ServerTransactionTable table;
  TransactionKey k = invite_key();
  ASSERT_EQ(table.insert_invite(k, destination(false), clock.now()), Insert::kInserted);
  ASSERT_EQ(table.record_response(k, 486, k486, clock.now()), Record::kRecorded);
  clock.advance(500ms);
  ASSERT_EQ(due(table, clock.now()).size(), 1u);

  EXPECT_EQ(table.ack(k, clock.now()), Ack::kConfirmed);
  EXPECT_EQ(table.find(k)->state, State::kConfirmed);
  EXPECT_FALSE(table.next_retransmission().has_value());
  EXPECT_TRUE(due(table, clock.now() + 10s).empty());
  EXPECT_EQ(table.next_expiry(), clock.now() + 5s);
  EXPECT_EQ(table.ack(k, clock.now()), Ack::kAbsorbed);
  EXPECT_EQ(table.record_response(k, 486, k486, clock.now()), Record::kAlreadyFinal);

  clock.advance(5s - 1ms);
  EXPECT_EQ(table.expire(clock.now()), 0u);
  clock.advance(1ms);
  EXPECT_EQ(table.expire(clock.now()), 1u);
  EXPECT_EQ(table.stats().ack_timeouts, 0u);
}

// Verifies custom T2 and T4 shape Timer G's cap and Timer I.
TEST(InviteServerTransaction, CustomT2AndT4) {
  sip::ManualClock clock;
  ServerTransactionTable::Options options;
  options.t1 = 100ms;
  options.t2 = 250ms;
  options.t4 = 1s;
  ServerTransactionTable table(options);
  TransactionKey k = invite_key();
  auto t0 = clock.now();
  ASSERT_EQ(table.insert_invite(k, destination(false), t0), Insert::kInserted);
  ASSERT_EQ(table.record_response(k, 603, "SIP/2.0 603 Decline\r\n\r\n", t0), Record::kRecorded);
  EXPECT_EQ(table.next_expiry(), t0 + 6400ms);  // Timer H = 64*T1
  ASSERT_EQ(due(table, t0 + 100ms).size(), 1u);
  ASSERT_EQ(due(table, t0 + 300ms).size(), 1u);        // +200 ms
  EXPECT_EQ(table.next_retransmission(), t0 + 550ms);  // +250 ms: capped at T2
  EXPECT_EQ(table.ack(k, t0 + 400ms), Ack::kConfirmed);
  EXPECT_EQ(table.next_expiry(), t0 + 1400ms);  // Timer I = T4
}

// Verifies over TCP a failure is never retransmitted, Timer H still bounds
// the wait, and the ACK ends the transaction at once (Timer I = 0).
TEST(InviteServerTransaction, OverTcpNoRetransmissionsAndTheAckEndsIt) {
  sip::ManualClock clock;
  ServerTransactionTable table;
  TransactionKey a = invite_key("z9hG4bK-a"), b = invite_key("z9hG4bK-b");
  ASSERT_EQ(table.insert_invite(a, destination(true), clock.now()), Insert::kInserted);
  ASSERT_EQ(table.insert_invite(b, destination(true), clock.now()), Insert::kInserted);
  ASSERT_EQ(table.record_response(a, 486, k486, clock.now()), Record::kRecorded);
  ASSERT_EQ(table.record_response(b, 486, k486, clock.now()), Record::kRecorded);
  EXPECT_FALSE(table.next_retransmission().has_value());
  EXPECT_EQ(table.find(a)->state, State::kCompleted);

  EXPECT_EQ(table.ack(a, clock.now()), Ack::kConfirmed);
  EXPECT_EQ(table.find(a), nullptr);

  clock.advance(32s);
  EXPECT_EQ(table.expire(clock.now()), 1u);  // b: Timer H
  EXPECT_EQ(table.stats().ack_timeouts, 1u);
}

// Verifies a full table may evict an answered INVITE (with its Timer G) but
// never one still waiting for the application.
TEST(InviteServerTransaction, FullTableEvictsAnsweredInvitesOnly) {
  sip::ManualClock clock;
  ServerTransactionTable::Options options;
  options.max_transactions = 2;
  ServerTransactionTable table(options);
  TransactionKey a = invite_key("z9hG4bK-a"), b = invite_key("z9hG4bK-b"),
                 c = invite_key("z9hG4bK-c");
  ASSERT_EQ(table.insert_invite(a, destination(false), clock.now()), Insert::kInserted);
  ASSERT_EQ(table.insert_invite(b, destination(false), clock.now()), Insert::kInserted);
  EXPECT_EQ(table.insert_invite(c, destination(false), clock.now()), Insert::kFull);
  ASSERT_EQ(table.record_response(a, 486, k486, clock.now()), Record::kRecorded);
  ASSERT_TRUE(table.next_retransmission().has_value());
  EXPECT_EQ(table.insert_invite(c, destination(false), clock.now()), Insert::kInserted);
  EXPECT_EQ(table.find(a), nullptr);
  EXPECT_FALSE(table.next_retransmission().has_value()) << "evicted with its Timer G";
  EXPECT_EQ(table.stats().evicted, 1u);
}

// Verifies INVITE and non-INVITE transactions share the table without
// changing each other's timers.
TEST(InviteServerTransaction, CoexistsWithNonInvite) {
  sip::ManualClock clock;
  ServerTransactionTable table;
  testpeer::RequestSpec reg;
  reg.method = "REGISTER";
  TransactionKey r = *key_of(reg, false);
  TransactionKey i = invite_key();
  ASSERT_EQ(table.insert(r, false, clock.now()), Insert::kInserted);
  ASSERT_EQ(table.insert_invite(i, destination(false), clock.now()), Insert::kInserted);
  EXPECT_FALSE(table.find(r)->invite);
  EXPECT_EQ(table.find(r)->state, State::kTrying);
  EXPECT_EQ(table.next_expiry(), clock.now() + 32s);  // the REGISTER's 64*T1
  ASSERT_EQ(table.record_response(r, 200, k200, clock.now()), Record::kRecorded);
  EXPECT_EQ(table.record_response(r, 200, k200, clock.now()), Record::kAlreadyFinal)
      << "a non-INVITE never takes a second 2xx";
}

// Verifies the INVITE key of a CANCEL equals the INVITE's own key, both with
// RFC 3261 branches and RFC 2543 matching, and differs from the CANCEL's key.
TEST(InviteKeyForCancel, MatchesTheInviteItCancels) {
  for (const std::string branch : {"z9hG4bK-call-7", "rfc2543-branch"}) {
    SCOPED_TRACE(branch);
    testpeer::RequestSpec invite;
    invite.method = "INVITE";
    invite.branch = branch;
    invite.cseq = 7;
    testpeer::RequestSpec cancel = invite;
    cancel.method = "CANCEL";
    auto invite_key = key_of(invite, false);
    auto target = key_of(cancel, true);
    ASSERT_TRUE(invite_key && target);
    EXPECT_EQ(*target, *invite_key);
    EXPECT_NE(*key_of(cancel, false), *invite_key);

    testpeer::RequestSpec other = cancel;
    other.branch = branch + "-other";
    EXPECT_NE(*key_of(other, true), *invite_key);
  }
}

}  // namespace
