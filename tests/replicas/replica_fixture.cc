// tests/replicas/replica_fixture.cc — see replica_fixture.h.
#include "replica_fixture.h"

#include <future>

#include "gateway/api/status.h"
#include "gateway/default_handler.h"
#include "gateway/tag_source.h"
#include "registrar/credentials.h"
#include "sip/transport/listen_address.h"

namespace replicatest {

using namespace std::chrono_literals;

namespace {

void put_binding(registrar::LocationService& location, const registrar::Binding& b) {
  std::promise<registrar::UpdateResult> done;
  location.update(
      b.aor,
      [&b](std::vector<registrar::Binding>& list, registrar::UpdateEvents& events) {
        for (registrar::Binding& existing : list)
          if (existing.contact == b.contact) {
            existing = b;
            events.refreshed(b);
            return registrar::MutationStatus{};
          }
        list.push_back(b);
        events.added(b);
        return registrar::MutationStatus{};
      },
      [&done](const registrar::UpdateResult& r) { done.set_value(r); });
  registrar::UpdateResult r = done.get_future().get();
  ASSERT_TRUE(r.ok()) << r.status << " " << r.reason << " " << r.detail;
}

}  // namespace

Replica::Replica(std::string id, ReplicaOptions options)
    : id_(std::move(id)), options_(std::move(options)), directory_(id_) {
  registrar::Realm acme;
  acme.name = kRealm;
  credentials_.put_realm(acme);
  for (const char* user : {"alice", "bob"})
    credentials_.put_credential(
        registrar::Credential::from_password(kRealm, user, std::string(user) + "-pw", kRealm));
  hub_ = std::make_unique<registrar::EventHub>(bindings_, registrar::EventHubOptions{});
  location_ = std::make_unique<registrar::LocationService>(bindings_, clock_);
  location_->add_observer(hub_.get());
  static const std::vector<uint8_t> kSecret(32, 9);
  nonces_ = std::make_unique<registrar::NonceService>(kSecret, clock_, random_);
  nonce_counts_ = std::make_unique<registrar::NonceCounter>(clock_);
  authenticator_ =
      std::make_unique<registrar::Authenticator>(credentials_, *nonces_, *nonce_counts_, nullptr);
}

Replica::~Replica() { stop(); }

uint16_t Replica::sip_port() const {
  auto a = sip_->bound_address(sip::transport::Protocol::kUdp);
  return a ? a->port : 0;
}

void Replica::start() {
  auto tags = switchboard::random_tag_source();
  auto fallback = std::make_shared<switchboard::DefaultRequestHandler>(
      tags, switchboard::call_capabilities());
  router_ = std::make_shared<switchboard::SipRouter>(fallback, nullptr, fallback);
  switchboard::SipServerOptions so;
  so.listen = {*sip::transport::parse_listen_address("udp:127.0.0.1:0", nullptr)};
  so.threads = 1;
  so.handler = router_;
  so.tags = tags;
  so.on_response = [this](std::string_view raw, const sip::transport::Source& s) {
    if (auto* e = engine_ptr_.load()) e->on_response(raw, s);
  };
  sip_ = std::make_unique<switchboard::SipServer>(std::move(so));

  switchboard::calls::CallEngineOptions eo;
  eo.t1 = 50ms;
  eo.t2 = 400ms;
  eo.t4 = 500ms;
  eo.replica_id = id_;
  eo.call_id_node = uint16_t(id_.empty() ? 0 : id_[0]);
  switchboard::calls::CallEngineDeps deps;
  deps.location = location_.get();
  deps.credentials = &credentials_;
  deps.authenticator = authenticator_.get();
  deps.sip = sip_.get();
  deps.clock = std::shared_ptr<const sip::Clock>(&clock_, [](const sip::Clock*) {});
  deps.tags = tags;
  deps.logger = &logger_;
  engine_ = std::make_shared<switchboard::calls::CallEngine>(eo, deps);
  router_->set_calls(engine_);
  engine_->start();
  engine_ptr_.store(engine_.get());
  std::string error;
  ASSERT_TRUE(sip_->start(&error)) << error;

  switchboard::replicas::ReplicaCallsOptions ro;
  ro.self_id = id_;
  ro.forward = options_.forward;
  ro.token = options_.token;
  ro.feeds.refresh = 200ms;  // notice a peer that comes or goes quickly
  replica_calls_ = std::make_unique<switchboard::replicas::ReplicaCalls>(
      *engine_, *location_, directory_, clock_, logger_, ro);

  using switchboard::api::ApiToken;
  using switchboard::api::Role;
  using switchboard::api::sha256;
  switchboard::api::ApiServerOptions ao;
  ao.listen = "127.0.0.1:0";
  ao.shutdown_grace = 1s;
  api_ = switchboard::api::ApiServer::start(
      {.credentials = credentials_,
       .location = *location_,
       .hub = *hub_,
       .tokens = {{"agent", Role::kCalls, sha256(kCallsToken)},
                  {"viewer", Role::kRead, sha256(kReadToken)}},
       .logger = logger_,
       .calls = engine_.get(),
       .call_replicas = replica_calls_->hooks(),
       .replica_token = options_.token},
      ao, &error);
  ASSERT_TRUE(api_) << error;
  stub_ = v1::CallService::NewStub(
      grpc::CreateChannel(api_->address(), grpc::InsecureChannelCredentials()));
  replica_calls_->start();
}

void Replica::stop() {
  if (stopped_) return;
  stopped_ = true;
  stub_.reset();
  if (api_) api_->shutdown();
  if (replica_calls_) replica_calls_->stop();
  if (engine_) engine_->stop(200ms);
  engine_ptr_.store(nullptr);
  if (sip_) sip_->stop();
  api_.reset();
}

void ReplicasTest::SetUp() {
  a_ = std::make_unique<Replica>("A", options_a());
  b_ = std::make_unique<Replica>("B", options_b());
  ASSERT_NO_FATAL_FAILURE(a_->start());
  ASSERT_NO_FATAL_FAILURE(b_->start());
  // Both see both (a replica that does not forward advertises no address).
  for (Replica* r : {a_.get(), b_.get()}) {
    r->directory().set("A", options_a().forward ? a_->api_address() : "");
    r->directory().set("B", options_b().forward ? b_->api_address() : "");
  }
}

void ReplicasTest::TearDown() {
  if (a_) a_->stop();
  if (b_) b_->stop();
  a_.reset();
  b_.reset();
}

std::unique_ptr<grpc::ClientContext> ReplicasTest::ctx(std::string_view token) {
  auto c = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) c->AddMetadata("authorization", "Bearer " + std::string(token));
  c->set_deadline(std::chrono::system_clock::now() + 10s);
  return c;
}

