// tests/api/api_fixture.cc — see api_fixture.h.
#include "api_fixture.h"

#include <future>
#include <sstream>

#include "gateway/api/api_token.h"
#include "gateway/calls/call_engine.h"
#include "gateway/request_handler.h"
#include "gateway/sip_server.h"
#include "gateway/tag_source.h"
#include "registrar/authenticator.h"
#include "registrar/digest.h"
#include "sip/parser.h"
#include "sip/transport/listen_address.h"
#include "tests/registrar/redis_test_stores.h"

namespace apitest {

using namespace std::chrono_literals;

// The SIP server needs its handler (and response callback) before the engine
// exists, and the engine needs the server: this forwards once set.
class SipForwarder final : public switchboard::RequestHandler {
 public:
  void set(switchboard::calls::CallEngine* engine) {
    std::lock_guard lock(mu_);
    engine_ = engine;
  }
  void handle(const sip::Message& request, const sip::transport::Source& source,
              switchboard::Reply reply) override {
    std::lock_guard lock(mu_);
    if (engine_ != nullptr) engine_->handle(request, source, std::move(reply));
  }
  void on_response(std::string_view raw, const sip::transport::Source& source) {
    std::lock_guard lock(mu_);
    if (engine_ != nullptr) engine_->on_response(raw, source);
  }

