// tests/api/api_fixture.h — the REAL API server in the test process: SQLite
// stores in a temp dir, a LocationService and an EventHub over them, the
// Registrar (to prove the registrar accepts what the API provisions), the
// ApiServer on 127.0.0.1 port 0, and a real gRPC channel with the generated
// stubs. Only the clock is simulated (binding expiry, event ages).
//
// With SWITCHBOARD_TEST_STORE=redis (the ctest variants "api_redis.*") the
// same on the Redis stores, as one replica runs them (docs/scale-out.md): a
// RedisCredentialStore and a RedisBindingStore under a key prefix of the
// test's own on a redis-server shared by the test process
// (tests/registrar/redis_test_stores.h), the LocationService with a replica
// id, and a RedisEventTailer that publishes the binding events to the hub
// after reading them back from Redis — asynchronously: put_binding() and
// flush() wait for that, as they wait for the commit. Skipped when
// redis-server is not installed.
//
// With FixtureOptions::calls, a real CallEngine too, over a real SipServer on
// udp:127.0.0.1 (port 0), attached to the ApiServer (CallService): the
// engine uses the system clock (its timers run for real; they are shrunk).
//
//   class AdminApi : public ApiTest {};
//   TEST_F(AdminApi, Something) {
//     v1::Realm realm;
//     grpc::Status s = admin().GetRealm(ctx(kReadToken).get(), request, &realm);
//   }
#ifndef SWITCHBOARD_TESTS_API_API_FIXTURE_H_
#define SWITCHBOARD_TESTS_API_API_FIXTURE_H_

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/api/api_server.h"
#include "gateway/api/status.h"
#include "gateway/json_log.h"
#include "registrar/event_hub.h"
#include "registrar/location_service.h"
#include "registrar/nonce.h"
#include "registrar/random.h"
#include "registrar/registrar.h"
#include "registrar/store/binding_store.h"
#include "registrar/store/credential_store.h"
#include "registrar/store/sqlite_binding_store.h"
#include "registrar/store/sqlite_credential_store.h"
#include "sip/clock.h"
#include "switchboard/v1/admin.grpc.pb.h"
#include "switchboard/v1/call.grpc.pb.h"
#include "switchboard/v1/registration.grpc.pb.h"
#include "tests/registrar/temp_dir.h"

namespace registrar {
class Authenticator;
namespace testing {
class RedisTestStores;
}
}
namespace switchboard {
class SipServer;
namespace calls {
class CallEngine;
}
}  // namespace switchboard

namespace apitest {

class SipForwarder;  // api_fixture.cc: SIP server → engine, set once both exist

namespace v1 = ::switchboard::v1;

// The tokens the fixture's server knows (their SHA-256 is configured).
inline constexpr const char* kAdminToken = "sbt_test-admin-0123456789";
inline constexpr const char* kReadToken = "sbt_test-read-0123456789";
inline constexpr const char* kCallsToken = "sbt_test-calls-0123456789";
inline constexpr const char* kNoToken = "";

struct FixtureOptions {
  size_t max_events = 100'000;   // the event log's retention (count)
  size_t watcher_buffer = 4096;  // the hub's per-watcher buffer
  size_t max_watchers = 1000;
  bool calls = false;              // a CallEngine + SipServer behind CallService
  size_t call_watcher_buffer = 1024;
  size_t max_call_watchers = 256;
};

class ApiTest : public testing::Test {
 protected:
  ApiTest();
  ~ApiTest() override;

  virtual FixtureOptions options() const { return {}; }
  void SetUp() override;
  void TearDown() override;

  // A context carrying `token` ("" for none) and a 10 s deadline.
  static std::unique_ptr<grpc::ClientContext> ctx(std::string_view token = kAdminToken);

  v1::AdminService::Stub& admin() { return *admin_; }
  v1::RegistrationService::Stub& registrations() { return *registrations_; }
  // REQUIRES: options().calls.
  v1::CallService::Stub& calls() { return *calls_; }
  // The SIP server's UDP port (options().calls only).
  uint16_t sip_port() const;
  std::shared_ptr<grpc::Channel> new_channel(const grpc::ChannelArguments& args = {}) const;

  // Stores a realm directly (test set-up, not under test).
  void put_realm(const std::string& name);
  // A binding of `aor` ("alice@acme.example") to `contact`, expiring in an hour.
  registrar::Binding binding(const std::string& aor, const std::string& contact,
                             const std::string& username = "") const;
  // Adds (or refreshes, when the contact is there) through LocationService::update
  // and waits until it is durable and published.
  void put_binding(const registrar::Binding& b);
  // Waits until every write so far is committed (and its events published).
  void flush();
  // The stores are Redis' (SWITCHBOARD_TEST_STORE=redis).
  bool on_redis() const { return redis_ != nullptr; }

  // REGISTER sip:{realm} for user@realm through the real Registrar, answering
  // the challenge with `ha1` (MD5) presented as `auth_user`. The final status.
  int register_with_ha1(const std::string& realm, const std::string& user,
                        const std::string& auth_user, const std::string& ha1);
  // The same with the password (MD5 HA1 computed from it).
  int register_with_password(const std::string& realm, const std::string& user,
                             const std::string& password);

  registrar::testing::TempDir dir;
  sip::ManualClock clock;
  switchboard::Logger logger{switchboard::LogLevel::kError};
  // SQLite (in `dir`), or Redis with SWITCHBOARD_TEST_STORE=redis.
  std::unique_ptr<registrar::CredentialStore> credentials;
  std::unique_ptr<registrar::BindingStore> bindings;
  std::unique_ptr<registrar::EventHub> hub;
  std::unique_ptr<registrar::LocationService> location;
  registrar::SeededRandom random{7};
  std::unique_ptr<registrar::NonceService> nonces;
  std::unique_ptr<registrar::NonceCounter> nonce_counts;
  std::unique_ptr<registrar::Registrar> registrar;
  std::unique_ptr<registrar::Authenticator> authenticator;    // calls only
  std::shared_ptr<SipForwarder> sip_forwarder;                 // calls only
  std::unique_ptr<switchboard::SipServer> sip;                 // calls only
  std::unique_ptr<switchboard::calls::CallEngine> engine;      // calls only
  std::unique_ptr<switchboard::api::ApiServer> server;
  std::shared_ptr<grpc::Channel> channel;

 private:
  std::unique_ptr<v1::AdminService::Stub> admin_;
  std::unique_ptr<v1::RegistrationService::Stub> registrations_;
  std::unique_ptr<v1::CallService::Stub> calls_;
  std::unique_ptr<registrar::testing::RedisTestStores> redis_;  // Redis only: the tailer
  int cseq_ = 0;
};

// Details decoded from a status's google.rpc.Status (empty when absent).
std::optional<google::rpc::BadRequest> bad_request(const grpc::Status& s);
std::optional<google::rpc::ErrorInfo> error_info(const grpc::Status& s);
std::optional<google::rpc::ResourceInfo> resource_info(const grpc::Status& s);
// "field: description" for each violation, for EXPECT_THAT.
std::vector<std::string> violations(const grpc::Status& s);

// For failure messages: "INVALID_ARGUMENT: …".
std::string describe(const grpc::Status& s);

}  // namespace apitest

#endif  // SWITCHBOARD_TESTS_API_API_FIXTURE_H_
