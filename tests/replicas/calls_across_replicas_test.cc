// Calls across replicas (docs/scale-out.md, "Calls across replicas"): two
// replicas, A and B, in the test process with real SIP sockets and real gRPC
// between them; devices are scripted UDP sockets whose bindings name the
// replica holding their flow. A client talks to B only; whatever B cannot do
// itself it carries to A, and B's WatchCalls shows A's calls.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <thread>

#include "gateway/api/replica_metadata.h"
#include "replica_fixture.h"

namespace replicatest {
namespace {

using namespace std::chrono_literals;
using calltest::TestDevice;
using testing::Contains;
using testing::HasSubstr;

class CallsAcrossReplicas : public ReplicasTest {
 protected:
  // The device's INVITE to `to` through `holder` (challenged, then
  // authenticated like a REGISTER); returns the spec of the authenticated one.
  static TestDevice::Invite call_in(TestDevice& dev, const std::string& to = "sip:agent@acme.test",
                                    const std::string& name = "first") {
    TestDevice::Invite spec;
    spec.to = to;
    spec.call_id = "in-" + name + "-" + dev.tag();
    spec.from_tag = "from-" + name;
    spec.branch = "z9hG4bK-in-1-" + name + "-" + dev.tag();
    dev.send(dev.invite(spec));
    std::optional<sip::Message> challenge = dev.expect_response(401);
    if (!challenge) return spec;
    dev.send(dev.ack_non_2xx(spec, *challenge));
    spec.cseq = 2;
    spec.branch = "z9hG4bK-in-2-" + name + "-" + dev.tag();
    spec.auth = calltest::digest_authorization(*challenge, "INVITE", spec.to, dev.user(),
                                               dev.user() + "-pw");
    dev.send(dev.invite(spec));
    return spec;
  }
};

// The flow: CreateCall via B rings a device registered via A, and
// every call event reaches B's caller. The INVITE, the ACK, the INFO and the
// BYE all leave from A (the Via names A's listener), the only place the
// device's flow exists; B's caller sees CREATED … RINGING, ANSWERED, ENDED on
// B's WatchCalls with B's increasing sequences, reads the call with GetCall
// and sends DTMF and hangs up through B.
TEST_F(CallsAcrossReplicas, CreateCallViaBRingsTheDeviceHeldByA) {
  TestDevice bob = device_at(a(), "bob");
  Watch w = watch(b());

  v1::CreateCallRequest request = to("sip:bob@acme.test");
  (*request.mutable_headers())["X-Campaign"] = "spring";
  v1::Call call;
  grpc::Status s = b().calls().CreateCall(ctx().get(), request, &call);
  ASSERT_TRUE(s.ok()) << describe(s);
  EXPECT_EQ(call.to(), "sip:bob@acme.test");
  EXPECT_EQ(call.headers().at("X-Campaign"), "spring");

  std::optional<sip::Message> invite = bob.expect_request("INVITE");
  ASSERT_TRUE(invite) << "no INVITE at the device";
  ASSERT_TRUE(invite->top_via());
  EXPECT_EQ(invite->top_via()->port, a().sip_port()) << "the INVITE must leave from A";
  bob.send(bob.response(*invite, 180));
  bob.send(bob.response(*invite, 200, kDeviceSdp));
  ASSERT_TRUE(bob.expect_request("ACK"));

  std::vector<v1::CallEvent> events = read_until(w, v1::CallEvent::ANSWERED);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(types(events).front(), "CREATED");
  EXPECT_THAT(types(events), Contains("RINGING"));
  for (const auto& e : events) EXPECT_EQ(e.call().name(), call.name());
  EXPECT_EQ(events.back().call().remote_sdp(), kDeviceSdp);

  v1::GetCallRequest get;
  get.set_name(call.name());
  v1::Call got;
  s = b().calls().GetCall(ctx(kReadToken).get(), get, &got);
  ASSERT_TRUE(s.ok()) << describe(s);
  EXPECT_EQ(got.state(), v1::Call::ANSWERED);
  EXPECT_EQ(got.answered_contact(), bob.contact_uri());

  v1::SendDtmfRequest dtmf;
  dtmf.set_name(call.name());
  dtmf.set_digits("7");
  s = b().calls().SendDtmf(ctx().get(), dtmf, &got);
  ASSERT_TRUE(s.ok()) << describe(s);
  std::optional<sip::Message> info = bob.expect_request("INFO");
  ASSERT_TRUE(info);
  EXPECT_THAT(std::string(info->body()), HasSubstr("Signal=7"));
  EXPECT_EQ(info->top_via()->port, a().sip_port());
  bob.send(bob.response(*info, 200));

  v1::HangupCallRequest hangup;
  hangup.set_name(call.name());
  v1::Call after;
  s = b().calls().HangupCall(ctx().get(), hangup, &after);
  ASSERT_TRUE(s.ok()) << describe(s);
  EXPECT_EQ(after.state(), v1::Call::ENDED);
  std::optional<sip::Message> bye = bob.expect_request("BYE");
  ASSERT_TRUE(bye) << "no BYE at the device";
  EXPECT_EQ(bye->top_via()->port, a().sip_port());
  bob.send(bob.response(*bye, 200));

  std::vector<v1::CallEvent> rest = read_until(w, v1::CallEvent::ENDED);
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest.back().call().end_reason(), v1::Call::HANGUP_API);
  events.insert(events.end(), rest.begin(), rest.end());
  for (size_t i = 1; i < events.size(); ++i)
    EXPECT_GT(events[i].sequence(), events[i - 1].sequence()) << "B's own sequence, increasing";
  w.context->TryCancel();
}

// wait_for ANSWERED is carried out by the owner: B's CreateCall returns the
// answered call. A retry with the same request_id through B gets the same
// call (the creator at A is the client's token, not the replica).
TEST_F(CallsAcrossReplicas, WaitForAnsweredAndRequestIdAreKeptAcrossTheHop) {
  TestDevice bob = device_at(a(), "bob");
  v1::CreateCallRequest request = to("sip:bob@acme.test");
  request.set_wait_for(v1::CreateCallRequest::ANSWERED);
  request.set_request_id("order-1234");
  auto created = std::async(std::launch::async, [&] {
    v1::Call call;
    grpc::Status s = b().calls().CreateCall(ctx().get(), request, &call);
    return std::make_pair(s, call);
  });
  std::optional<sip::Message> invite = bob.expect_request("INVITE");
  ASSERT_TRUE(invite);
  bob.send(bob.response(*invite, 180));
  EXPECT_EQ(created.wait_for(100ms), std::future_status::timeout) << "returned before the answer";
  bob.send(bob.response(*invite, 200, kDeviceSdp));
  auto [status, call] = created.get();
  ASSERT_TRUE(status.ok()) << describe(status);
  EXPECT_EQ(call.state(), v1::Call::ANSWERED);

  request.set_wait_for(v1::CreateCallRequest::NONE);
  v1::Call again;
  grpc::Status s = b().calls().CreateCall(ctx().get(), request, &again);
  ASSERT_TRUE(s.ok()) << describe(s);
  EXPECT_EQ(again.name(), call.name());
  // Only the first call's messages (its ACK, a retransmitted INVITE): no new call.
  while (std::optional<sip::Message> m = bob.receive(200ms)) {
    if (!m->is_request()) continue;
    EXPECT_EQ(m->call_id(), invite->call_id()) << "a second call was made";
  }
}

// An inbound call on A (the device's flow is there) is offered to a watcher
// on B, answered through B (AnswerCall carried to A: the 200 leaves A), and
// hung up through B.
TEST_F(CallsAcrossReplicas, InboundCallOnAIsAnsweredThroughB) {
  TestDevice alice = device_at(a(), "alice");
  v1::WatchCallsRequest incoming_only;
  incoming_only.add_types(v1::CallEvent::INCOMING);
  Watch w = watch(b(), incoming_only);

  TestDevice::Invite spec = call_in(alice);
  ASSERT_TRUE(alice.expect_response(180)) << "A did not offer the call (no consumer?)";
  std::vector<v1::CallEvent> offered = read_until(w, v1::CallEvent::INCOMING);
  ASSERT_EQ(offered.size(), 1u);
  const v1::Call& call = offered.front().call();
  EXPECT_EQ(call.direction(), v1::Call::INBOUND);
  EXPECT_EQ(call.aor(), "sip:alice@acme.test");

  v1::AnswerCallRequest answer;
  answer.set_name(call.name());
  answer.set_sdp_answer(kAgentSdp);
  auto answered = std::async(std::launch::async, [&] {
    v1::Call out;
    grpc::Status s = b().calls().AnswerCall(ctx().get(), answer, &out);
    return std::make_pair(s, out);
  });
  std::optional<sip::Message> ok = alice.expect_response(200);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->body(), kAgentSdp);
  alice.send(alice.ack_2xx(spec, *ok));
  auto [status, after] = answered.get();
  ASSERT_TRUE(status.ok()) << describe(status);
  EXPECT_EQ(after.state(), v1::Call::ANSWERED);

