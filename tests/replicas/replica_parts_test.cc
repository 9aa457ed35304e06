// The parts of calls across replicas on their own: which replica owns a call
// (bounded, expiring), the static directory, call ids that carry a replica's
// node, the CallEvent messages a peer streams turned back into engine
// values, and the internal token as a principal.
#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <set>

#include "gateway/api/call_convert.h"
#include "gateway/api/token_auth.h"
#include "gateway/calls/call_ids.h"
#include "gateway/replicas/call_owners.h"
#include "gateway/replicas/replica_directory.h"
#include "sip/clock.h"

namespace {

using namespace std::chrono_literals;
using switchboard::replicas::CallOwners;
using switchboard::replicas::Peer;
using switchboard::replicas::StaticReplicaDirectory;
namespace v1 = ::switchboard::v1;

// An owner is remembered while the call runs and for the ended-call
// retention after it ended, like the owner's own GetCall.
TEST(CallOwners, RememberedUntilTheRetentionAfterTheEnd) {
  sip::ManualClock clock;
  CallOwners owners({.ended_retention = 300s, .active_lifetime = 3600s, .capacity = 10}, clock);
  owners.learn("c1", "sb-0", false);
  EXPECT_EQ(owners.owner("c1"), "sb-0");
  clock.advance(1800s);
  EXPECT_EQ(owners.owner("c1"), "sb-0");
  owners.learn("c1", "sb-0", true);
  clock.advance(299s);
  EXPECT_EQ(owners.owner("c1"), "sb-0");
  // A late event of the ended call does not keep it longer.
  owners.learn("c1", "sb-0", false);
  clock.advance(2s);
  EXPECT_EQ(owners.owner("c1"), std::nullopt);
  EXPECT_EQ(owners.size(), 0u);
}

// A call nobody here heard end goes after its active lifetime.
TEST(CallOwners, UnendedCallsDoNotStayForEver) {
  sip::ManualClock clock;
  CallOwners owners({.ended_retention = 300s, .active_lifetime = 3600s, .capacity = 10}, clock);
  owners.learn("c1", "sb-0", false);
  clock.advance(3601s);
  EXPECT_EQ(owners.owner("c1"), std::nullopt);
}

// Full: the call that would expire first makes room.
TEST(CallOwners, BoundedByCapacity) {
  sip::ManualClock clock;
  CallOwners owners({.ended_retention = 10s, .active_lifetime = 3600s, .capacity = 3}, clock);
  owners.learn("ended", "sb-0", true);
  owners.learn("c2", "sb-0", false);
  owners.learn("c3", "sb-1", false);
  owners.learn("c4", "sb-1", false);
  EXPECT_EQ(owners.size(), 3u);
  EXPECT_EQ(owners.owner("ended"), std::nullopt);
  EXPECT_EQ(owners.owner("c4"), "sb-1");
  for (int i = 0; i < 100; ++i) owners.learn("c2", "sb-0", false);  // refreshes stay one entry
  EXPECT_EQ(owners.size(), 3u);
}

// Live with an address, live without one, gone; peers() leaves self out.
TEST(StaticReplicaDirectory, LiveAddressedUnaddressedGone) {
  StaticReplicaDirectory directory("sb-1");
  directory.set("sb-1", "10.0.0.2:50051");
  directory.set("sb-0", "10.0.0.1:50051");
  directory.set("sb-2", "");
  EXPECT_EQ(directory.address_of("sb-0"), "10.0.0.1:50051");
  EXPECT_EQ(directory.address_of("sb-2"), "");
  EXPECT_EQ(directory.address_of("sb-9"), std::nullopt);
  EXPECT_THAT(directory.peers(), testing::ElementsAre(Peer{"sb-0", "10.0.0.1:50051"}));
  directory.remove("sb-0");
  EXPECT_EQ(directory.address_of("sb-0"), std::nullopt);
  EXPECT_TRUE(directory.peers().empty());
}

// Two replicas creating calls in the same millisecond, from the same random
// starting point, still make different ids; each replica's ids sort by time.
TEST(CallIdsWithNode, NeverCollideAcrossNodes) {
  auto same_random = [] { return std::string("00000000"); };
  switchboard::calls::CallIdGenerator a(same_random, 0x0001), b(same_random, 0x0002);
  auto t = std::chrono::system_clock::from_time_t(1'790'000'000);
  std::set<std::string> ids;
  std::string last;
  for (int i = 0; i < 1000; ++i) {
    std::string x = a.next(t), y = b.next(t);
    EXPECT_TRUE(switchboard::calls::valid_call_id(x)) << x;
    EXPECT_TRUE(ids.insert(x).second) << x;
    EXPECT_TRUE(ids.insert(y).second) << y;
    EXPECT_LT(last, x);
    last = x;
  }
  EXPECT_EQ(last.substr(13, 4), "0001");
}

// What a peer streams comes back as the engine's values, and converts to
// the same message again (B's watchers see what A's would).
TEST(CallConvert, PeerEventsRoundTrip) {
  switchboard::calls::CallEvent e;
  e.sequence = 42;
  e.type = switchboard::calls::CallEventType::kEnded;
  e.time = std::chrono::system_clock::from_time_t(1'790'000'000) + 123ms;
  switchboard::calls::CallInfo& c = e.call;
  c.id = "c0195e2a1b3c40041000a";
  c.direction = switchboard::calls::Direction::kOutbound;
  c.state = switchboard::calls::CallState::kEnded;
  c.realm = "acme.test";
  c.to_uri = "sip:bob@acme.test";
  c.from_uri = "sip:switchboard@acme.test";
  c.from_display = "Agent";
  c.aor = "bob@acme.test";
  c.sip_call_id = "abc";
  c.local_sdp = "v=0 local";
  c.remote_sdp = "v=0 remote";
  c.answered_contact = "sip:bob@127.0.0.1:5062";
  c.branches = 2;
  c.sip_status = 200;
  c.sip_reason = "OK";
  c.end_reason = switchboard::calls::EndReason::kHangupRemote;
  c.detail = "BYE from the device";
  c.create_time = e.time - 10s;
  c.ring_time = e.time - 9s;
  c.answer_time = e.time - 8s;
  c.end_time = e.time;
  c.request_id = "order-1";
  c.custom_headers = {{"X-A", "1"}, {"X-B", "2"}};
  const v1::CallEvent message = switchboard::api::to_proto(e);
  std::optional<switchboard::calls::CallEvent> back = switchboard::api::from_proto(message);
  ASSERT_TRUE(back);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(switchboard::api::to_proto(*back),
                                                                message))
      << switchboard::api::to_proto(*back).DebugString() << "\n" << message.DebugString();
  EXPECT_EQ(back->call.aor, "bob@acme.test");
  EXPECT_EQ(back->call.realm, "acme.test");

  v1::CallEvent garbage;
  garbage.set_type(v1::CallEvent::ENDED);
  garbage.mutable_call()->set_name("calls/nope");
  EXPECT_FALSE(switchboard::api::from_proto(garbage));
}

// The internal token authorizes as "replica" with role calls (never admin);
// without one configured, nothing is internal.
TEST(InternalToken, IsTheReplicaPrincipalWithRoleCalls) {
  using switchboard::api::Role;
  const std::vector<switchboard::api::ApiToken> tokens = {
      {"ops", Role::kAdmin, switchboard::api::sha256("sbt_admin-token")}};
  switchboard::api::TokenAuthenticator auth(tokens, nullptr, "replica-token-0123456789");
  const std::string_view internal = "Bearer replica-token-0123456789";
  switchboard::api::Caller caller;
  ASSERT_TRUE(
      auth.authorize_header(&internal, Role::kCalls, "CallService/CreateCall", &caller).ok());
  EXPECT_TRUE(caller.internal);
  EXPECT_EQ(caller.token_name, "replica");
  EXPECT_TRUE(auth.authorize_header(&internal, Role::kRead, "CallService/GetCall").ok());
  EXPECT_EQ(auth.authorize_header(&internal, Role::kAdmin, "AdminService/CreateRealm").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  const std::string_view admin = "Bearer sbt_admin-token";
  ASSERT_TRUE(
      auth.authorize_header(&admin, Role::kAdmin, "AdminService/CreateRealm", &caller).ok());
  EXPECT_FALSE(caller.internal);

  switchboard::api::TokenAuthenticator without(tokens, nullptr);
  EXPECT_EQ(without.authorize_header(&internal, Role::kRead, "CallService/GetCall").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

}  // namespace
