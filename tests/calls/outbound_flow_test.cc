// Outbound call flows (CreateCall → registered device) on real sockets: a
// scripted device registers with the real registrar, the engine calls it, and
// each test reads like the RFC 3261 ladder it checks. Only the clock is
// simulated.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "call_fixture.h"
#include "registrar/digest.h"
#include "sip/auth_params.h"

namespace calltest {
namespace {

using std::chrono::seconds;
using testing::ElementsAre;
using testing::HasSubstr;

class OutboundFlow : public CallFixture {};

std::string header(const sip::Message& m, std::string_view name) {
  const sip::HeaderField* h = m.find(name);
  return h ? std::string(h->value) : std::string();
}

// INVITE carries the offer, a Route from the registered Path and goes to the
// device's received address; 200 → ACK on the wire → ANSWERED with the answer.
TEST_F(OutboundFlow, AnsweredCallIsAckedAndReported) {
  watch();
  TestDevice alice = device("alice");
  ASSERT_TRUE(alice.register_binding("Supported: path\r\nPath: <sip:edge.acme.test;lr>\r\n"));

  CreateCallRequest req = call_to();
  req.from_display = "Agent \"Smith\"\r\nX-Injected: 1";
  req.custom_headers = {{"X-Campaign", "spring\r\nX-Evil: 1"}};
  CallResult created = create(req);
  ASSERT_TRUE(created.ok()) << created.message;
  EXPECT_EQ(created.call->state, CallState::kTrying);
  EXPECT_EQ(created.call->branches, 1);
  EXPECT_EQ(created.call->aor, "alice@acme.test");
  const std::string id = created.call->id;
  EXPECT_EQ(id.size(), 21u);

  std::optional<sip::Message> invite = alice.expect_request("INVITE");
  ASSERT_TRUE(invite);
  EXPECT_EQ(invite->request_uri().text, alice.contact_uri());
  EXPECT_EQ(header(*invite, "Route"), "<sip:edge.acme.test;lr>");
  EXPECT_EQ(invite->body(), kOffer);
  EXPECT_EQ(invite->content_type(), "application/sdp");
  EXPECT_TRUE(invite->top_via()->rport().has_value());
  EXPECT_TRUE(invite->top_via()->rfc3261_branch());
  EXPECT_EQ(invite->cseq()->seq, 1u);
  EXPECT_EQ(invite->call_id(), created.call->sip_call_id);
  EXPECT_EQ(invite->to()->uri.text, "sip:alice@acme.test");
  EXPECT_EQ(header(*invite, "X-Campaign"), "springX-Evil: 1");  // CR/LF removed: no injection
  EXPECT_EQ(invite->find("X-Evil"), nullptr);
  EXPECT_EQ(invite->find("X-Injected"), nullptr);
  EXPECT_EQ(invite->from()->display_name_text(), "Agent \"Smith\"X-Injected: 1");

  alice.send(alice.response(*invite, 200, kAnswer));
  std::optional<sip::Message> ack = alice.expect_request("ACK");
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->cseq()->seq, 1u);
  EXPECT_EQ(ack->to()->tag(), alice.tag());
  EXPECT_NE(ack->top_via()->branch(), invite->top_via()->branch());  // §13.2.2.4: a new transaction
  EXPECT_EQ(ack->request_uri().text, alice.contact_uri());          // the remote target

  std::optional<CallEvent> answered = events.wait(CallEventType::kAnswered, id);
  ASSERT_TRUE(answered);
  EXPECT_EQ(answered->call.remote_sdp, kAnswer);
  EXPECT_EQ(answered->call.answered_contact, alice.contact_uri());
  EXPECT_EQ(answered->call.sip_status, 200);
  EXPECT_THAT(events.types(id), ElementsAre(CallEventType::kCreated, CallEventType::kTrying,
                                            CallEventType::kAnswered));

  // A retransmitted 200 (our ACK was "lost") gets the same ACK again.
  alice.send(alice.response(*invite, 200, kAnswer));
  std::optional<sip::Message> again = alice.expect_request("ACK");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->top_via()->branch(), ack->top_via()->branch());
}