  v1::HangupCallRequest hangup;
  hangup.set_name(call.name());
  v1::Call ended;
  grpc::Status s = b().calls().HangupCall(ctx().get(), hangup, &ended);
  ASSERT_TRUE(s.ok()) << describe(s);
  std::optional<sip::Message> bye = alice.expect_request("BYE");
  ASSERT_TRUE(bye);
  alice.send(alice.response(*bye, 200));
  w.context->TryCancel();
}

// A's "nobody watches → 480 at once" stays true across replicas: B's stream
// to A counts only because B has a watcher, and offers calls only when that
// watcher may answer (role calls), not for a read-only one.
TEST_F(CallsAcrossReplicas, InboundCallWithoutAnsweringWatcherAnywhereGets480) {
  TestDevice alice = device_at(a(), "alice");
  TestDevice::Invite first = call_in(alice);
  std::optional<sip::Message> refused = alice.expect_response(480);
  ASSERT_TRUE(refused) << "no watcher anywhere";
  alice.send(alice.ack_non_2xx(first, *refused));

  Watch reader = watch(b(), {}, kReadToken);  // headers: B's stream to A is open
  TestDevice::Invite second = call_in(alice, "sip:agent@acme.test", "second");
  refused = alice.expect_response(480);
  ASSERT_TRUE(refused) << "a read-only watcher on B cannot answer";
  alice.send(alice.ack_non_2xx(second, *refused));
  reader.context->TryCancel();
}

