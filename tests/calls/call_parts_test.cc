// The call layer's small parts: call ids, DTMF relay bodies, the timer queue,
// event filters, digest answers and dialogs.
#include <gtest/gtest.h>

#include "gateway/calls/call_engine.h"
#include "gateway/calls/call_ids.h"
#include "gateway/calls/dialog.h"
#include "gateway/calls/digest_answer.h"
#include "gateway/calls/dtmf_relay.h"
#include "gateway/calls/timer_queue.h"
#include "registrar/digest.h"
#include "sip/auth_params.h"
#include "sip/parser.h"

namespace {

using namespace switchboard::calls;
using std::chrono::milliseconds;

// Ids are "c" + 20 hex, increase with time and within a millisecond.
TEST(CallIds, SortableAndWellFormed) {
  int n = 0;
  CallIdGenerator ids([&n] { return std::to_string(++n % 10) + "fffffff"; });
  auto t = std::chrono::system_clock::from_time_t(1'790'000'000);
  std::string a = ids.next(t), b = ids.next(t), c = ids.next(t + milliseconds(1));
  std::string d = ids.next(t - milliseconds(5));  // the clock stepped back
  EXPECT_TRUE(valid_call_id(a));
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_LT(c, d);
  EXPECT_FALSE(valid_call_id("c123"));
  EXPECT_FALSE(valid_call_id("C0000000000000000000a"));
}

// dtmf-relay bodies: built as devices expect, parsed leniently, bounded.
TEST(DtmfRelay, BuildAndParse) {
  EXPECT_EQ(build_dtmf_relay('5', milliseconds(250)), "Signal=5\r\nDuration=250\r\n");
  auto d = parse_dtmf_relay("signal= 9\nDuration = 100\n");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->signal, '9');
  EXPECT_EQ(d->duration_ms, 100);
  EXPECT_EQ(parse_dtmf_relay("Signal=10\r\n")->signal, '*');
  EXPECT_EQ(parse_dtmf_relay("Signal=11\r\n")->signal, '#');
  EXPECT_EQ(parse_dtmf_relay("Signal=d\r\n")->signal, 'D');
  EXPECT_FALSE(parse_dtmf_relay("Signal=Z\r\n"));
  EXPECT_FALSE(parse_dtmf_relay("Duration=100\r\n"));
  EXPECT_FALSE(parse_dtmf_relay(std::string(600, 'x')));
  EXPECT_TRUE(valid_dtmf_digits("0123456789*#ABCD"));
  EXPECT_FALSE(valid_dtmf_digits(""));
  EXPECT_FALSE(valid_dtmf_digits(std::string(33, '1')));
  EXPECT_FALSE(valid_dtmf_digits("1a"));
}

// Timers fire in deadline order; cancel works, also from a callback.
TEST(TimerQueue, FiresInOrder) {
  sip::ManualClock clock;
  TimerQueue q;
  std::vector<int> fired;
  TimerId late = q.schedule(clock.now() + milliseconds(30), [&] { fired.push_back(3); });
  q.schedule(clock.now() + milliseconds(10), [&] { fired.push_back(1); });
  q.schedule(clock.now() + milliseconds(20), [&] {
    fired.push_back(2);
    q.cancel(late);
  });
  EXPECT_EQ(q.run_due(clock.now()), 0u);
  clock.advance(milliseconds(40));
  q.run_due(clock.now());
  EXPECT_EQ(fired, (std::vector<int>{1, 2}));
  EXPECT_FALSE(q.next().has_value());
}

// Filters: realm (any case), call, types; INCOMING needs no call filter.
TEST(CallEventFilter, Matches) {
  CallEvent e;
  e.type = CallEventType::kRinging;
  e.call.realm = "acme.test";
  e.call.id = "c1";
  CallEventFilter all;
  EXPECT_TRUE(all.wants(e));
  EXPECT_TRUE(all.wants_incoming("acme.test"));
  CallEventFilter realm;
  realm.realm = "ACME.test";
  EXPECT_TRUE(realm.wants(e));
  EXPECT_FALSE(realm.wants_incoming("other.test"));
  CallEventFilter one_call;
  one_call.call_id = "c2";
  EXPECT_FALSE(one_call.wants(e));
  EXPECT_FALSE(one_call.wants_incoming("acme.test"));
  CallEventFilter ended;
  ended.types = {CallEventType::kEnded};
  EXPECT_FALSE(ended.wants(e));
  EXPECT_FALSE(ended.wants_incoming("acme.test"));
}

// Our Authorization for a 401 is what a registrar would compute.
TEST(DigestAnswer, AnswersTheStrongestSupportedChallenge) {
  sip::ParseResult r = sip::parse_message(
      "SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
      "To: <sip:a@b>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n"
      "WWW-Authenticate: Digest realm=\"r\", nonce=\"n\", algorithm=UNKNOWN\r\n"
      "WWW-Authenticate: Digest realm=\"r\", nonce=\"n\", qop=\"auth-int,auth\", algorithm=SHA-256, opaque=\"o\"\r\n"
      "Content-Length: 0\r\n\r\n");
  ASSERT_TRUE(r.ok());
  auto a = answer_challenge(r.message(), "INVITE", "sip:a@h", "alice", "pw", "cn", "");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->header_name, "Authorization");
  sip::AuthParams p;
  ASSERT_TRUE(sip::parse_auth_params(a->value, p));
  EXPECT_EQ(p.get("algorithm"), "SHA-256");
  EXPECT_EQ(p.get("qop"), "auth");
  EXPECT_EQ(p.get("opaque"), "o");
  std::string ha1 = registrar::compute_ha1(registrar::DigestAlgorithm::kSha256, "alice", "r", "pw");
  registrar::DigestRequest dr{.method = "INVITE", .uri = "sip:a@h", .nonce = "n", .nc = "00000001",
                              .cnonce = "cn", .qop = registrar::DigestQop::kAuth};
  EXPECT_EQ(p.get("response"),
            registrar::expected_response(registrar::DigestAlgorithm::kSha256, ha1, dr));
}

