// gateway/api/call_routing.h — what CallService asks when several replicas
// share one Redis (docs/scale-out.md): which replica runs a call, and how an
// RPC reaches it. A device's flow (its UDP NAT mapping or TCP connection)
// exists only at the replica that took its REGISTER, so a call to it must
// be made there; the client may have reached any replica.
//
//   CallRouting::Route r = routing.route_create(request);   // request as the engine takes it
//   switch (r.kind) {
//     case Route::Kind::kLocal:   engine.create_call(…);                 break;
//     case Route::Kind::kRefused: finish(r.refusal);  break;  // REPLICA_GONE, …
//     case Route::Kind::kPeer:    routing.forward(r, CallMethod::kCreate, *req, …, done);
//   }
//
// The implementation is gateway/replicas/call_forwarder.h; without one
// (one process, the embedded store) every call is local.
//
// Threading: every method from any gRPC thread at once.
#ifndef SWITCHBOARD_GATEWAY_API_CALL_ROUTING_H_
#define SWITCHBOARD_GATEWAY_API_CALL_ROUTING_H_

#include <google/protobuf/message.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "gateway/calls/call_engine.h"
#include "gateway/calls/call_types.h"
#include "switchboard/v1/call.pb.h"

namespace switchboard::api {

// The CallService methods a replica carries to another.
enum class CallMethod : uint8_t { kCreate, kGet, kHangup, kSendDtmf, kAnswer, kReject };

class CallRouting {
 public:
  struct Route {
    enum class Kind : uint8_t {
      kLocal,    // this replica's engine runs it (or answers that it cannot)
      kPeer,     // another live replica runs it: forward()
      kRefused,  // nobody can: `refusal` (UNAVAILABLE REPLICA_GONE / REPLICA_UNREACHABLE)
    };
    Kind kind = Kind::kLocal;
    std::string replica;   // kPeer, kRefused: the replica concerned
    std::string address;   // kPeer: its API, "HOST:PORT"
    grpc::Status refusal;  // kRefused
  };

  // Called when a forwarded RPC is over: the peer's status (its details
  // untouched) and, when OK, its Call. Runs once, on a gRPC thread.
  using Done = std::function<void(grpc::Status, const ::switchboard::v1::Call&)>;

  virtual ~CallRouting() = default;

  // CreateCall: local when this replica holds any binding the engine would
  // ring (or there are none: the engine answers NO_BINDINGS), else the live
  // replica holding them. `request` is the engine's request (after shape checks).
  virtual Route route_create(const calls::CreateCallRequest& request) = 0;

  // GetCall, HangupCall, SendDtmf, AnswerCall, RejectCall: the replica that
  // runs call `id`, when it is known to be another one; else local.
  virtual Route route_call(std::string_view id) = 0;

  // Carries one RPC to route.replica (REQUIRES: route.kind == kPeer).
  // `request` is the client's message, as received; `on_behalf_of` the
  // client's token name; `deadline` the client's (a default applies when it
  // has none). Returns a function that cancels the forwarded RPC (for the
  // client's own cancel); calling it after `done` is harmless.
  virtual std::function<void()> forward(const Route& route, CallMethod method,
                                        const google::protobuf::Message& request,
                                        std::string_view on_behalf_of,
                                        std::chrono::system_clock::time_point deadline,
                                        Done done) = 0;
};

// Whether local WatchCalls streams want the events of calls other replicas
// run, and which (gateway/replicas/peer_call_feeds.h keeps one stream to
// every live peer while there is demand).
class CallWatchDemand {
 public:
  using WatcherId = uint64_t;
  virtual ~CallWatchDemand() = default;

  // A local WatchCalls stream subscribed with `filter`. `ready` runs once,
  // on any thread, when the streams from the other replicas that this
  // watcher needs are open (or after a bounded wait when some peer does not
  // answer): only then does the watcher send its response headers, so a
  // client that waited for them misses no event of a call it creates
  // afterwards, wherever the call runs.
  virtual WatcherId watcher_started(const calls::CallEventFilter& filter,
                                    std::function<void()> ready) = 0;
  virtual void watcher_ended(WatcherId id) = 0;
};

}  // namespace switchboard::api

#endif  // SWITCHBOARD_GATEWAY_API_CALL_ROUTING_H_