// A call another client made at A shows on B's WatchCalls, and B learns
// from it where the call runs: B's client hangs it up through B.
TEST_F(CallsAcrossReplicas, CallMadeAtAIsSeenAndHungUpThroughB) {
  TestDevice bob = device_at(a(), "bob");
  Watch w = watch(b());
  v1::Call call;
  grpc::Status s = a().calls().CreateCall(ctx().get(), to("sip:bob@acme.test"), &call);
  ASSERT_TRUE(s.ok()) << describe(s);
  std::optional<sip::Message> invite = bob.expect_request("INVITE");
  ASSERT_TRUE(invite);
  bob.send(bob.response(*invite, 180));
  std::vector<v1::CallEvent> events = read_until(w, v1::CallEvent::RINGING);
  EXPECT_EQ(types(events).front(), "CREATED");

  v1::HangupCallRequest hangup;
  hangup.set_name(call.name());
  v1::Call ended;
  s = b().calls().HangupCall(ctx().get(), hangup, &ended);
  ASSERT_TRUE(s.ok()) << describe(s);
  EXPECT_EQ(ended.end_reason(), v1::Call::HANGUP_API);
  ASSERT_TRUE(bob.expect_request("CANCEL")) << "A cancels the INVITE it sent";
  w.context->TryCancel();
}