// The UAC dialog from a 2xx: reversed Record-Route, Contact as target, tags.
TEST(Dialog, FromSuccessResponse) {
  sip::RequestBuilder inv("INVITE", "sip:alice@192.0.2.4");
  inv.via("UDP", "192.0.2.1:5060", "z9hG4bKx").from("sip:sb@acme.test", "", "ours")
      .to("sip:alice@acme.test", "", "").call_id("cid").cseq(1);
  sip::ParseResult ok = sip::parse_message(
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKx\r\n"
      "Record-Route: <sip:p1;lr>, <sip:p2;lr>\r\nFrom: <sip:sb@acme.test>;tag=ours\r\n"
      "To: <sip:alice@acme.test>;tag=theirs\r\nCall-ID: cid\r\nCSeq: 1 INVITE\r\n"
      "Contact: <sip:alice@10.0.0.1:5062>\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(ok.ok());
  auto d = dialog_from_2xx(inv, ok.message(), "ours");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->remote_tag, "theirs");
  EXPECT_EQ(d->remote_target, "sip:alice@10.0.0.1:5062");
  EXPECT_EQ(d->route_set, (std::vector<std::string>{"<sip:p2;lr>", "<sip:p1;lr>"}));
  d->via_transport = "UDP";
  d->sent_by = "192.0.2.1:5060";
  sip::ParseResult bye = sip::parse_message(d->request("BYE", "z9hG4bKbye").build());
  ASSERT_TRUE(bye.ok());
  EXPECT_EQ(bye.message().cseq()->seq, 2u);
  EXPECT_EQ(bye.message().to()->tag(), "theirs");
  EXPECT_EQ(bye.message().from()->tag(), "ours");
  EXPECT_TRUE(d->accept_remote_cseq(5));
  EXPECT_TRUE(d->accept_remote_cseq(5));   // equal: a retransmission is not out of order here
  EXPECT_FALSE(d->accept_remote_cseq(4));  // lower: §12.2.2 → 500
}

}  // namespace