// 180 with early SDP → RINGING (wait_for RINGING returns there) → 200 → ANSWERED.
TEST_F(OutboundFlow, RingingThenAnswered) {
  watch();
  TestDevice alice = device("alice");
  ASSERT_TRUE(alice.register_binding());
  CreateCallRequest req = call_to();
  req.wait_for = CreateCallRequest::WaitFor::kRinging;
  std::future<CallResult> pending =
      async([&](CallEngine::Done done) { engine->create_call(req, std::move(done)); });
  std::optional<sip::Message> invite = alice.expect_request("INVITE");
  ASSERT_TRUE(invite);
  EXPECT_EQ(pending.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  alice.send(alice.response(*invite, 180, "v=0\r\ns=early\r\n"));
  CallResult ringing = pending.get();
  ASSERT_TRUE(ringing.ok()) << ringing.message;
  EXPECT_EQ(ringing.call->state, CallState::kRinging);
  EXPECT_EQ(ringing.call->remote_sdp, "v=0\r\ns=early\r\n");
  std::optional<CallEvent> ev = events.wait(CallEventType::kRinging, ringing.call->id);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->call.remote_sdp, "v=0\r\ns=early\r\n");

  alice.send(alice.response(*invite, 200, kAnswer));
  ASSERT_TRUE(alice.expect_request("ACK"));
  CallInfo info = wait_state(ringing.call->id, CallState::kAnswered);
  EXPECT_EQ(info.remote_sdp, kAnswer);
}

// 486 → the transaction ACKs it with the INVITE's branch → ENDED REJECTED 486;
// wait_for ANSWERED gets kAborted with the status.
TEST_F(OutboundFlow, BusyDeviceRejectsTheCall) {
  watch();
  TestDevice alice = device("alice");
  ASSERT_TRUE(alice.register_binding());
  CreateCallRequest req = call_to();
  req.wait_for = CreateCallRequest::WaitFor::kAnswered;
  std::future<CallResult> pending =
      async([&](CallEngine::Done done) { engine->create_call(req, std::move(done)); });
  std::optional<sip::Message> invite = alice.expect_request("INVITE");
  ASSERT_TRUE(invite);
  alice.send(alice.response(*invite, 486));
  std::optional<sip::Message> ack = alice.expect_request("ACK");
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->top_via()->branch(), invite->top_via()->branch());  // §17.1.1.3
  EXPECT_EQ(ack->to()->tag(), alice.tag());
  EXPECT_EQ(ack->request_uri().text, invite->request_uri().text);

  CallResult r = pending.get();
  EXPECT_EQ(r.error, CallError::kAborted);
  EXPECT_EQ(r.reason, "CALL_FAILED");
  ASSERT_TRUE(r.call);
  EXPECT_EQ(r.call->state, CallState::kEnded);
  EXPECT_EQ(r.call->end_reason, EndReason::kRejected);
  EXPECT_EQ(r.call->sip_status, 486);
  std::optional<CallEvent> ended = events.wait(CallEventType::kEnded, r.call->id);
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->call.sip_status, 486);

  // The 486 again (our ACK "lost"): the transaction ACKs again.
  alice.send(alice.response(*invite, 486));
  ASSERT_TRUE(alice.expect_request("ACK"));
}

// The device challenges the INVITE with 407: one INVITE with
// Proxy-Authorization computed from the CreateCall credentials → answered.
TEST_F(OutboundFlow, DeviceChallengeIsAnsweredOnce) {
  TestDevice alice = device("alice");
  ASSERT_TRUE(alice.register_binding());
  CreateCallRequest req = call_to();
  req.sip_auth_username = "alice";
  req.sip_auth_password = "alice-pw";
  CallResult created = create(req);
  ASSERT_TRUE(created.ok()) << created.message;
  std::optional<sip::Message> invite = alice.expect_request("INVITE");
  ASSERT_TRUE(invite);
  alice.send(alice.response(*invite, 407, "",
                            "Proxy-Authenticate: Digest realm=\"device.test\", "
                            "nonce=\"abc123\", qop=\"auth\", algorithm=MD5\r\n"));
  std::vector<sip::Message> got = alice.expect_requests({"ACK", "INVITE"});
  ASSERT_EQ(got.size(), 2u);
  std::optional<sip::Message> retry = std::move(got[1]);
  EXPECT_EQ(retry->cseq()->seq, 2u);
  EXPECT_EQ(retry->call_id(), invite->call_id());
  EXPECT_EQ(retry->from()->tag(), invite->from()->tag());
  EXPECT_NE(retry->top_via()->branch(), invite->top_via()->branch());
  const sip::HeaderField* auth = retry->find(sip::HeaderId::kProxyAuthorization);
  ASSERT_NE(auth, nullptr);
  sip::AuthParams p;
  ASSERT_TRUE(sip::parse_auth_params(auth->value, p));
  EXPECT_EQ(p.get("username"), "alice");
  EXPECT_EQ(p.get("realm"), "device.test");
  EXPECT_EQ(p.get("uri"), alice.contact_uri());
  std::string ha1 = registrar::compute_ha1(registrar::DigestAlgorithm::kMd5, "alice", "device.test",
                                           "alice-pw");
  registrar::DigestRequest dr{.method = "INVITE",
                              .uri = *p.get("uri"),
                              .nonce = "abc123",
                              .nc = *p.get("nc"),
                              .cnonce = *p.get("cnonce"),
                              .qop = registrar::DigestQop::kAuth};
  EXPECT_EQ(p.get("response"), registrar::expected_response(registrar::DigestAlgorithm::kMd5, ha1, dr));

  alice.send(alice.response(*retry, 200, kAnswer));
  ASSERT_TRUE(alice.expect_request("ACK"));
  CallInfo info = wait_state(created.call->id, CallState::kAnswered);
  EXPECT_EQ(info.remote_sdp, kAnswer);
}