// Watchers on both replicas: each sees every event of a call once. B relays
// A's events to its own watchers only; A's stream from B carries B's calls
// only, so A's events never come back to A.
TEST_F(CallsAcrossReplicas, EventsDoNotLoopBetweenReplicas) {
  TestDevice bob = device_at(a(), "bob");
  Watch at_a = watch(a());
  Watch at_b = watch(b());
  v1::Call call;
  ASSERT_TRUE(a().calls().CreateCall(ctx().get(), to("sip:bob@acme.test"), &call).ok());
  std::optional<sip::Message> invite = bob.expect_request("INVITE");
  ASSERT_TRUE(invite);
  bob.send(bob.response(*invite, 486));
  ASSERT_TRUE(bob.expect_request("ACK"));
  for (Watch* w : {&at_a, &at_b}) {
    std::vector<std::string> seen = types(read_until(*w, v1::CallEvent::ENDED));
    EXPECT_EQ(std::count(seen.begin(), seen.end(), "CREATED"), 1) << testing::PrintToString(seen);
  }
  // A looped copy would come a round trip later: after a second call's
  // events, nothing of the first may have arrived.
  std::this_thread::sleep_for(100ms);
  v1::Call second;
  ASSERT_TRUE(a().calls().CreateCall(ctx().get(), to("sip:bob@acme.test"), &second).ok());
  invite = bob.expect_request("INVITE");
  ASSERT_TRUE(invite);
  bob.send(bob.response(*invite, 486));
  ASSERT_TRUE(bob.expect_request("ACK"));
  for (Watch* w : {&at_a, &at_b}) {
    for (const v1::CallEvent& e : read_until(*w, v1::CallEvent::ENDED))
      EXPECT_EQ(e.call().name(), second.name()) << "an event came round again: " << e.DebugString();
    w->context->TryCancel();
  }
}

// A replica rings only the flows it holds: bob registered through both A
// and B; a call made at A rings only the device A holds (B's device never
// hears an INVITE from A, whose socket it never talked to).
TEST_F(CallsAcrossReplicas, EachReplicaRingsOnlyTheFlowsItHolds) {
  TestDevice bob_a = device_at(a(), "bob");
  TestDevice bob_b = device_at(b(), "bob");
  v1::Call call;
  grpc::Status s = a().calls().CreateCall(ctx().get(), to("sip:bob@acme.test"), &call);
  ASSERT_TRUE(s.ok()) << describe(s);
  EXPECT_EQ(call.branches(), 1);
  ASSERT_TRUE(bob_a.expect_request("INVITE"));
  EXPECT_TRUE(bob_b.silent(300ms));
}

// Call ids never collide across replicas: each carries its replica's node.
TEST_F(CallsAcrossReplicas, CallIdsOfTheTwoReplicasDiffer) {
  TestDevice bob_a = device_at(a(), "bob");
  TestDevice alice_b = device_at(b(), "alice");
  v1::Call at_a, at_b;
  ASSERT_TRUE(a().calls().CreateCall(ctx().get(), to("sip:bob@acme.test"), &at_a).ok());
  ASSERT_TRUE(b().calls().CreateCall(ctx().get(), to("sip:alice@acme.test"), &at_b).ok());
  // "calls/c" + 12 hex of time + 4 hex of node + 4 hex of sequence.
  EXPECT_EQ(at_a.name().substr(19, 4), "0041");  // 'A'
  EXPECT_EQ(at_b.name().substr(19, 4), "0042");  // 'B'
}

// --- when the holder cannot do it ----------------------------------------------

// A device registered through a replica that is not running: UNAVAILABLE
// REPLICA_GONE naming it, without sending anything from here (its NAT
// mapping or connection exists only there).
TEST_F(CallsAcrossReplicas, DeviceHeldByAGoneReplicaIsUnavailable) {
  bind_gone("carol", "sb-0");
  v1::Call call;
  grpc::Status s = b().calls().CreateCall(ctx().get(), to("sip:carol@acme.test"), &call);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << describe(s);
  EXPECT_EQ(error_info(s).reason(), "REPLICA_GONE");
  EXPECT_EQ(error_info(s).metadata().at("replica"), "sb-0");
  EXPECT_EQ(s.error_message(),
            "sip:carol@acme.test is registered through replica sb-0, which is not running; the "
            "call can be made once the device registers again");
}

