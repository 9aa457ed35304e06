// Inbound call flows (a registered device calls; the API answers) on real
// sockets: the device's INVITE is challenged like a REGISTER, offered to the
// API as INCOMING, then answered, rejected, canceled or timed out. Only the
// clock is simulated.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "call_fixture.h"

namespace calltest {
namespace {

using std::chrono::seconds;
using testing::ElementsAre;

class InboundFlow : public CallFixture {
 protected:
  // INVITE → 401 → ACK → INVITE with credentials; returns the spec used (cseq 2).
  TestDevice::Invite call_in(TestDevice& dev, std::string to = "sip:bob@acme.test",
                             std::string password = "") {
    TestDevice::Invite spec;
    spec.to = to;
    spec.call_id = "in-" + dev.tag();
    spec.branch = "z9hG4bK-in-1-" + dev.tag();
    dev.send(dev.invite(spec));
    std::optional<sip::Message> challenge = dev.expect_response(401);
    if (!challenge) return spec;
    dev.send(dev.ack_non_2xx(spec, *challenge));
    spec.cseq = 2;
    spec.branch = "z9hG4bK-in-2-" + dev.tag();
    spec.auth = digest_authorization(*challenge, "INVITE", spec.to, dev.user(),
                                     password.empty() ? dev.user() + "-pw" : password);
    dev.send(dev.invite(spec));
    return spec;
  }
};

// Challenge → authenticated INVITE → 100, 180, INCOMING; AnswerCall → 200
// with our SDP, retransmitted until the ACK (§13.3.1.4) → ANSWERED.
TEST_F(InboundFlow, AnsweredAfterChallenge) {
  watch();
  TestDevice alice = device("alice");
  TestDevice::Invite spec = call_in(alice);
  ASSERT_TRUE(alice.expect_response(100));
  std::optional<sip::Message> ringing = alice.expect_response(180);
  ASSERT_TRUE(ringing);
  std::string our_tag(ringing->to()->tag());
  EXPECT_FALSE(our_tag.empty());
  std::optional<CallEvent> incoming = events.wait(CallEventType::kIncoming);
  ASSERT_TRUE(incoming);
  const CallInfo& call = incoming->call;
  EXPECT_EQ(call.direction, switchboard::calls::Direction::kInbound);
  EXPECT_EQ(call.state, CallState::kRinging);
  EXPECT_EQ(call.realm, "acme.test");
  EXPECT_EQ(call.username, "alice");
  EXPECT_EQ(call.aor, "alice@acme.test");
  EXPECT_EQ(call.to_uri, "sip:bob@acme.test");
  EXPECT_EQ(call.from_display, "Alice");
  EXPECT_EQ(call.remote_sdp, spec.sdp);
  EXPECT_EQ(call.sip_call_id, spec.call_id);
  ASSERT_EQ(call.custom_headers.size(), 1u);
  EXPECT_EQ(call.custom_headers[0].second, "42");

  std::future<CallResult> answer = async(
      [&](CallEngine::Done d) { engine->answer_call(call.id, kOffer, std::move(d)); });
  std::optional<sip::Message> ok = alice.expect_response(200);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->body(), kOffer);
  EXPECT_EQ(ok->to()->tag(), our_tag);
  EXPECT_NE(ok->find(sip::HeaderId::kContact), nullptr);
  // No ACK yet: retransmitted at T1 (50 ms on the simulated clock).
  clock->advance(std::chrono::milliseconds(60));
  ASSERT_TRUE(alice.expect_response(200));
  EXPECT_EQ(answer.wait_for(std::chrono::milliseconds(20)), std::future_status::timeout);
  alice.send(alice.ack_2xx(spec, *ok));
  CallResult answered = answer.get();
  ASSERT_TRUE(answered.ok()) << answered.message;
  EXPECT_EQ(answered.call->state, CallState::kAnswered);
  EXPECT_EQ(answered.call->local_sdp, kOffer);
  ASSERT_TRUE(events.wait(CallEventType::kAnswered, call.id));
  clock->advance(seconds(1));
  EXPECT_TRUE(alice.silent(std::chrono::milliseconds(150)));  // no more 200s

  // The API hangs up: BYE to the device.
  CallResult hung = sync([&](CallEngine::Done d) { engine->hangup_call(call.id, d); });
  ASSERT_TRUE(hung.ok());
  std::optional<sip::Message> bye = alice.expect_request("BYE");
  ASSERT_TRUE(bye);
  EXPECT_EQ(bye->to()->tag(), spec.from_tag);
  EXPECT_EQ(bye->from()->tag(), our_tag);
  EXPECT_EQ(bye->request_uri().text, alice.contact_uri());
  alice.send(alice.response(*bye, 200));
}

// RejectCall(486) → 486 to the INVITE; ENDED REJECTED.
TEST_F(InboundFlow, RejectedByTheApi) {
  watch();
  TestDevice alice = device("alice");
  TestDevice::Invite spec = call_in(alice);
  ASSERT_TRUE(alice.expect_response(180));
  std::optional<CallEvent> incoming = events.wait(CallEventType::kIncoming);
  ASSERT_TRUE(incoming);
  CallResult bad = sync([&](CallEngine::Done d) { engine->reject_call(incoming->call.id, 200, d); });
  EXPECT_EQ(bad.error, CallError::kInvalidArgument);
  CallResult r = sync([&](CallEngine::Done d) { engine->reject_call(incoming->call.id, 486, d); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.call->end_reason, EndReason::kRejected);
  EXPECT_EQ(r.call->sip_status, 486);
  std::optional<sip::Message> busy = alice.expect_response(486);
  ASSERT_TRUE(busy);
  alice.send(alice.ack_non_2xx(spec, *busy));
  CallResult again = sync([&](CallEngine::Done d) { engine->answer_call(incoming->call.id, kOffer, d); });
  EXPECT_EQ(again.error, CallError::kFailedPrecondition);
}

// Nobody watches calls: 480 at once, ENDED NO_CONSUMER; no INCOMING.
TEST_F(InboundFlow, NoSubscriberGets480) {
  switchboard::calls::CallEventFilter ended_only;
  ended_only.types = {CallEventType::kEnded};
  watch(ended_only);
  TestDevice alice = device("alice");
  call_in(alice);
  ASSERT_TRUE(alice.expect_response(480));
  std::optional<CallEvent> ended = events.wait(CallEventType::kEnded);
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->call.end_reason, EndReason::kNoConsumer);
  EXPECT_EQ(events.count(CallEventType::kIncoming), 0u);
}

// Not answered within inbound_ring_timeout: 480, ENDED TIMEOUT.
TEST_F(InboundFlow, RingTimeoutSends480) {
  watch();
  TestDevice alice = device("alice");
  call_in(alice);
  ASSERT_TRUE(alice.expect_response(180));
  std::optional<CallEvent> incoming = events.wait(CallEventType::kIncoming);
  ASSERT_TRUE(incoming);
  clock->advance(seconds(31));
  ASSERT_TRUE(alice.expect_response(480));
  std::optional<CallEvent> ended = events.wait(CallEventType::kEnded, incoming->call.id);
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->call.end_reason, EndReason::kTimeout);
}