// A second 407 is final: no loop of challenges.
TEST_F(OutboundFlow, SecondChallengeEndsTheCall) {
  TestDevice alice = device("alice");
  ASSERT_TRUE(alice.register_binding());
  CreateCallRequest req = call_to();
  req.sip_auth_username = "alice";
  req.sip_auth_password = "alice-pw";
  CallResult created = create(req);
  ASSERT_TRUE(created.ok());
  const std::string challenge =
      "Proxy-Authenticate: Digest realm=\"device.test\", nonce=\"n1\", algorithm=MD5\r\n";
  std::optional<sip::Message> invite = alice.expect_request("INVITE");
  ASSERT_TRUE(invite);
  alice.send(alice.response(*invite, 407, "", challenge));
  std::vector<sip::Message> got = alice.expect_requests({"ACK", "INVITE"});
  ASSERT_EQ(got.size(), 2u);
  std::optional<sip::Message> retry = std::move(got[1]);
  alice.send(alice.response(*retry, 407, "", challenge));
  ASSERT_TRUE(alice.expect_request("ACK"));
  CallInfo info = wait_state(created.call->id, CallState::kEnded);
  EXPECT_EQ(info.end_reason, EndReason::kRejected);
  EXPECT_EQ(info.sip_status, 407);
  EXPECT_TRUE(alice.silent(std::chrono::milliseconds(200)));
}

// No answer: the ring timeout CANCELs the INVITE; the device's 487 is ACKed;
// ENDED TIMEOUT (wait_for ANSWERED → kDeadlineExceeded).
TEST_F(OutboundFlow, RingTimeoutCancels) {
  watch();
  TestDevice alice = device("alice");
  ASSERT_TRUE(alice.register_binding());
  CreateCallRequest req = call_to();
  req.ring_timeout = seconds(20);
  req.wait_for = CreateCallRequest::WaitFor::kAnswered;
  std::future<CallResult> pending =
      async([&](CallEngine::Done done) { engine->create_call(req, std::move(done)); });
  std::optional<sip::Message> invite = alice.expect_request("INVITE");
  ASSERT_TRUE(invite);
  alice.send(alice.response(*invite, 180));
  ASSERT_TRUE(events.wait(CallEventType::kRinging));  // the 180 is in before time moves
  clock->advance(seconds(21));
  std::optional<sip::Message> cancel = alice.expect_request("CANCEL");
  ASSERT_TRUE(cancel);
  EXPECT_EQ(cancel->top_via()->branch(), invite->top_via()->branch());  // §9.1
  EXPECT_EQ(cancel->cseq()->seq, invite->cseq()->seq);
  EXPECT_EQ(cancel->request_uri().text, invite->request_uri().text);
  EXPECT_EQ(cancel->call_id(), invite->call_id());
  EXPECT_EQ(cancel->to()->tag(), "");
  alice.send(alice.response(*cancel, 200));
  alice.send(alice.response(*invite, 487));
  ASSERT_TRUE(alice.expect_request("ACK"));

  CallResult r = pending.get();
  EXPECT_EQ(r.error, CallError::kDeadlineExceeded);
  ASSERT_TRUE(r.call);
  EXPECT_EQ(r.call->end_reason, EndReason::kTimeout);
}

// Two bindings: both ring; one answers, the other gets CANCEL.
TEST_F(OutboundFlow, ForkedCallCancelsTheOtherBranch) {
  watch();
  TestDevice desk = device("alice");
  TestDevice mobile = device("alice");
  ASSERT_TRUE(desk.register_binding());
  ASSERT_TRUE(mobile.register_binding());
  CallResult created = create(call_to());
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created.call->branches, 2);
  std::optional<sip::Message> i1 = desk.expect_request("INVITE");
  std::optional<sip::Message> i2 = mobile.expect_request("INVITE");
  ASSERT_TRUE(i1 && i2);
  EXPECT_EQ(i1->call_id(), i2->call_id());
  EXPECT_NE(i1->top_via()->branch(), i2->top_via()->branch());
  mobile.send(mobile.response(*i2, 180));
  ASSERT_TRUE(events.wait(CallEventType::kRinging, created.call->id));
  desk.send(desk.response(*i1, 200, kAnswer));
  ASSERT_TRUE(desk.expect_request("ACK"));
  std::optional<sip::Message> cancel = mobile.expect_request("CANCEL");
  ASSERT_TRUE(cancel);
  EXPECT_EQ(cancel->top_via()->branch(), i2->top_via()->branch());
  mobile.send(mobile.response(*cancel, 200));
  mobile.send(mobile.response(*i2, 487));
  ASSERT_TRUE(mobile.expect_request("ACK"));
  CallInfo info = wait_state(created.call->id, CallState::kAnswered);
  EXPECT_EQ(info.answered_contact, desk.contact_uri());
}

