// tests/calls/call_fixture.h — the real thing on loopback for call-flow
// tests: a SipServer (2 workers, UDP + TCP on 127.0.0.1:0) whose router sends
// REGISTER to the real Registrar (memory stores) and calls to a CallEngine;
// scripted devices (test_device.h) on the other side. Only the clock is
// simulated (a ManualClock shared by everything): tests advance it past ring
// timeouts and retransmission timers instead of sleeping.
#ifndef SWITCHBOARD_TESTS_CALLS_CALL_FIXTURE_H_
#define SWITCHBOARD_TESTS_CALLS_CALL_FIXTURE_H_

#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <vector>

#include "gateway/calls/call_engine.h"
#include "gateway/default_handler.h"
#include "gateway/registrar_handler.h"
#include "gateway/sip_router.h"
#include "gateway/sip_server.h"
#include "registrar/authenticator.h"
#include "registrar/location_service.h"
#include "registrar/nonce.h"
#include "registrar/random.h"
#include "registrar/registrar.h"
#include "registrar/store/memory_stores.h"
#include "sip/clock.h"
#include "test_device.h"

namespace calltest {

using switchboard::calls::CallEngine;
using switchboard::calls::CallError;
using switchboard::calls::CallEvent;
using switchboard::calls::CallEventType;
using switchboard::calls::CallInfo;
using switchboard::calls::CallResult;
using switchboard::calls::CallState;
using switchboard::calls::CreateCallRequest;
using switchboard::calls::EndReason;

inline constexpr const char* kOffer =
    "v=0\r\no=switchboard 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 5000 RTP/AVP 0\r\n";
inline constexpr const char* kAnswer =
    "v=0\r\no=device 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 6000 RTP/AVP 0\r\n";

// Every event the engine delivers, for assertions and waits.
class EventLog {
 public:
  void add(const CallEvent& e) {
    std::lock_guard lock(mu_);
    events_.push_back(e);
    cv_.notify_all();
  }
  // The first event of `type` (for `call_id` when given), waiting up to `timeout`.
  std::optional<CallEvent> wait(CallEventType type, const std::string& call_id = "",
                                milliseconds timeout = kWait) {
    std::unique_lock lock(mu_);
    std::optional<CallEvent> found;
    cv_.wait_for(lock, timeout, [&] {
      for (const CallEvent& e : events_)
        if (e.type == type && (call_id.empty() || e.call.id == call_id)) {
          found = e;
          return true;
        }
      return false;
    });
    return found;
  }
  std::vector<CallEventType> types(const std::string& call_id) {
    std::lock_guard lock(mu_);
    std::vector<CallEventType> out;
    for (const CallEvent& e : events_)
      if (e.call.id == call_id) out.push_back(e.type);
    return out;
  }
  size_t count(CallEventType type) {
    std::lock_guard lock(mu_);
    size_t n = 0;
    for (const CallEvent& e : events_) n += e.type == type;
    return n;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<CallEvent> events_;
};

class CallFixture : public testing::Test {
 protected:
  static switchboard::calls::CallEngineOptions default_options() {
    switchboard::calls::CallEngineOptions o;
    o.t1 = milliseconds(50);
    o.t2 = milliseconds(400);
    o.t4 = milliseconds(500);
    o.inbound_ring_timeout = std::chrono::seconds(30);
    return o;
  }

  CallFixture() {
    registrar::Realm acme;
    acme.name = "acme.test";
    credentials.put_realm(acme);
    registrar::Realm proxy = acme;
    proxy.name = "proxy.test";
    proxy.challenge = registrar::ChallengeMode::k407;
    credentials.put_realm(proxy);
    for (const char* realm : {"acme.test", "proxy.test"}) {
      credentials.put_credential(registrar::Credential::from_password(realm, "alice", "alice-pw", realm));
      credentials.put_credential(registrar::Credential::from_password(realm, "bob", "bob-pw", realm));
    }
  }

