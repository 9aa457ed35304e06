// gateway/replicas/call_forwarder.cc — see call_forwarder.h.
#include "gateway/replicas/call_forwarder.h"

#include <google/protobuf/duration.pb.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <map>
#include <vector>

#include "gateway/api/resource_names.h"
#include "gateway/api/status.h"
#include "sip/uri.h"

namespace switchboard::replicas {
namespace {

namespace v1 = ::switchboard::v1;
using Route = api::CallRouting::Route;
using namespace std::chrono_literals;

Route refused(std::string replica, std::string_view reason, std::string message,
              std::map<std::string, std::string> metadata) {
  Route r;
  r.kind = Route::Kind::kRefused;
  metadata["replica"] = replica;
  r.replica = std::move(replica);
  r.refusal =
      api::error_info(grpc::StatusCode::UNAVAILABLE, std::move(message), reason, metadata);
  return r;
}

Route peer(std::string replica, std::string address) {
  Route r;
  r.kind = Route::Kind::kPeer;
  r.replica = std::move(replica);
  r.address = std::move(address);
  return r;
}

// How long a forwarded RPC may take when the client set no deadline.
std::chrono::system_clock::time_point forward_deadline(
    api::CallMethod method, const google::protobuf::Message& request,
    std::chrono::system_clock::time_point client) {
  const auto now = std::chrono::system_clock::now();
  if (client < now + 24h) return client;  // the client's own (none: "infinite")
  if (method != api::CallMethod::kCreate) return now + 60s;
  // CreateCall may wait for the answer: its ring timeout (default 60 s, at
  // most 600 s), and a minute more.
  const auto& create = static_cast<const v1::CreateCallRequest&>(request);
  const auto ring =
      create.has_ring_timeout()
          ? std::chrono::seconds(std::clamp<int64_t>(create.ring_timeout().seconds() + 1, 1, 600))
          : std::chrono::seconds(60);
  return now + ring + 60s;
}

}  // namespace

// One RPC in flight to a peer. The gRPC callback holds it; the client's
// cancel and shutdown() hold it weakly.
struct CallForwarder::Forwarded {
  // A CreateCall's sip_auth_password is wiped with the copy, as the engine
  // wipes its own (docs/calls.md: passwords are only hashed).
  ~Forwarded() {
    if (auto* create = dynamic_cast<v1::CreateCallRequest*>(request.get()))
      OPENSSL_cleanse(create->mutable_sip_auth_password()->data(),
                      create->sip_auth_password().size());
  }
  grpc::ClientContext context;
  std::unique_ptr<google::protobuf::Message> request;  // a copy: the client's may go first
  v1::Call response;
  Done done;
  std::list<std::weak_ptr<Forwarded>>::iterator position;
};

CallForwarder::CallForwarder(CallForwarderDeps deps) : deps_(std::move(deps)) {}

CallForwarder::~CallForwarder() { shutdown(); }

Route CallForwarder::route_create(const calls::CreateCallRequest& request) {
  sip::Uri to;
  if (!sip::parse_uri(request.to, to) || !to.is_sip() || to.user.empty())
    return Route{};  // the engine explains what is wrong with it
  const std::string aor = sip::aor_key(to);
  // The newest registration first: the device most likely still there.
  std::map<std::string, registrar::WallTime> elsewhere;
  for (const registrar::Binding& b : deps_.location.lookup(aor)) {
    if (!request.sip_auth_username.empty() && b.username != request.sip_auth_username) continue;
    if (b.replica.empty() || b.replica == deps_.self_id) return Route{};  // we hold one
    auto& newest = elsewhere[b.replica];
    newest = std::max(newest, b.last_registered);
  }
  if (elsewhere.empty()) return Route{};  // the engine answers NO_BINDINGS
  std::vector<std::pair<std::string, registrar::WallTime>> holders(elsewhere.begin(),
                                                                   elsewhere.end());
  std::stable_sort(holders.begin(), holders.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });

  const std::string uri = "sip:" + aor;
  const std::map<std::string, std::string> metadata{{"aor", uri}};
  if (deps_.channels == nullptr)
    return refused(holders.front().first, "REPLICA_UNREACHABLE",
                   uri + " is registered through replica " + holders.front().first +
                       "; this replica does not forward calls (its replica.advertise is not "
                       "set): make the call through " + holders.front().first,
                   metadata);
  std::optional<std::string> unreachable;
  for (const auto& [replica, newest] : holders) {
    std::optional<std::string> address = deps_.directory.address_of(replica);
    if (address && !address->empty()) return peer(replica, *address);
    if (address && !unreachable) unreachable = replica;
  }
  if (unreachable)
    return refused(*unreachable, "REPLICA_UNREACHABLE",
                   uri + " is registered through replica " + *unreachable +
                       ", which advertises no address to other replicas (replica.advertise): "
                       "make the call through " + *unreachable,
                   metadata);
  return refused(holders.front().first, "REPLICA_GONE",
                 uri + " is registered through replica " + holders.front().first +
                     ", which is not running; the call can be made once the device registers "
                     "again",
                 metadata);
}

Route CallForwarder::route_call(std::string_view id) {
  std::optional<std::string> owner = deps_.owners.owner(id);
  if (!owner || *owner == deps_.self_id) return Route{};
  const std::string name = api::call_name(id);
  const std::map<std::string, std::string> metadata{{"call", name}};
  if (deps_.channels == nullptr)
    return refused(*owner, "REPLICA_UNREACHABLE",
                   name + " runs at replica " + *owner +
                       "; this replica does not forward calls (its replica.advertise is not set)",
                   metadata);
  std::optional<std::string> address = deps_.directory.address_of(*owner);
  if (!address)
    return refused(*owner, "REPLICA_GONE",
                   name + " ran at replica " + *owner +
                       ", which is not running: its calls ended with it",
                   metadata);
  if (address->empty())
    return refused(*owner, "REPLICA_UNREACHABLE",
                   name + " runs at replica " + *owner +
                       ", which advertises no address to other replicas (replica.advertise)",
                   metadata);
  return peer(*owner, *address);
}