// A 2xx from the second branch after the first won: ACK + BYE.
TEST_F(OutboundFlow, LateSecondAnswerIsAckedAndHungUp) {
  TestDevice desk = device("alice");
  TestDevice mobile = device("alice");
  ASSERT_TRUE(desk.register_binding());
  ASSERT_TRUE(mobile.register_binding());
  CallResult created = create(call_to());
  ASSERT_TRUE(created.ok());
  std::optional<sip::Message> i1 = desk.expect_request("INVITE");
  std::optional<sip::Message> i2 = mobile.expect_request("INVITE");
  ASSERT_TRUE(i1 && i2);
  desk.send(desk.response(*i1, 200, kAnswer));
  ASSERT_TRUE(desk.expect_request("ACK"));
  wait_state(created.call->id, CallState::kAnswered);
  // The mobile never sent a provisional, so no CANCEL could go; it answers too.
  mobile.send(mobile.response(*i2, 200, kAnswer));
  std::vector<sip::Message> got = mobile.expect_requests({"ACK", "BYE"});
  ASSERT_EQ(got.size(), 2u);
  std::optional<sip::Message> bye = std::move(got[1]);
  EXPECT_EQ(bye->to()->tag(), mobile.tag());
  EXPECT_EQ(bye->call_id(), i2->call_id());
  mobile.send(mobile.response(*bye, 200));
  EXPECT_EQ(get(created.call->id).state, CallState::kAnswered);  // the call goes on
  EXPECT_TRUE(desk.silent(std::chrono::milliseconds(100)));
}

// HangupCall before the answer sends CANCEL; ENDED HANGUP_API.
TEST_F(OutboundFlow, HangupBeforeAnswerCancels) {
  TestDevice alice = device("alice");
  ASSERT_TRUE(alice.register_binding());
  CallResult created = create(call_to());
  ASSERT_TRUE(created.ok());
  std::optional<sip::Message> invite = alice.expect_request("INVITE");
  ASSERT_TRUE(invite);
  alice.send(alice.response(*invite, 180));
  wait_state(created.call->id, CallState::kRinging);
  CallResult hung = sync([&](CallEngine::Done d) { engine->hangup_call(created.call->id, d); });
  ASSERT_TRUE(hung.ok());
  EXPECT_EQ(hung.call->state, CallState::kEnded);
  EXPECT_EQ(hung.call->end_reason, EndReason::kHangupApi);
  std::optional<sip::Message> cancel = alice.expect_request("CANCEL");
  ASSERT_TRUE(cancel);
  alice.send(alice.response(*cancel, 200));
  alice.send(alice.response(*invite, 487));
  ASSERT_TRUE(alice.expect_request("ACK"));
  CallResult again = sync([&](CallEngine::Done d) { engine->hangup_call(created.call->id, d); });
  EXPECT_EQ(again.error, CallError::kFailedPrecondition);
}

// HangupCall after the answer sends BYE; the device's 200 ends it; HANGUP_API.
TEST_F(OutboundFlow, HangupAfterAnswerSendsBye) {
  TestDevice alice = device("alice");
  ASSERT_TRUE(alice.register_binding());
  CallResult created = create(call_to());
  std::optional<sip::Message> invite = alice.expect_request("INVITE");
  ASSERT_TRUE(invite);
  alice.send(alice.response(*invite, 200, kAnswer));
  ASSERT_TRUE(alice.expect_request("ACK"));
  wait_state(created.call->id, CallState::kAnswered);
  CallResult hung = sync([&](CallEngine::Done d) { engine->hangup_call(created.call->id, d); });
  ASSERT_TRUE(hung.ok());
  std::optional<sip::Message> bye = alice.expect_request("BYE");
  ASSERT_TRUE(bye);
  EXPECT_EQ(bye->cseq()->seq, 2u);
  EXPECT_EQ(bye->to()->tag(), alice.tag());
  EXPECT_EQ(bye->from()->tag(), invite->from()->tag());
  EXPECT_EQ(bye->request_uri().text, alice.contact_uri());
  alice.send(alice.response(*bye, 200));
  CallInfo info = get(created.call->id);
  EXPECT_EQ(info.state, CallState::kEnded);
  EXPECT_EQ(info.end_reason, EndReason::kHangupApi);
}