v1::CreateCallRequest ReplicasTest::to(const std::string& uri) {
  v1::CreateCallRequest r;
  r.set_to(uri);
  r.set_sdp_offer(kAgentSdp);
  return r;
}

static registrar::Binding binding_of(const std::string& user, const std::string& contact,
                                     uint16_t port, uint16_t listener, const std::string& replica) {
  const auto now = std::chrono::system_clock::now();
  registrar::Binding b;
  b.aor = user + "@" + kRealm;
  b.realm = kRealm;
  b.contact = contact;
  b.username = user;
  b.transport = "udp";
  b.source_ip = "127.0.0.1";
  b.source_port = port;
  b.local_address = "udp:127.0.0.1:" + std::to_string(listener);
  b.replica = replica;
  b.call_id = "reg-" + user + "@" + replica;
  b.cseq = 1;
  b.user_agent = "ReplicaTest/1.0";
  b.first_registered = now;
  b.last_registered = now;
  b.expires_at = now + 1h;
  return b;
}

calltest::TestDevice ReplicasTest::device_at(Replica& holder, const std::string& user) {
  calltest::TestDevice device(user, user + "-pw", kRealm, holder.sip_port());
  const registrar::Binding binding =
      binding_of(user, device.contact_uri(), device.port(), holder.sip_port(), holder.id());
  put_binding(a().location(), binding);
  put_binding(b().location(), binding);
  return device;
}

void ReplicasTest::bind_gone(const std::string& user, const std::string& replica) {
  registrar::Binding binding =
      binding_of(user, "sip:" + user + "@192.0.2.9:5060", 5060, 5060, replica);
  binding.source_ip = "192.0.2.9";
  put_binding(a().location(), binding);
  put_binding(b().location(), binding);
}

ReplicasTest::Watch ReplicasTest::watch(Replica& replica, v1::WatchCallsRequest request,
                                        const char* token) {
  Watch w;
  w.context = ctx(token);
  w.context->set_deadline(std::chrono::system_clock::now() + 30s);
  w.reader = replica.calls().WatchCalls(w.context.get(), request);
  w.reader->WaitForInitialMetadata();
  return w;
}

std::vector<v1::CallEvent> ReplicasTest::read_until(Watch& w, v1::CallEvent::Type last) {
  std::vector<v1::CallEvent> out;
  v1::CallEvent e;
  while (w.reader->Read(&e)) {
    out.push_back(e);
    if (e.type() == last) return out;
  }
  ADD_FAILURE() << "stream ended before " << v1::CallEvent::Type_Name(last) << ": "
                << describe(w.reader->Finish());
  return out;
}

std::vector<std::string> ReplicasTest::types(const std::vector<v1::CallEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(v1::CallEvent::Type_Name(e.type()));
  return out;
}

google::rpc::ErrorInfo error_info(const grpc::Status& s) {
  if (auto details = switchboard::api::status_details(s))
    for (const auto& any : details->details()) {
      google::rpc::ErrorInfo e;
      if (any.UnpackTo(&e)) return e;
    }
  return {};
}

std::string describe(const grpc::Status& s) {
  return std::to_string(int(s.error_code())) + ": " + s.error_message();
}

}  // namespace replicatest
