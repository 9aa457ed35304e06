// Server transaction matching (RFC 3261 §17.2.3) and the non-INVITE server
// transaction table (§17.2.2), driven by a ManualClock: no sleeping.
#include "sip/transaction/server_transaction_table.h"

#include <gtest/gtest.h>

#include <chrono>

#include "sip/clock.h"
#include "sip/parser.h"
#include "sip/transaction/transaction_key.h"
#include "test_peer.h"

namespace {

using namespace std::chrono_literals;
using sip::transaction::server_transaction_key;
using sip::transaction::ServerTransactionTable;
using sip::transaction::TransactionKey;
using Insert = ServerTransactionTable::Insert;
using Record = ServerTransactionTable::Record;
using State = ServerTransactionTable::State;

TransactionKey key_of(const testpeer::RequestSpec& spec) {
  std::string text = testpeer::make_request(spec);
  sip::ParseResult r = sip::parse_message(text);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().reason) << "\n" << text;
  if (!r.ok()) return {};
  auto key = server_transaction_key(r.message());
  EXPECT_TRUE(key.has_value());
  return key.value_or(TransactionKey{});
}

TransactionKey key_named(const std::string& branch) {
  testpeer::RequestSpec s;
  s.method = "REGISTER";
  s.branch = branch;
  return key_of(s);
}

// ---- matching ----

TEST(TransactionKey, SameBranchSentByAndMethodMatch) {
  testpeer::RequestSpec a;
  a.method = "REGISTER";
  testpeer::RequestSpec b = a;
  b.cseq = 99;                 // not part of an RFC 3261 key
  b.call_id = "other";         // nor this
  EXPECT_EQ(key_of(a), key_of(b));
  EXPECT_TRUE(key_of(a).rfc3261);
}

TEST(TransactionKey, BranchSentByOrMethodDifferenceSeparates) {
  testpeer::RequestSpec a;
  a.method = "REGISTER";
  testpeer::RequestSpec other_branch = a;
  other_branch.branch = "z9hG4bK-test-2";
  testpeer::RequestSpec other_host = a;
  other_host.via_host = "192.0.2.1";
  testpeer::RequestSpec other_port = a;
  other_port.via_port = 5070;
  testpeer::RequestSpec other_method = a;
  other_method.method = "OPTIONS";
  EXPECT_NE(key_of(a), key_of(other_branch));
  EXPECT_NE(key_of(a), key_of(other_host));
  EXPECT_NE(key_of(a), key_of(other_port));
  EXPECT_NE(key_of(a), key_of(other_method));
}

TEST(TransactionKey, SentByHostIsCaseInsensitive) {
  testpeer::RequestSpec a;
  a.via_host = "Client.Example.COM";
  testpeer::RequestSpec b = a;
  b.via_host = "client.example.com";
  EXPECT_EQ(key_of(a), key_of(b));
}

TEST(TransactionKey, AckMatchesInviteCancelDoesNot) {
  testpeer::RequestSpec invite;
  invite.method = "INVITE";
  testpeer::RequestSpec ack = invite;
  ack.method = "ACK";
  testpeer::RequestSpec cancel = invite;
  cancel.method = "CANCEL";
  EXPECT_EQ(key_of(ack), key_of(invite));
  EXPECT_NE(key_of(cancel), key_of(invite));
  EXPECT_NE(key_of(cancel), key_of(ack));
}

TEST(TransactionKey, Rfc2543MatchingWithoutMagicCookie) {
  testpeer::RequestSpec a;
  a.method = "REGISTER";
  a.branch = "old-style-branch";  // no z9hG4bK: RFC 2543 client
  TransactionKey base = key_of(a);
  EXPECT_FALSE(base.rfc3261);

  testpeer::RequestSpec same = a;
  EXPECT_EQ(key_of(same), base);

  auto differs = [&](auto change) {
    testpeer::RequestSpec s = a;
    change(s);
    return key_of(s) != base;
  };
  EXPECT_TRUE(differs([](auto& s) { s.request_uri = "sip:other.test"; }));
  EXPECT_TRUE(differs([](auto& s) { s.from = "<sip:alice@switchboard.test>;tag=other"; }));
  EXPECT_TRUE(differs([](auto& s) { s.to = "<sip:alice@switchboard.test>;tag=totag"; }));
  EXPECT_TRUE(differs([](auto& s) { s.call_id = "call-2@test"; }));
  EXPECT_TRUE(differs([](auto& s) { s.cseq = 2; }));
  EXPECT_TRUE(differs([](auto& s) { s.via_port = 5099; }));  // top Via
  EXPECT_TRUE(differs([](auto& s) { s.method = "OPTIONS"; }));
}