// BYE from the device: 200, ENDED HANGUP_REMOTE.
TEST_F(OutboundFlow, DeviceHangsUp) {
  watch();
  TestDevice alice = device("alice");
  ASSERT_TRUE(alice.register_binding());
  CallResult created = create(call_to());
  std::optional<sip::Message> invite = alice.expect_request("INVITE");
  ASSERT_TRUE(invite);
  alice.send(alice.response(*invite, 200, kAnswer));
  ASSERT_TRUE(alice.expect_request("ACK"));
  wait_state(created.call->id, CallState::kAnswered);
  alice.send(alice.in_dialog(*invite, "BYE", 1));
  ASSERT_TRUE(alice.expect_response(200));
  std::optional<CallEvent> ended = events.wait(CallEventType::kEnded, created.call->id);
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->call.end_reason, EndReason::kHangupRemote);
  // A BYE for a dialog that is gone: 481.
  alice.send(alice.in_dialog(*invite, "BYE", 2));
  ASSERT_TRUE(alice.expect_response(481));
}

// SendDtmf → one INFO dtmf-relay per digit, in order; INFO from the device → DTMF event.
TEST_F(OutboundFlow, DtmfBothWays) {
  watch();
  TestDevice alice = device("alice");
  ASSERT_TRUE(alice.register_binding());
  CallResult created = create(call_to());
  std::optional<sip::Message> invite = alice.expect_request("INVITE");
  ASSERT_TRUE(invite);
  alice.send(alice.response(*invite, 200, kAnswer));
  ASSERT_TRUE(alice.expect_request("ACK"));
  wait_state(created.call->id, CallState::kAnswered);

  CallResult bad = sync([&](CallEngine::Done d) {
    engine->send_dtmf(created.call->id, "1x", std::chrono::milliseconds(250), d);
  });
  EXPECT_EQ(bad.error, CallError::kInvalidArgument);
  CallResult sent = sync([&](CallEngine::Done d) {
    engine->send_dtmf(created.call->id, "5#", std::chrono::milliseconds(250), d);
  });
  ASSERT_TRUE(sent.ok()) << sent.message;
  std::optional<sip::Message> info1 = alice.expect_request("INFO");
  ASSERT_TRUE(info1);
  EXPECT_EQ(info1->content_type(), "application/dtmf-relay");
  EXPECT_EQ(info1->body(), "Signal=5\r\nDuration=250\r\n");
  EXPECT_TRUE(alice.silent(std::chrono::milliseconds(100)));  // one at a time
  alice.send(alice.response(*info1, 200));
  // Paced: nothing before the first digit's 250 ms plus the gap have passed.
  EXPECT_TRUE(alice.silent(std::chrono::milliseconds(100)));
  clock->advance(std::chrono::milliseconds(300));
  std::optional<sip::Message> info2 = alice.expect_request("INFO");
  ASSERT_TRUE(info2);
  EXPECT_EQ(info2->body(), "Signal=#\r\nDuration=250\r\n");
  EXPECT_GT(info2->cseq()->seq, info1->cseq()->seq);
  alice.send(alice.response(*info2, 200));

  alice.send(alice.in_dialog(*invite, "INFO", 1, "application/dtmf-relay", "Signal=7\r\nDuration=160\r\n"));
  ASSERT_TRUE(alice.expect_response(200));
  std::optional<CallEvent> dtmf = events.wait(CallEventType::kDtmf, created.call->id);
  ASSERT_TRUE(dtmf);
  EXPECT_EQ(dtmf->digit, "7");
  alice.send(alice.in_dialog(*invite, "INFO", 2, "application/dtmf-relay", "Signal=Z\r\n"));
  ASSERT_TRUE(alice.expect_response(400));
}