 private:
  std::mutex mu_;
  switchboard::calls::CallEngine* engine_ = nullptr;
};

ApiTest::ApiTest() = default;
ApiTest::~ApiTest() = default;

uint16_t ApiTest::sip_port() const {
  auto a = sip->bound_address(sip::transport::Protocol::kUdp);
  return a ? a->port : 0;
}

void ApiTest::SetUp() {
  const FixtureOptions o = options();
  // Redis wanted but not installed: the test is skipped at the end of SetUp,
  // after the usual (SQLite) set-up, so that the SetUp of a derived fixture
  // that goes on regardless finds everything in place.
  std::string skip;
  if (registrar::testing::redis_store_selected()) {
    auto redis = std::make_unique<registrar::testing::RedisTestStores>();
    registrar::RedisBindingStoreOptions bo;
    bo.events.max_events = o.max_events;
    // Trim after every commit where the test is about retention (a small
    // max_events); otherwise the store's default: with 100,000 retained
    // events nothing is ever trimmed here, and a trim script after every
    // commit would triple the cost of each write.
    if (o.max_events < FixtureOptions{}.max_events) bo.trim_interval = std::chrono::milliseconds(0);
    if (redis->open(clock, bo)) {
      credentials = std::move(redis->credentials);
      bindings = std::move(redis->bindings);
      redis_ = std::move(redis);
    } else {
      ASSERT_TRUE(redis->not_installed()) << redis->error();
      skip = redis->error();
    }
  }
  if (!redis_) {
    const std::string db = registrar::database_path(dir.path());
    registrar::SqliteOptions sqlite;
    sqlite.synchronous = registrar::SqliteSync::kOff;  // these tests are not about fsync
    auto creds = registrar::SqliteCredentialStore::open(db, sqlite);
    ASSERT_TRUE(creds.ok()) << creds.error;
    credentials = std::move(creds.store);
    registrar::SqliteBindingStoreOptions bo;
    bo.database = sqlite;
    bo.events.max_events = o.max_events;
    bo.trim_interval = std::chrono::milliseconds(0);  // trim after every commit
    bo.clock = &clock;
    auto binds = registrar::SqliteBindingStore::open(db, bo);
    ASSERT_TRUE(binds.ok()) << binds.error;
    bindings = std::move(binds.store);
  }

  registrar::EventHubOptions ho;
  ho.buffer = o.watcher_buffer;
  ho.max_subscriptions = o.max_watchers;
  hub = std::make_unique<registrar::EventHub>(*bindings, ho);
  if (redis_) {
    // A replica: binding events reach the hub from the tailer, from where the
    // hub stands (taken before load()).
    location = std::make_unique<registrar::LocationService>(
        *bindings, clock, registrar::LocationOptions{.replica = registrar::testing::kTestReplica});
    location->add_observer(hub.get());
    const uint64_t from = hub->last_sequence();
    location->load();
    redis_->follow(*location, from);
  } else {
    location = std::make_unique<registrar::LocationService>(*bindings, clock);
    location->add_observer(hub.get());
    location->load();
  }

  static const uint8_t kSecret[32] = {1, 2, 3};
  nonces = std::make_unique<registrar::NonceService>(kSecret, clock, random);
  nonce_counts = std::make_unique<registrar::NonceCounter>(clock);
  registrar =
      std::make_unique<registrar::Registrar>(registrar::RegistrarDeps{.credentials = *credentials,
                                                                      .location = *location,
                                                                      .nonces = *nonces,
                                                                      .nonce_counts = *nonce_counts,
                                                                      .clock = clock});

  using switchboard::api::ApiToken;
  using switchboard::api::Role;
  using switchboard::api::sha256;
  std::vector<ApiToken> tokens = {{"ops", Role::kAdmin, sha256(kAdminToken)},
                                  {"viewer", Role::kRead, sha256(kReadToken)},
                                  {"agent", Role::kCalls, sha256(kCallsToken)}};
  if (o.calls) {
    authenticator = std::make_unique<registrar::Authenticator>(*credentials, *nonces,
                                                               *nonce_counts, nullptr);
    sip_forwarder = std::make_shared<SipForwarder>();
    switchboard::SipServerOptions sip_options;
    sip_options.listen = {*sip::transport::parse_listen_address("udp:127.0.0.1:0", nullptr)};
    sip_options.threads = 1;
    sip_options.handler = sip_forwarder;
    sip_options.on_response = [f = sip_forwarder](std::string_view raw,
                                                  const sip::transport::Source& source) {
      f->on_response(raw, source);
    };
    sip = std::make_unique<switchboard::SipServer>(std::move(sip_options));
    std::string sip_error;
    ASSERT_TRUE(sip->start(&sip_error)) << sip_error;
    switchboard::calls::CallEngineOptions eo;
    eo.t1 = 100ms;  // retransmissions and Timer B (64*T1) shrunk for tests
    eo.t2 = 400ms;
    eo.t4 = 500ms;
    switchboard::calls::CallEngineDeps deps;
    deps.location = location.get();
    deps.credentials = credentials.get();
    deps.authenticator = authenticator.get();
    deps.sip = sip.get();
    deps.clock = std::make_shared<sip::SystemClock>();
    deps.tags = switchboard::random_tag_source();
    deps.logger = &logger;
    engine = std::make_unique<switchboard::calls::CallEngine>(eo, std::move(deps));
    engine->start();
    sip_forwarder->set(engine.get());
  }

  switchboard::api::ApiServerOptions so;
  so.listen = "127.0.0.1:0";
  so.watcher_buffer = o.watcher_buffer;
  so.max_watchers = o.max_watchers;
  so.shutdown_grace = 1s;
  so.call_watch.buffer = o.call_watcher_buffer;
  so.call_watch.max_watchers = o.max_call_watchers;
  std::string error;
  server = switchboard::api::ApiServer::start({.credentials = *credentials,
                                               .location = *location,
                                               .hub = *hub,
                                               .tokens = tokens,
                                               .logger = logger,
                                               .calls = engine.get()},
                                              so, &error);
  ASSERT_TRUE(server) << error;
  channel = new_channel();
  admin_ = v1::AdminService::NewStub(channel);
  registrations_ = v1::RegistrationService::NewStub(channel);
  calls_ = v1::CallService::NewStub(channel);
  if (!skip.empty()) GTEST_SKIP() << skip;
}

void ApiTest::TearDown() {
  admin_.reset();
  registrations_.reset();
  calls_.reset();
  channel.reset();
  if (server) server->shutdown();
  server.reset();
  // The API first (it unsubscribes from the engine), then the engine, then SIP.
  if (engine) engine->stop(200ms);
  if (sip_forwarder) sip_forwarder->set(nullptr);
  if (sip) sip->stop();
  engine.reset();
  sip.reset();
  authenticator.reset();
  registrar.reset();
  // Redis: the tailer stops before what it calls into goes.
  if (redis_) redis_->stop();
  if (bindings) bindings->flush();
  location.reset();
  hub.reset();
  redis_.reset();  // the tailer (stopped) and the location's last observer
  bindings.reset();
  credentials.reset();
}

std::shared_ptr<grpc::Channel> ApiTest::new_channel(const grpc::ChannelArguments& args) const {
  return grpc::CreateCustomChannel(server->address(), grpc::InsecureChannelCredentials(), args);
}

std::unique_ptr<grpc::ClientContext> ApiTest::ctx(std::string_view token) {
  auto c = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) c->AddMetadata("authorization", "Bearer " + std::string(token));
  c->set_deadline(std::chrono::system_clock::now() + 10s);
  return c;
}