std::function<void()> CallForwarder::forward(const Route& route, api::CallMethod method,
                                             const google::protobuf::Message& request,
                                             std::string_view on_behalf_of,
                                             std::chrono::system_clock::time_point deadline,
                                             Done done) {
  auto f = std::make_shared<Forwarded>();
  f->request.reset(request.New());
  f->request->CopyFrom(request);
  f->done = std::move(done);
  f->context.set_deadline(forward_deadline(method, request, deadline));
  deps_.channels->prepare(f->context, on_behalf_of);
  {
    std::lock_guard lock(mu_);
    f->position = in_flight_.insert(in_flight_.end(), f);
  }
  auto callback = [this, f, route](grpc::Status status) {
    status = translate(route, std::move(status));
    learn(route, status, f->response);
    Done finish = std::move(f->done);
    finish(std::move(status), f->response);
    finished(f);  // last: shutdown() may return from here on
  };
  std::shared_ptr<v1::CallService::Stub> stub = deps_.channels->stub(route.address);
  auto* async = stub->async();
  grpc::ClientContext* ctx = &f->context;
  const google::protobuf::Message* req = f->request.get();
  v1::Call* resp = &f->response;
  switch (method) {
    case api::CallMethod::kCreate:
      async->CreateCall(ctx, static_cast<const v1::CreateCallRequest*>(req), resp, callback);
      break;
    case api::CallMethod::kGet:
      async->GetCall(ctx, static_cast<const v1::GetCallRequest*>(req), resp, callback);
      break;
    case api::CallMethod::kHangup:
      async->HangupCall(ctx, static_cast<const v1::HangupCallRequest*>(req), resp, callback);
      break;
    case api::CallMethod::kSendDtmf:
      async->SendDtmf(ctx, static_cast<const v1::SendDtmfRequest*>(req), resp, callback);
      break;
    case api::CallMethod::kAnswer:
      async->AnswerCall(ctx, static_cast<const v1::AnswerCallRequest*>(req), resp, callback);
      break;
    case api::CallMethod::kReject:
      async->RejectCall(ctx, static_cast<const v1::RejectCallRequest*>(req), resp, callback);
      break;
  }
  return [weak = std::weak_ptr<Forwarded>(f)] {
    if (auto live = weak.lock()) live->context.TryCancel();
  };
}

grpc::Status CallForwarder::translate(const Route& route, grpc::Status status) const {
  if (status.ok()) return status;
  // Our server attaches details to every error it makes: an UNAVAILABLE
  // without them is the channel's (the peer did not answer).
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE && status.error_details().empty()) {
    deps_.logger.warn("replica unreachable", {{"replica", route.replica},
                                              {"address", route.address},
                                              {"error", status.error_message()}});
    return api::error_info(grpc::StatusCode::UNAVAILABLE,
                           "replica " + route.replica + " (" + route.address +
                               "), which holds the device's connection, did not answer: " +
                               status.error_message(),
                           "REPLICA_UNREACHABLE",
                           {{"replica", route.replica}, {"address", route.address}});
  }
  // The client's token was checked here; there only ours is: a refusal is a
  // configuration problem between replicas, not the client's.
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
    deps_.logger.error("replica refused the internal token",
                       {{"replica", route.replica},
                        {"hint", "replica.token must be the same on every replica"}});
    return api::error_info(grpc::StatusCode::INTERNAL,
                           "replica " + route.replica +
                               " refused this replica's internal token (replica.token differs "
                               "between replicas)",
                           "REPLICA_AUTH_FAILED", {{"replica", route.replica}});
  }
  return status;
}

void CallForwarder::learn(const Route& route, const grpc::Status& status, const v1::Call& call) {
  if (status.ok()) {
    if (auto id = api::parse_call_name(call.name()))
      deps_.owners.learn(*id, route.replica, call.state() == v1::Call::ENDED);
    return;
  }
  // A failed CreateCall may still have made a call (ABORTED CALL_FAILED).
  std::optional<google::rpc::Status> details = api::status_details(status);
  if (!details) return;
  for (const auto& any : details->details()) {
    google::rpc::ErrorInfo info;
    if (!any.UnpackTo(&info)) continue;
    auto name = info.metadata().find("call");
    if (name == info.metadata().end()) continue;
    if (auto id = api::parse_call_name(name->second)) {
      auto state = info.metadata().find("state");
      deps_.owners.learn(*id, route.replica,
                         state != info.metadata().end() && state->second == "ENDED");
    }
  }
}

void CallForwarder::finished(const std::shared_ptr<Forwarded>& f) {
  std::lock_guard lock(mu_);
  in_flight_.erase(f->position);
  if (in_flight_.empty()) idle_.notify_all();
}

void CallForwarder::shutdown() {
  std::vector<std::shared_ptr<Forwarded>> live;
  {
    std::lock_guard lock(mu_);
    for (const auto& weak : in_flight_)
      if (auto f = weak.lock()) live.push_back(std::move(f));
  }
  // Unlocked: a cancelled RPC's callback may run at once and take mu_.
  for (const auto& f : live) f->context.TryCancel();
  live.clear();
  std::unique_lock lock(mu_);
  idle_.wait(lock, [this] { return in_flight_.empty(); });
}

}  // namespace switchboard::replicas