// CANCEL from the device: 200 to the CANCEL, 487 to the INVITE, HANGUP_REMOTE.
TEST_F(InboundFlow, CallerCancels) {
  watch();
  TestDevice alice = device("alice");
  TestDevice::Invite spec = call_in(alice);
  ASSERT_TRUE(alice.expect_response(180));
  std::optional<CallEvent> incoming = events.wait(CallEventType::kIncoming);
  ASSERT_TRUE(incoming);
  alice.send(alice.cancel(spec));
  std::optional<sip::Message> first = alice.expect_response(200);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->cseq()->method, "CANCEL");
  std::optional<sip::Message> terminated = alice.expect_response(487);
  ASSERT_TRUE(terminated);
  EXPECT_EQ(terminated->cseq()->method, "INVITE");
  alice.send(alice.ack_non_2xx(spec, *terminated));
  std::optional<CallEvent> ended = events.wait(CallEventType::kEnded, incoming->call.id);
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->call.end_reason, EndReason::kHangupRemote);
  // A CANCEL that matches nothing: 481.
  TestDevice::Invite other = spec;
  other.branch = "z9hG4bK-nothing";
  alice.send(alice.cancel(other));
  ASSERT_TRUE(alice.expect_response(481));
}

// A wrong password is challenged again and never reaches the API.
TEST_F(InboundFlow, UnauthenticatedInviteIsNeverOffered) {
  watch();
  TestDevice alice = device("alice");
  call_in(alice, "sip:bob@acme.test", "wrong-password");
  ASSERT_TRUE(alice.expect_response(401));
  EXPECT_EQ(events.count(CallEventType::kIncoming), 0u);
  EXPECT_EQ(engine->active_calls(), 0u);
}

// An INVITE to a realm we do not serve: 404.
TEST_F(InboundFlow, UnservedRealmGets404) {
  watch();
  TestDevice alice = device("alice");
  TestDevice::Invite spec;
  spec.to = "sip:bob@elsewhere.test";
  alice.send(alice.invite(spec));
  ASSERT_TRUE(alice.expect_response(404));
}

// The device hangs up an answered inbound call: 200, HANGUP_REMOTE.
TEST_F(InboundFlow, DeviceByeEndsAnsweredCall) {
  watch();
  TestDevice alice = device("alice");
  TestDevice::Invite spec = call_in(alice);
  ASSERT_TRUE(alice.expect_response(180));
  std::optional<CallEvent> incoming = events.wait(CallEventType::kIncoming);
  ASSERT_TRUE(incoming);
  std::future<CallResult> answer = async(
      [&](CallEngine::Done d) { engine->answer_call(incoming->call.id, kOffer, std::move(d)); });
  std::optional<sip::Message> ok = alice.expect_response(200);
  ASSERT_TRUE(ok);
  alice.send(alice.ack_2xx(spec, *ok));
  ASSERT_TRUE(answer.get().ok());
  alice.send(alice.uac_in_dialog(spec, *ok, "BYE", 3));
  ASSERT_TRUE(alice.expect_response(200));
  std::optional<CallEvent> ended = events.wait(CallEventType::kEnded, incoming->call.id);
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->call.end_reason, EndReason::kHangupRemote);
  EXPECT_THAT(events.types(incoming->call.id),
              ElementsAre(CallEventType::kIncoming, CallEventType::kAnswered, CallEventType::kEnded));
}

class LimitedInboundFlow : public CallFixture {
 protected:
  void SetUp() override {
    auto o = default_options();
    o.max_calls = 1;
    o.retry_after_seconds = 7;
    start(o);
  }
};

// Over max_calls an inbound INVITE gets 503 with Retry-After.
TEST_F(LimitedInboundFlow, OverLimitGets503) {
  watch();
  TestDevice alice = device("alice");
  ASSERT_TRUE(alice.register_binding());
  ASSERT_TRUE(create(call_to()).ok());  // the one allowed call
  ASSERT_TRUE(alice.expect_request("INVITE"));
  TestDevice bob = device("bob");
  TestDevice::Invite spec;
  bob.send(bob.invite(spec));
  std::optional<sip::Message> busy = bob.expect_response(503);
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->header(sip::HeaderId::kRetryAfter), "7");
}

}  // namespace
}  // namespace calltest