// A killed (its heartbeat lapsed): calls to the devices it held, and the
// calls it ran, are REPLICA_GONE at B; B keeps serving its own devices.
TEST_F(CallsAcrossReplicas, AfterTheHolderDiesBKeepsServingItsOwn) {
  TestDevice bob = device_at(a(), "bob");
  TestDevice alice = device_at(b(), "alice");
  v1::Call call;
  ASSERT_TRUE(b().calls().CreateCall(ctx().get(), to("sip:bob@acme.test"), &call).ok());
  ASSERT_TRUE(bob.expect_request("INVITE"));

  b().directory().remove("A");
  v1::Call out;
  grpc::Status s = b().calls().CreateCall(ctx().get(), to("sip:bob@acme.test"), &out);
  EXPECT_EQ(error_info(s).reason(), "REPLICA_GONE") << describe(s);
  v1::GetCallRequest get;
  get.set_name(call.name());
  s = b().calls().GetCall(ctx().get(), get, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << describe(s);
  EXPECT_EQ(error_info(s).reason(), "REPLICA_GONE");
  EXPECT_THAT(s.error_message(), HasSubstr(call.name()));

  s = b().calls().CreateCall(ctx().get(), to("sip:alice@acme.test"), &out);
  ASSERT_TRUE(s.ok()) << describe(s);
  EXPECT_TRUE(alice.expect_request("INVITE"));
}

// A holder that is listed but does not answer (its process hangs, or died
// within the heartbeat's TTL): UNAVAILABLE REPLICA_UNREACHABLE naming it.
TEST_F(CallsAcrossReplicas, HolderThatDoesNotAnswerIsUnreachable) {
  TestDevice bob = device_at(a(), "bob");
  b().directory().set("A", "127.0.0.1:1");
  v1::Call call;
  grpc::Status s = b().calls().CreateCall(ctx().get(), to("sip:bob@acme.test"), &call);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << describe(s);
  EXPECT_EQ(error_info(s).reason(), "REPLICA_UNREACHABLE");
  EXPECT_EQ(error_info(s).metadata().at("replica"), "A");
  EXPECT_TRUE(bob.silent(200ms));
}

// Only the internal token makes a caller a replica: at A, a wrong one is
// UNAUTHENTICATED like any unknown token, and a client's own token with the
// replica metadata is still that client (its creator name is its own).
TEST_F(CallsAcrossReplicas, WrongInternalTokenIsUnauthenticated) {
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer replica-token-but-not-the-one-0000");
  context.AddMetadata(switchboard::api::kReplicaMetadata, "B");
  v1::GetCallRequest get;
  get.set_name("calls/c00000000000000000000");
  v1::Call out;
  grpc::Status s = a().calls().GetCall(&context, get, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << describe(s);
  EXPECT_EQ(error_info(s).reason(), "TOKEN_UNKNOWN");
}

class ReplicasWithDifferentTokens : public CallsAcrossReplicas {
 protected:
  ReplicaOptions options_b() const override {
    ReplicaOptions o;
    o.token = "another-replica-token-0123456789";
    return o;
  }
};

// B presents a token A does not know: B's client gets INTERNAL
// REPLICA_AUTH_FAILED (a configuration problem between replicas), not A's
// UNAUTHENTICATED, which would blame the client's token.
TEST_F(ReplicasWithDifferentTokens, ForwardingFailsAsAConfigurationProblem) {
  TestDevice bob = device_at(a(), "bob");
  v1::Call call;
  grpc::Status s = b().calls().CreateCall(ctx().get(), to("sip:bob@acme.test"), &call);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL) << describe(s);
  EXPECT_EQ(error_info(s).reason(), "REPLICA_AUTH_FAILED");
  EXPECT_TRUE(bob.silent(200ms));
}

class BWithoutAdvertise : public CallsAcrossReplicas {
 protected:
  ReplicaOptions options_b() const override {
    ReplicaOptions o;
    o.forward = false;
    return o;
  }
};

// Without replica.advertise B does not forward: REPLICA_UNREACHABLE, naming
// the replica to call through.
TEST_F(BWithoutAdvertise, CallsForDevicesHeldElsewhereAreRefused) {
  TestDevice bob = device_at(a(), "bob");
  v1::Call call;
  grpc::Status s = b().calls().CreateCall(ctx().get(), to("sip:bob@acme.test"), &call);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << describe(s);
  EXPECT_EQ(error_info(s).reason(), "REPLICA_UNREACHABLE");
  EXPECT_THAT(s.error_message(), HasSubstr("registered through replica A"));
}

}  // namespace
}  // namespace replicatest
