// CallService's pure parts: CallInfo/CallEvent → messages (names, AOR URI,
// answered_binding, times, duration) and the shape checks of its requests.
#include "gateway/api/call_convert.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/api/resource_names.h"
#include "registrar/binding.h"

namespace switchboard::api {
namespace {

using namespace std::chrono_literals;
using testing::ElementsAre;

std::vector<std::string> fields(const std::vector<FieldViolation>& v) {
  std::vector<std::string> out;
  for (const auto& f : v) out.push_back(f.field);
  return out;
}

// Verifies a CallInfo becomes a Call with resource names, the AOR as a URI,
// the answering binding's name, and duration = end − answer.
TEST(CallConvert, CallInfoToProto) {
  calls::CallInfo c;
  c.id = "c0123456789abcdef0123";
  c.state = calls::CallState::kEnded;
  c.realm = "acme.example";
  c.to_uri = "sip:alice@acme.example";
  c.aor = "alice@acme.example";
  c.answered_contact = "sip:alice@192.0.2.4:5062";
  c.end_reason = calls::EndReason::kHangupRemote;
  c.create_time = calls::WallTime(1000s);
  c.answer_time = calls::WallTime(1002s);
  c.end_time = calls::WallTime(1012s) + 500ms;
  c.custom_headers = {{"X-A", "1"}};
  v1::Call p = to_proto(c);
  EXPECT_EQ(p.name(), "calls/c0123456789abcdef0123");
  EXPECT_EQ(p.realm(), "realms/acme.example");
  EXPECT_EQ(p.aor(), "sip:alice@acme.example");
  registrar::Binding b;
  b.aor = c.aor;
  b.contact = c.answered_contact;
  EXPECT_EQ(p.answered_binding(), binding_name(b));
  EXPECT_EQ(p.state(), v1::Call::ENDED);
  EXPECT_EQ(p.end_reason(), v1::Call::HANGUP_REMOTE);
  EXPECT_EQ(p.duration().seconds(), 10);
  EXPECT_EQ(p.duration().nanos(), 500'000'000);
  EXPECT_FALSE(p.has_ring_time());
  EXPECT_EQ(p.create_time().seconds(), 1000);
  EXPECT_EQ(p.headers().at("X-A"), "1");

  c.end_time = {};
  c.state = calls::CallState::kAnswered;
  EXPECT_FALSE(to_proto(c).has_duration());
}

// Verifies a valid CreateCall maps to the engine's request: defaults,
// ring timeout rounded up to whole seconds, sorted headers, creator.
TEST(CallConvert, CreateCallFromProto) {
  v1::CreateCallRequest in;
  in.set_to("sips:alice@acme.example;transport=tls");
  (*in.mutable_headers())["X-B"] = "2";
  (*in.mutable_headers())["x-a"] = "1";
  in.mutable_ring_timeout()->set_seconds(9);
  in.mutable_ring_timeout()->set_nanos(1);
  in.set_wait_for(v1::CreateCallRequest::RINGING);
  std::vector<FieldViolation> bad;
  calls::CreateCallRequest r = create_call_from_proto(in, "agent", bad);
  EXPECT_TRUE(bad.empty());
  EXPECT_EQ(r.ring_timeout, 10s);
  EXPECT_EQ(r.creator, "agent");
  EXPECT_EQ(r.wait_for, calls::CreateCallRequest::WaitFor::kRinging);
  ASSERT_EQ(r.custom_headers.size(), 2u);
  EXPECT_EQ(r.custom_headers[0].first, "X-B");  // byte order: 'X' < 'x'
  v1::CreateCallRequest plain;
  plain.set_to("sip:bob@acme.example");
  EXPECT_EQ(create_call_from_proto(plain, "agent", bad).ring_timeout, 60s);
  EXPECT_TRUE(bad.empty());
}

// Verifies the small checks: call names, digits, durations, statuses.
TEST(CallConvert, SmallChecks) {
  std::vector<FieldViolation> bad;
  EXPECT_EQ(call_id_from_name("calls/c0123456789abcdef0123", "name", bad),
            "c0123456789abcdef0123");
  EXPECT_TRUE(bad.empty());
  call_id_from_name("calls/c0123", "name", bad);
  check_dtmf_digits("0123456789*#ABCD", bad);
  EXPECT_THAT(fields(bad), ElementsAre("name"));
  bad.clear();
  EXPECT_EQ(reject_status(0, bad), 486);
  EXPECT_EQ(reject_status(603, bad), 603);
  v1::SendDtmfRequest dtmf;
  EXPECT_EQ(dtmf_duration(dtmf, bad), 250ms);
  dtmf.mutable_duration()->set_nanos(100'000'000);
  EXPECT_EQ(dtmf_duration(dtmf, bad), 100ms);
  EXPECT_TRUE(bad.empty());
  EXPECT_EQ(realm_filter("realms/-"), "");
  EXPECT_EQ(realm_filter("acme.example"), "acme.example");
  EXPECT_EQ(realm_filter("realms/a/b"), std::nullopt);
}

}  // namespace
}  // namespace switchboard::api