  // Starts the server and the engine; tests that need other options call it
  // themselves before anything else (SetUp does it with the defaults).
  void start(switchboard::calls::CallEngineOptions options = default_options()) {
    auto tags = switchboard::random_tag_source();
    auto fallback = std::make_shared<switchboard::DefaultRequestHandler>(
        tags, switchboard::call_capabilities());
    auto registrar_handler = std::make_shared<switchboard::RegistrarHandler>(reg, fallback, tags);
    router = std::make_shared<switchboard::SipRouter>(registrar_handler, nullptr, fallback);

    switchboard::SipServerOptions o;
    o.listen.push_back(*sip::transport::parse_listen_address("udp:127.0.0.1:0", nullptr));
    o.listen.push_back(*sip::transport::parse_listen_address("tcp:127.0.0.1:0", nullptr));
    o.threads = 2;
    o.handler = router;
    o.clock = clock;
    o.tags = tags;
    o.on_response = [this](std::string_view raw, const sip::transport::Source& s) {
      if (CallEngine* e = engine_ptr.load()) e->on_response(raw, s);
    };
    server = std::make_unique<switchboard::SipServer>(std::move(o));

    switchboard::calls::CallEngineDeps deps;
    deps.location = &location;
    deps.credentials = &credentials;
    deps.authenticator = &authenticator;
    deps.sip = server.get();
    deps.clock = clock;
    deps.tags = tags;
    engine = std::make_shared<CallEngine>(options, deps);
    engine_ptr = engine.get();
    router->set_calls(engine);
    engine->start();
    std::string error;
    ASSERT_TRUE(server->start(&error)) << error;
    udp_port = server->bound_address(sip::transport::Protocol::kUdp)->port;
    tcp_port = server->bound_address(sip::transport::Protocol::kTcp)->port;
  }

  void SetUp() override {
    if (!server) start();
  }

  ~CallFixture() override {
    if (engine) engine->stop(milliseconds(100));
    if (server) server->stop();
    engine_ptr = nullptr;
  }

  void watch(switchboard::calls::CallEventFilter filter = {}) {
    engine->subscribe(std::move(filter), [this](const CallEvent& e) { events.add(e); });
  }

  TestDevice device(std::string user, bool tcp = false, std::string domain = "acme.test") {
    std::string password = user + "-pw";
    return TestDevice(std::move(user), std::move(password), std::move(domain),
                      tcp ? tcp_port : udp_port, tcp);
  }

  // Runs an engine call and waits for its `done`.
  template <typename Fn>
  CallResult sync(Fn&& fn) {
    auto promise = std::make_shared<std::promise<CallResult>>();
    std::future<CallResult> future = promise->get_future();
    fn([promise](CallResult r) { promise->set_value(std::move(r)); });
    if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
      ADD_FAILURE() << "engine did not answer";
      return CallResult{CallError::kUnavailable, "timeout", "TEST_TIMEOUT", {}};
    }
    return future.get();
  }
  // Starts an engine call without waiting; get() the future later.
  template <typename Fn>
  std::future<CallResult> async(Fn&& fn) {
    auto promise = std::make_shared<std::promise<CallResult>>();
    std::future<CallResult> future = promise->get_future();
    fn([promise](CallResult r) { promise->set_value(std::move(r)); });
    return future;
  }

  CreateCallRequest call_to(std::string to = "sip:alice@acme.test") {
    CreateCallRequest r;
    r.to = std::move(to);
    r.sdp_offer = kOffer;
    r.creator = "test-token";
    return r;
  }
  CallResult create(CreateCallRequest r) {
    return sync([&](CallEngine::Done done) { engine->create_call(std::move(r), std::move(done)); });
  }
  CallInfo get(const std::string& id) {
    CallResult r = sync([&](CallEngine::Done done) { engine->get_call(id, std::move(done)); });
    return r.call.value_or(CallInfo{});
  }
  // Waits until the call reaches `state` (the engine works asynchronously).
  CallInfo wait_state(const std::string& id, CallState state, milliseconds timeout = kWait) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    CallInfo info;
    do {
      info = get(id);
      if (info.state == state) return info;
      std::this_thread::sleep_for(milliseconds(5));
    } while (std::chrono::steady_clock::now() < deadline);
    ADD_FAILURE() << "call " << id << " never reached state " << int(state);
    return info;
  }

  std::shared_ptr<sip::ManualClock> clock = std::make_shared<sip::ManualClock>();
  registrar::SeededRandom random{42};
  registrar::MemoryCredentialStore credentials;
  registrar::MemoryBindingStore store;
  registrar::LocationService location{store, *clock};
  std::vector<uint8_t> secret = std::vector<uint8_t>(32, 7);
  registrar::NonceService nonces{secret, *clock, random};
  registrar::NonceCounter counts{*clock};
  registrar::Registrar reg{{credentials, location, nonces, counts, *clock, nullptr}};
  registrar::Authenticator authenticator{credentials, nonces, counts, nullptr};
  std::shared_ptr<switchboard::SipRouter> router;
  std::unique_ptr<switchboard::SipServer> server;
  std::shared_ptr<CallEngine> engine;
  std::atomic<CallEngine*> engine_ptr{nullptr};
  EventLog events;
  uint16_t udp_port = 0, tcp_port = 0;
};

}  // namespace calltest

#endif  // SWITCHBOARD_TESTS_CALLS_CALL_FIXTURE_H_