// A re-INVITE from the device (hold) is answered with our SDP; UPDATED.
TEST_F(OutboundFlow, ReInviteFromDeviceIsAnswered) {
  watch();
  TestDevice alice = device("alice");
  ASSERT_TRUE(alice.register_binding());
  CallResult created = create(call_to());
  std::optional<sip::Message> invite = alice.expect_request("INVITE");
  ASSERT_TRUE(invite);
  alice.send(alice.response(*invite, 200, kAnswer));
  ASSERT_TRUE(alice.expect_request("ACK"));
  wait_state(created.call->id, CallState::kAnswered);
  const std::string hold = "v=0\r\ns=hold\r\na=sendonly\r\n";
  alice.send(alice.in_dialog(*invite, "INVITE", 1, "application/sdp", hold));
  std::optional<sip::Message> ok = alice.expect_response(200);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->body(), kOffer);
  EXPECT_EQ(ok->to()->tag(), invite->from()->tag());
  std::optional<CallEvent> updated = events.wait(CallEventType::kUpdated, created.call->id);
  ASSERT_TRUE(updated);
  EXPECT_EQ(updated->call.remote_sdp, hold);
  // Until the ACK the 200 is retransmitted (T1 = 50 ms on the test clock).
  clock->advance(std::chrono::milliseconds(60));
  ASSERT_TRUE(alice.expect_response(200));
  std::string ack = alice.in_dialog(*invite, "ACK", 1);
  alice.send(ack);
  // Nothing observable says the ACK is in; give it a moment before time moves.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  clock->advance(std::chrono::milliseconds(500));
  EXPECT_TRUE(alice.silent(std::chrono::milliseconds(150)));
}

// A wrong password and an unknown user get the same kPermissionDenied, and no INVITE.
TEST_F(OutboundFlow, CredentialMismatchSendsNothing) {
  TestDevice alice = device("alice");
  ASSERT_TRUE(alice.register_binding());
  CreateCallRequest wrong = call_to();
  wrong.sip_auth_username = "alice";
  wrong.sip_auth_password = "guess";
  CallResult r1 = create(wrong);
  CreateCallRequest unknown = call_to();
  unknown.sip_auth_username = "mallory";
  unknown.sip_auth_password = "guess";
  CallResult r2 = create(unknown);
  EXPECT_EQ(r1.error, CallError::kPermissionDenied);
  EXPECT_EQ(r2.error, CallError::kPermissionDenied);
  EXPECT_EQ(r1.reason, "CREDENTIAL_MISMATCH");
  EXPECT_EQ(r1.message, r2.message);
  EXPECT_FALSE(r1.call.has_value());
  EXPECT_TRUE(alice.silent(std::chrono::milliseconds(150)));
}

// With sip_auth_username only that user's registrations are rung: bob's
// (valid) credentials never ring alice's phone.
TEST_F(OutboundFlow, AuthUsernameRingsOnlyItsOwnBindings) {
  TestDevice alice = device("alice");
  ASSERT_TRUE(alice.register_binding());
  CreateCallRequest as_bob = call_to();
  as_bob.sip_auth_username = "bob";
  as_bob.sip_auth_password = "bob-pw";
  CallResult r = create(as_bob);
  EXPECT_EQ(r.error, CallError::kFailedPrecondition);
  EXPECT_EQ(r.reason, "NO_BINDINGS");
  EXPECT_NE(r.message.find("registered by user bob"), std::string::npos) << r.message;
  EXPECT_TRUE(alice.silent(std::chrono::milliseconds(150)));
  CreateCallRequest as_alice = call_to();
  as_alice.sip_auth_username = "alice";
  as_alice.sip_auth_password = "alice-pw";
  ASSERT_TRUE(create(as_alice).ok());
  EXPECT_TRUE(alice.expect_request("INVITE"));
}

// No registered contact → kFailedPrecondition NO_BINDINGS; unserved realm → kNotFound.
TEST_F(OutboundFlow, NoBindingsAndUnservedRealm) {
  CallResult none = create(call_to("sip:bob@acme.test"));
  EXPECT_EQ(none.error, CallError::kFailedPrecondition);
  EXPECT_EQ(none.reason, "NO_BINDINGS");
  CallResult realm = create(call_to("sip:bob@elsewhere.test"));
  EXPECT_EQ(realm.error, CallError::kNotFound);
  EXPECT_EQ(realm.reason, "REALM_NOT_SERVED");
  CallResult bad = create(call_to("mailto:bob@acme.test"));
  EXPECT_EQ(bad.error, CallError::kInvalidArgument);
}

// The same request_id from the same creator returns the same call: one INVITE.
TEST_F(OutboundFlow, RequestIdIsIdempotent) {
  TestDevice alice = device("alice");
  ASSERT_TRUE(alice.register_binding());
  CreateCallRequest req = call_to();
  req.request_id = "retry-1";
  CallResult a = create(req);
  CallResult b = create(req);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a.call->id, b.call->id);
  ASSERT_TRUE(alice.expect_request("INVITE"));
  EXPECT_TRUE(alice.silent(std::chrono::milliseconds(150)));
  req.creator = "another-token";
  CallResult c = create(req);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(c.call->id, a.call->id);
}