TEST(TransactionKey, Rfc2543AckMatchesInviteDespiteToTag) {
  testpeer::RequestSpec invite;
  invite.method = "INVITE";
  invite.branch = "1";
  testpeer::RequestSpec ack = invite;
  ack.method = "ACK";
  ack.to = "<sip:alice@switchboard.test>;tag=our-response-tag";
  EXPECT_EQ(key_of(ack), key_of(invite));
  testpeer::RequestSpec cancel = invite;
  cancel.method = "CANCEL";
  EXPECT_NE(key_of(cancel), key_of(invite));
}

TEST(TransactionKey, BranchWithCookieOnlyIsNotRfc3261) {
  testpeer::RequestSpec a;
  a.branch = "z9hG4bK";  // the cookie and nothing after it
  EXPECT_FALSE(key_of(a).rfc3261);
}

// ---- the table ----

TEST(ServerTransactionTable, TimerJIs64T1OnUnreliableAndZeroOnReliable) {
  ServerTransactionTable table;
  EXPECT_EQ(table.timer_j(false), 32s);
  EXPECT_EQ(table.timer_j(true), 0s);
}

TEST(ServerTransactionTable, CompletedTransactionExpiresAfterTimerJ) {
  sip::ManualClock clock;
  ServerTransactionTable table;
  TransactionKey k = key_named("z9hG4bK-a");
  ASSERT_EQ(table.insert(k, /*reliable=*/false, clock.now()), Insert::kInserted);
  EXPECT_EQ(table.insert(k, false, clock.now()), Insert::kExists);

  clock.advance(1s);
  ASSERT_EQ(table.record_response(k, 200, "SIP/2.0 200 OK\r\n\r\n", clock.now()), Record::kRecorded);
  const auto* t = table.find(k);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->state, State::kCompleted);
  EXPECT_EQ(t->last_status, 200);
  EXPECT_EQ(t->last_response, "SIP/2.0 200 OK\r\n\r\n");
  EXPECT_EQ(table.next_expiry(), clock.now() + 32s);

  clock.advance(32s - 1ms);
  EXPECT_EQ(table.expire(clock.now()), 0u);
  EXPECT_NE(table.find(k), nullptr);  // still absorbing retransmissions

  clock.advance(1ms);
  EXPECT_EQ(table.expire(clock.now()), 1u);
  EXPECT_EQ(table.find(k), nullptr);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_FALSE(table.next_expiry().has_value());
}

TEST(ServerTransactionTable, ReliableTransactionEndsWithItsFinalResponse) {
  sip::ManualClock clock;
  ServerTransactionTable table;
  TransactionKey k = key_named("z9hG4bK-tcp");
  ASSERT_EQ(table.insert(k, /*reliable=*/true, clock.now()), Insert::kInserted);
  EXPECT_EQ(table.record_response(k, 200, "SIP/2.0 200 OK\r\n\r\n", clock.now()), Record::kRecorded);
  EXPECT_EQ(table.find(k), nullptr);  // Timer J = 0
  EXPECT_EQ(table.size(), 0u);
}

TEST(ServerTransactionTable, ProvisionalIsKeptThenReplacedByFinal) {
  sip::ManualClock clock;
  ServerTransactionTable table;
  TransactionKey k = key_named("z9hG4bK-p");
  ASSERT_EQ(table.insert(k, false, clock.now()), Insert::kInserted);
  EXPECT_EQ(table.find(k)->state, State::kTrying);
  EXPECT_TRUE(table.find(k)->last_response.empty());  // Trying: absorb silently

  EXPECT_EQ(table.record_response(k, 100, "SIP/2.0 100 Trying\r\n\r\n", clock.now()), Record::kRecorded);
  EXPECT_EQ(table.find(k)->state, State::kProceeding);
  EXPECT_EQ(table.find(k)->last_status, 100);
  EXPECT_EQ(table.find(k)->last_response, "SIP/2.0 100 Trying\r\n\r\n");

  EXPECT_EQ(table.record_response(k, 404, "SIP/2.0 404 Not Found\r\n\r\n", clock.now()), Record::kRecorded);
  EXPECT_EQ(table.find(k)->state, State::kCompleted);
  EXPECT_EQ(table.find(k)->last_status, 404);
}

