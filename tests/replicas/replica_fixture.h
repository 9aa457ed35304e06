// tests/replicas/replica_fixture.h — two replicas, "A" and "B", in the test
// process, as two switchboard processes on one Redis would be: each with its
// own SIP server (UDP on loopback), call engine, ReplicaCalls and gRPC API on
// 127.0.0.1 port 0, and a static directory in which each sees the other.
// What Redis shares between real replicas (realms, credentials, bindings) is
// put into both by the test: the same realm and users in both credential
// stores, and a device's binding in both LocationServices (through update(),
// as the event-stream follower does), naming the replica that holds its flow.
//
//   class Calls : public ReplicasTest {};
//   TEST_F(Calls, Something) {
//     calltest::TestDevice bob = device_at(a(), "bob");   // binds bob@acme.test, held by A
//     v1::Call call;
//     grpc::Status s = b().calls().CreateCall(ctx().get(), to("sip:bob@acme.test"), &call);
//     auto invite = bob.expect_request("INVITE");                // sent by A
//   }
//
// Timers: the engines use the system clock with T1 = 50 ms (real sockets,
// real gRPC: nothing simulated).
#ifndef SWITCHBOARD_TESTS_REPLICAS_REPLICA_FIXTURE_H_
#define SWITCHBOARD_TESTS_REPLICAS_REPLICA_FIXTURE_H_

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/api/api_server.h"
#include "gateway/api/status.h"
#include "gateway/calls/call_engine.h"
#include "gateway/json_log.h"
#include "gateway/replicas/replica_calls.h"
#include "gateway/replicas/replica_directory.h"
#include "gateway/sip_router.h"
#include "gateway/sip_server.h"
#include "registrar/authenticator.h"
#include "registrar/event_hub.h"
#include "registrar/location_service.h"
#include "registrar/nonce.h"
#include "registrar/random.h"
#include "registrar/store/memory_stores.h"
#include "sip/clock.h"
#include "switchboard/v1/call.grpc.pb.h"
#include "test_device.h"

namespace replicatest {

namespace v1 = ::switchboard::v1;

inline constexpr const char* kCallsToken = "sbt_test-calls-0123456789";
inline constexpr const char* kReadToken = "sbt_test-read-0123456789";
inline constexpr const char* kReplicaToken = "replica-token-0123456789abcdef";
inline constexpr const char* kRealm = "acme.test";

inline constexpr const char* kDeviceSdp =
    "v=0\r\no=device 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 6000 RTP/AVP 0\r\n";
inline constexpr const char* kAgentSdp =
    "v=0\r\no=agent 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 5000 RTP/AVP 0\r\n";

struct ReplicaOptions {
  std::string token = kReplicaToken;  // the internal token it accepts and presents
  bool forward = true;                // replica.advertise set
};

// One switchboard process.
class Replica {
 public:
  Replica(std::string id, ReplicaOptions options = {});
  ~Replica();

  // SIP, engine, ReplicaCalls (not yet started) and the API.
  void start();
  // The API stops first, then the peer streams, the engine and SIP (as main.cc).
  void stop();

  const std::string& id() const { return id_; }
  uint16_t sip_port() const;
  std::string api_address() const { return api_->address(); }
  v1::CallService::Stub& calls() { return *stub_; }
  registrar::LocationService& location() { return *location_; }
  registrar::MemoryCredentialStore& credentials() { return credentials_; }
  switchboard::replicas::StaticReplicaDirectory& directory() { return directory_; }
  switchboard::replicas::ReplicaCalls& replica_calls() { return *replica_calls_; }
  switchboard::calls::CallEngine& engine() { return *engine_; }

 private:
  const std::string id_;
  const ReplicaOptions options_;
  switchboard::Logger logger_{switchboard::LogLevel::kError};
  sip::SystemClock clock_;
  registrar::SeededRandom random_{11};
  registrar::MemoryCredentialStore credentials_;
  registrar::MemoryBindingStore bindings_;
  std::unique_ptr<registrar::EventHub> hub_;
  std::unique_ptr<registrar::LocationService> location_;
  std::unique_ptr<registrar::NonceService> nonces_;
  std::unique_ptr<registrar::NonceCounter> nonce_counts_;
  std::unique_ptr<registrar::Authenticator> authenticator_;
  switchboard::replicas::StaticReplicaDirectory directory_;
  std::shared_ptr<switchboard::SipRouter> router_;
  std::unique_ptr<switchboard::SipServer> sip_;
  std::atomic<switchboard::calls::CallEngine*> engine_ptr_{nullptr};
  std::shared_ptr<switchboard::calls::CallEngine> engine_;
  std::unique_ptr<switchboard::replicas::ReplicaCalls> replica_calls_;
  std::unique_ptr<switchboard::api::ApiServer> api_;
  std::unique_ptr<v1::CallService::Stub> stub_;
  bool stopped_ = false;
};

class ReplicasTest : public testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  // Per test: options of A and B.
  virtual ReplicaOptions options_a() const { return {}; }
  virtual ReplicaOptions options_b() const { return {}; }

  Replica& a() { return *a_; }
  Replica& b() { return *b_; }

  // A context with `token` (or none for "") and a 10 s deadline.
  static std::unique_ptr<grpc::ClientContext> ctx(std::string_view token = kCallsToken);
  static v1::CreateCallRequest to(const std::string& uri);

  // A UDP device `user`@acme.test whose flow `holder` holds: its binding
  // (received address, the listener of `holder`, replica = holder's id) is
  // put into both replicas' LocationServices.
  calltest::TestDevice device_at(Replica& holder, const std::string& user);
  // The same binding for a replica that is not running (no SIP port).
  void bind_gone(const std::string& user, const std::string& replica);

  // WatchCalls on `replica`, once its headers came (subscribed everywhere).
  struct Watch {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<grpc::ClientReader<v1::CallEvent>> reader;
  };
  static Watch watch(Replica& replica, v1::WatchCallsRequest request = {},
                     const char* token = kCallsToken);
  // Events until one of type `last` (included); a test failure when the stream ends first.
  static std::vector<v1::CallEvent> read_until(Watch& w, v1::CallEvent::Type last);
  static std::vector<std::string> types(const std::vector<v1::CallEvent>& events);

  std::unique_ptr<Replica> a_, b_;
};

// ErrorInfo of a status (empty when absent), and "CODE: message" for failures.
google::rpc::ErrorInfo error_info(const grpc::Status& s);
std::string describe(const grpc::Status& s);

}  // namespace replicatest

#endif  // SWITCHBOARD_TESTS_REPLICAS_REPLICA_FIXTURE_H_