// A TCP binding is called over the connection it registered on.
TEST_F(OutboundFlow, TcpBindingIsCalledOverItsConnection) {
  TestDevice alice = device("alice", /*tcp=*/true);
  ASSERT_TRUE(alice.register_binding());
  CallResult created = create(call_to());
  ASSERT_TRUE(created.ok()) << created.message;
  std::optional<sip::Message> invite = alice.expect_request("INVITE");
  ASSERT_TRUE(invite);
  EXPECT_EQ(invite->top_via()->transport, "TCP");
  EXPECT_THAT(std::string(invite->header(sip::HeaderId::kContact)), HasSubstr("transport=tcp"));
  alice.send(alice.response(*invite, 200, kAnswer));
  ASSERT_TRUE(alice.expect_request("ACK"));
  wait_state(created.call->id, CallState::kAnswered);
}

// Lists and gets: ids sort by creation; unknown id → kNotFound.
TEST_F(OutboundFlow, ListAndGet) {
  TestDevice alice = device("alice");
  ASSERT_TRUE(alice.register_binding());
  CallResult a = create(call_to());
  CallResult b = create(call_to());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_LT(a.call->id, b.call->id);
  auto promise = std::make_shared<std::promise<std::vector<CallInfo>>>();
  engine->list_calls({}, [promise](std::vector<CallInfo> v) { promise->set_value(std::move(v)); });
  std::vector<CallInfo> all = promise->get_future().get();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, a.call->id);
  switchboard::calls::ListCallsQuery page;
  page.after_id = a.call->id;
  auto p2 = std::make_shared<std::promise<std::vector<CallInfo>>>();
  engine->list_calls(page, [p2](std::vector<CallInfo> v) { p2->set_value(std::move(v)); });
  std::vector<CallInfo> rest = p2->get_future().get();
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].id, b.call->id);
  CallResult missing = sync([&](CallEngine::Done d) { engine->get_call("c00000000000000000000", d); });
  EXPECT_EQ(missing.error, CallError::kNotFound);
}

// The device never answers a provisional-less INVITE: Timer B → UNREACHABLE 408.
TEST_F(OutboundFlow, SilentDeviceIsUnreachable) {
  TestDevice alice = device("alice");
  ASSERT_TRUE(alice.register_binding());
  CallResult created = create(call_to());
  ASSERT_TRUE(alice.expect_request("INVITE"));
  // Timer A: retransmissions at T1, 2*T1 … on the simulated clock.
  clock->advance(std::chrono::milliseconds(60));
  ASSERT_TRUE(alice.expect_request("INVITE"));
  clock->advance(seconds(4));  // past Timer B = 64*T1 = 3.2 s
  CallInfo info = wait_state(created.call->id, CallState::kEnded);
  EXPECT_EQ(info.end_reason, EndReason::kUnreachable);
  EXPECT_EQ(info.sip_status, 408);
}

// wait_for ANSWERED: CreateCall returns at the answer, with the answer SDP.
TEST_F(OutboundFlow, WaitForAnsweredReturnsAtTheAnswer) {
  TestDevice alice = device("alice");
  ASSERT_TRUE(alice.register_binding());
  CreateCallRequest req = call_to();
  req.wait_for = CreateCallRequest::WaitFor::kAnswered;
  std::future<CallResult> pending =
      async([&](CallEngine::Done done) { engine->create_call(req, std::move(done)); });
  std::optional<sip::Message> invite = alice.expect_request("INVITE");
  ASSERT_TRUE(invite);
  alice.send(alice.response(*invite, 183, "v=0\r\ns=early\r\n"));
  EXPECT_EQ(pending.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  alice.send(alice.response(*invite, 200, kAnswer));
  CallResult r = pending.get();
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.call->state, CallState::kAnswered);
  EXPECT_EQ(r.call->remote_sdp, kAnswer);
  ASSERT_TRUE(alice.expect_request("ACK"));
}

// Responses that match nothing or lack what matching needs are dropped; the
// call goes on and a real final still counts.
TEST_F(OutboundFlow, HostileResponsesAreDropped) {
  TestDevice alice = device("alice");
  ASSERT_TRUE(alice.register_binding());
  CallResult created = create(call_to());
  std::optional<sip::Message> invite = alice.expect_request("INVITE");
  ASSERT_TRUE(invite);
  std::string ok = alice.response(*invite, 200, kAnswer);
  std::string other_branch = ok;
  other_branch.replace(other_branch.find(std::string(invite->top_via()->branch())),
                       invite->top_via()->branch().size(), "z9hG4bK-forged");
  alice.send(other_branch);
  std::string no_cseq = ok;
  size_t at = no_cseq.find("CSeq:");
  no_cseq.erase(at, no_cseq.find("\r\n", at) + 2 - at);
  alice.send(no_cseq);
  alice.send("SIP/2.0 200 OK\r\n\r\n");
  alice.send(std::string("SIP/2.0 999 \0\0\0\r\nVia: x\r\n\r\n", 27));
  EXPECT_TRUE(alice.silent(std::chrono::milliseconds(100)));  // nothing ACKed
  EXPECT_EQ(get(created.call->id).state, CallState::kTrying);
  alice.send(alice.response(*invite, 486));
  ASSERT_TRUE(alice.expect_request("ACK"));
  EXPECT_EQ(wait_state(created.call->id, CallState::kEnded).sip_status, 486);
}