void ApiTest::put_realm(const std::string& name) {
  registrar::Realm r;
  r.name = name;
  ASSERT_TRUE(credentials->put_realm(r).ok);
}

registrar::Binding ApiTest::binding(const std::string& aor, const std::string& contact,
                                    const std::string& username) const {
  registrar::Binding b;
  b.aor = aor;
  b.realm = aor.substr(aor.find('@') + 1);
  b.contact = contact;
  b.username = username.empty() ? aor.substr(0, aor.find('@')) : username;
  b.transport = "udp";
  b.source_ip = "192.0.2.4";
  b.source_port = 5062;
  b.local_address = "udp:127.0.0.1:5060";
  b.call_id = "call-" + contact;
  b.cseq = 1;
  b.user_agent = "ApiTest/1.0";
  b.first_registered = clock.wall_now();
  b.last_registered = clock.wall_now();
  b.expires_at = clock.wall_now() + std::chrono::seconds(3600);
  return b;
}

void ApiTest::put_binding(const registrar::Binding& b) {
  std::promise<registrar::UpdateResult> done;
  location->update(
      b.aor,
      [&b](std::vector<registrar::Binding>& list, registrar::UpdateEvents& events) {
        for (registrar::Binding& existing : list) {
          if (existing.contact == b.contact) {
            registrar::Binding refreshed = b;
            refreshed.first_registered = existing.first_registered;
            refreshed.cseq = existing.cseq + 1;
            existing = refreshed;
            events.refreshed(refreshed);
            return registrar::MutationStatus{};
          }
        }
        list.push_back(b);
        events.added(b);
        return registrar::MutationStatus{};
      },
      [&done](const registrar::UpdateResult& r) { done.set_value(r); });
  registrar::UpdateResult r = done.get_future().get();
  ASSERT_TRUE(r.ok()) << r.status << " " << r.reason << " " << r.detail;
  // Redis: published by the tailer, a moment after the commit (done ran: no flush).
  if (redis_) {
    ASSERT_TRUE(redis_->wait_published(10s, /*flush=*/false)) << "events not published within 10 s";
  }
}

void ApiTest::flush() {
  bindings->flush();
  if (redis_) {
    ASSERT_TRUE(redis_->wait_published()) << "events not published within 10 s";
  }
}