TEST(ServerTransactionTable, SecondFinalIsRefusedAndUnknownIsReported) {
  sip::ManualClock clock;
  ServerTransactionTable table;
  TransactionKey k = key_named("z9hG4bK-f");
  ASSERT_EQ(table.insert(k, false, clock.now()), Insert::kInserted);
  EXPECT_EQ(table.record_response(k, 200, "first", clock.now()), Record::kRecorded);
  EXPECT_EQ(table.record_response(k, 500, "second", clock.now()), Record::kAlreadyFinal);
  EXPECT_EQ(table.find(k)->last_response, "first");
  EXPECT_EQ(table.record_response(key_named("z9hG4bK-none"), 200, "x", clock.now()),
            Record::kUnknown);
}

TEST(ServerTransactionTable, UnansweredTransactionGivesUpAfter64T1) {
  sip::ManualClock clock;
  ServerTransactionTable table;
  TransactionKey k = key_named("z9hG4bK-slow");
  ASSERT_EQ(table.insert(k, false, clock.now()), Insert::kInserted);
  clock.advance(31s);
  EXPECT_EQ(table.expire(clock.now()), 0u);
  clock.advance(1s);
  EXPECT_EQ(table.expire(clock.now()), 1u);
  EXPECT_EQ(table.find(k), nullptr);
}

TEST(ServerTransactionTable, CustomT1ScalesTimerJ) {
  ServerTransactionTable::Options options;
  options.t1 = 100ms;
  ServerTransactionTable table(options);
  EXPECT_EQ(table.timer_j(false), 6400ms);
}

TEST(ServerTransactionTable, FullTableEvictsOldestCompletedThenRefuses) {
  sip::ManualClock clock;
  ServerTransactionTable::Options options;
  options.max_transactions = 2;
  ServerTransactionTable table(options);
  TransactionKey a = key_named("z9hG4bK-a"), b = key_named("z9hG4bK-b"),
                 c = key_named("z9hG4bK-c"), d = key_named("z9hG4bK-d");

  ASSERT_EQ(table.insert(a, false, clock.now()), Insert::kInserted);
  ASSERT_EQ(table.insert(b, false, clock.now()), Insert::kInserted);
  // Both wait for the application: nothing may be dropped.
  EXPECT_EQ(table.insert(c, false, clock.now()), Insert::kFull);
  EXPECT_EQ(table.stats().refused, 1u);

  // a is answered: it only absorbs retransmissions now, so it makes room.
  clock.advance(1s);
  ASSERT_EQ(table.record_response(a, 200, "a", clock.now()), Record::kRecorded);
  EXPECT_EQ(table.insert(c, false, clock.now()), Insert::kInserted);
  EXPECT_EQ(table.find(a), nullptr);
  EXPECT_NE(table.find(b), nullptr);
  EXPECT_NE(table.find(c), nullptr);
  EXPECT_EQ(table.stats().evicted, 1u);
  EXPECT_EQ(table.size(), 2u);

  // Expired transactions are cleared before anything is evicted or refused.
  clock.advance(33s);
  EXPECT_EQ(table.insert(d, false, clock.now()), Insert::kInserted);
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.stats().evicted, 1u);
}

TEST(ServerTransactionTable, NextExpiryIsTheEarliestOfBothTimelines) {
  sip::ManualClock clock;
  ServerTransactionTable table;
  TransactionKey a = key_named("z9hG4bK-a"), b = key_named("z9hG4bK-b");
  auto t0 = clock.now();
  ASSERT_EQ(table.insert(a, false, t0), Insert::kInserted);        // gives up at t0+32s
  clock.advance(10s);
  ASSERT_EQ(table.insert(b, false, clock.now()), Insert::kInserted);
  EXPECT_EQ(table.next_expiry(), t0 + 32s);
  ASSERT_EQ(table.record_response(a, 200, "a", clock.now()), Record::kRecorded);  // J: t0+42s
  EXPECT_EQ(table.next_expiry(), t0 + 42s);  // b gives up at t0+42s too
}

}  // namespace