// stop(): an answered call gets BYE, a ringing one CANCEL; both end SHUTDOWN;
// afterwards the API answers UNAVAILABLE.
TEST_F(OutboundFlow, StopEndsEveryCall) {
  watch();
  TestDevice alice = device("alice");
  TestDevice bob = device("bob");
  ASSERT_TRUE(alice.register_binding());
  ASSERT_TRUE(bob.register_binding());
  CallResult a = create(call_to());
  std::optional<sip::Message> ia = alice.expect_request("INVITE");
  ASSERT_TRUE(ia);
  alice.send(alice.response(*ia, 200, kAnswer));
  ASSERT_TRUE(alice.expect_request("ACK"));
  wait_state(a.call->id, CallState::kAnswered);
  CallResult b = create(call_to("sip:bob@acme.test"));
  std::optional<sip::Message> ib = bob.expect_request("INVITE");
  ASSERT_TRUE(ib);
  bob.send(bob.response(*ib, 180));
  ASSERT_TRUE(events.wait(CallEventType::kRinging, b.call->id));

  std::thread stopper([&] { engine->stop(std::chrono::milliseconds(1500)); });
  std::optional<sip::Message> bye = alice.expect_request("BYE");
  std::optional<sip::Message> cancel = bob.expect_request("CANCEL");
  ASSERT_TRUE(bye && cancel);
  alice.send(alice.response(*bye, 200));
  bob.send(bob.response(*cancel, 200));
  bob.send(bob.response(*ib, 487));
  stopper.join();
  std::optional<CallEvent> ended_a = events.wait(CallEventType::kEnded, a.call->id);
  ASSERT_TRUE(ended_a);
  EXPECT_EQ(ended_a->call.end_reason, EndReason::kShutdown);
  CallResult after = create(call_to());
  EXPECT_EQ(after.error, CallError::kUnavailable);
}

// Draining: CreateCall gets UNAVAILABLE, calls in progress go on.
TEST_F(OutboundFlow, DrainingRefusesNewCalls) {
  TestDevice alice = device("alice");
  ASSERT_TRUE(alice.register_binding());
  engine->set_draining(true);
  CallResult r = create(call_to());
  EXPECT_EQ(r.error, CallError::kUnavailable);
  EXPECT_TRUE(alice.silent(std::chrono::milliseconds(100)));
}

class AdvertisedOutboundFlow : public CallFixture {
 protected:
  void SetUp() override {
    auto o = default_options();
    o.advertised_host = "sip.example.test";
    start(o);
  }
};

// sip.advertise: the Via sent-by and the Contact name the advertised host
// (what a device behind NAT or a load balancer must send its requests to).
TEST_F(AdvertisedOutboundFlow, ViaAndContactUseTheAdvertisedHost) {
  TestDevice alice = device("alice");
  ASSERT_TRUE(alice.register_binding());
  ASSERT_TRUE(create(call_to()).ok());
  std::optional<sip::Message> invite = alice.expect_request("INVITE");
  ASSERT_TRUE(invite);
  ASSERT_TRUE(invite->top_via());
  EXPECT_EQ(invite->top_via()->host, "sip.example.test");
  std::vector<sip::NameAddr> contacts = invite->contacts();
  ASSERT_EQ(contacts.size(), 1u);
  EXPECT_EQ(contacts[0].uri.host, "sip.example.test");
}

class LimitedOutboundFlow : public CallFixture {
 protected:
  void SetUp() override {
    auto o = default_options();
    o.max_calls = 1;
    start(o);
  }
};

// max_calls concurrent calls: the next CreateCall gets kResourceExhausted.
TEST_F(LimitedOutboundFlow, MaxCallsIsEnforced) {
  TestDevice alice = device("alice");
  ASSERT_TRUE(alice.register_binding());
  CallResult a = create(call_to());
  ASSERT_TRUE(a.ok());
  CallResult b = create(call_to());
  EXPECT_EQ(b.error, CallError::kResourceExhausted);
  EXPECT_EQ(b.reason, "TOO_MANY_CALLS");
  EXPECT_EQ(engine->active_calls(), 1u);
}

}  // namespace
}  // namespace calltest