int ApiTest::register_with_ha1(const std::string& realm, const std::string& user,
                               const std::string& auth_user, const std::string& ha1) {
  ++cseq_;
  const std::string call_id = "reg-" + std::to_string(cseq_) + "@apitest";
  auto request = [&](const std::string& authorization) {
    std::ostringstream m;
    m << "REGISTER sip:" << realm << " SIP/2.0\r\n"
      << "Via: SIP/2.0/UDP 192.0.2.50:5070;branch=z9hG4bK-api" << cseq_ << "-"
      << authorization.size() << "\r\n"
      << "Max-Forwards: 70\r\n"
      << "From: <sip:" << user << "@" << realm << ">;tag=t" << cseq_ << "\r\n"
      << "To: <sip:" << user << "@" << realm << ">\r\n"
      << "Call-ID: " << call_id << "\r\n"
      << "CSeq: " << (authorization.empty() ? 1 : 2) << " REGISTER\r\n"
      << "Contact: <sip:" << user << "@192.0.2.50:5070>\r\n"
      << "Expires: 600\r\n";
    if (!authorization.empty()) m << "Authorization: " << authorization << "\r\n";
    m << "Content-Length: 0\r\n\r\n";
    return m.str();
  };
  auto send = [&](const std::string& text) -> std::string {
    sip::ParseResult parsed = sip::parse_message(text);
    if (!parsed.ok()) return "parse error: " + parsed.error().reason;
    registrar::RequestContext context;
    context.transport = "udp";
    context.source_ip = "192.0.2.50";
    context.source_port = 5070;
    context.local_address = "udp:127.0.0.1:5060";
    context.to_tag = "api-test";
    std::promise<std::string> wire;
    registrar->handle_register(parsed.message(), context,
                               [&wire](std::string w) { wire.set_value(std::move(w)); });
    return wire.get_future().get();
  };
  auto status_of = [](const std::string& wire) {
    return wire.size() > 11 && wire.compare(0, 8, "SIP/2.0 ") == 0 ? std::stoi(wire.substr(8, 3))
                                                                   : -1;
  };
  std::string challenge = send(request(""));
  if (status_of(challenge) != 401) return status_of(challenge);
  size_t at = challenge.find("nonce=\"");
  if (at == std::string::npos) return -2;
  at += 7;
  const std::string nonce = challenge.substr(at, challenge.find('"', at) - at);
  const std::string uri = "sip:" + realm;
  registrar::DigestRequest digest{.method = "REGISTER",
                                  .uri = uri,
                                  .nonce = nonce,
                                  .nc = "00000001",
                                  .cnonce = "0a4f113b",
                                  .qop = registrar::DigestQop::kAuth};
  const std::string response =
      registrar::compute_response(registrar::DigestAlgorithm::kMd5, ha1, digest);
  const std::string authorization = "Digest username=\"" + auth_user + "\", realm=\"" + realm +
                                    "\", nonce=\"" + nonce + "\", uri=\"" + uri +
                                    "\", response=\"" + response +
                                    "\", algorithm=MD5, qop=auth, nc=00000001, "
                                    "cnonce=\"0a4f113b\"";
  return status_of(send(request(authorization)));
}

int ApiTest::register_with_password(const std::string& realm, const std::string& user,
                                    const std::string& password) {
  return register_with_ha1(
      realm, user, user,
      registrar::compute_ha1(registrar::DigestAlgorithm::kMd5, user, realm, password));
}

std::optional<google::rpc::BadRequest> bad_request(const grpc::Status& s) {
  auto details = switchboard::api::status_details(s);
  if (!details) return std::nullopt;
  for (const auto& any : details->details()) {
    google::rpc::BadRequest b;
    if (any.UnpackTo(&b)) return b;
  }
  return std::nullopt;
}

std::optional<google::rpc::ErrorInfo> error_info(const grpc::Status& s) {
  auto details = switchboard::api::status_details(s);
  if (!details) return std::nullopt;
  for (const auto& any : details->details()) {
    google::rpc::ErrorInfo e;
    if (any.UnpackTo(&e)) return e;
  }
  return std::nullopt;
}

std::optional<google::rpc::ResourceInfo> resource_info(const grpc::Status& s) {
  auto details = switchboard::api::status_details(s);
  if (!details) return std::nullopt;
  for (const auto& any : details->details()) {
    google::rpc::ResourceInfo r;
    if (any.UnpackTo(&r)) return r;
  }
  return std::nullopt;
}

std::vector<std::string> violations(const grpc::Status& s) {
  std::vector<std::string> out;
  if (auto b = bad_request(s))
    for (const auto& v : b->field_violations()) out.push_back(v.field() + ": " + v.description());
  return out;
}

std::string describe(const grpc::Status& s) {
  return std::to_string(int(s.error_code())) + ": " + s.error_message();
}

}  // namespace apitest
