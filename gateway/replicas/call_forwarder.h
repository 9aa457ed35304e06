// gateway/replicas/call_forwarder.h — api::CallRouting for replicas on one
// Redis (docs/scale-out.md, "Calls across replicas"): decides which replica
// runs a call and carries the client's RPC there over the peer's API.
//
// CreateCall: the bindings the engine would ring (the AOR's, only those
// registered by sip_auth_username when given) are looked at:
//   - any held here (Binding::replica is ours, or "")     → local
//   - none at all                                          → local (NO_BINDINGS)
//   - held by a live replica with an address              → forwarded to it (the
//     one holding the most recently registered binding)
//   - held only by replicas without an address, or this
//     replica does not forward (no replica.advertise)      → UNAVAILABLE REPLICA_UNREACHABLE
//   - held only by gone replicas                           → UNAVAILABLE REPLICA_GONE
// Devices registered through several replicas are rung through one of them
// only (no forking across replicas).
//
// Call-id RPCs: a call learned (CallOwners) to run at a peer goes there;
// gone → REPLICA_GONE; anything else is local.
//
// A forwarded RPC carries the internal token, this replica's id and the
// client's token name (peer_channels.h), the client's deadline (or 60 s;
// CreateCall: its ring timeout and a minute more), and is cancelled with the
// client's. The peer's answer is returned as it gave it — status, details
// and Call — except two failures that are about the link, not the call:
// the peer not answering (UNAVAILABLE without details) → UNAVAILABLE
// REPLICA_UNREACHABLE naming it, and the peer refusing our internal token
// → INTERNAL REPLICA_AUTH_FAILED (replica.token differs between replicas).
//
// Threading: every method from any thread; forwarded RPCs complete on gRPC
// client threads. shutdown() (or the destructor) cancels those in flight and
// waits for them.
#ifndef SWITCHBOARD_GATEWAY_REPLICAS_CALL_FORWARDER_H_
#define SWITCHBOARD_GATEWAY_REPLICAS_CALL_FORWARDER_H_

#include <condition_variable>
#include <list>
#include <memory>
#include <mutex>
#include <string>

#include "gateway/api/call_routing.h"
#include "gateway/json_log.h"
#include "gateway/replicas/call_owners.h"
#include "gateway/replicas/peer_channels.h"
#include "gateway/replicas/replica_directory.h"
#include "registrar/location_service.h"

namespace switchboard::replicas {

struct CallForwarderDeps {
  registrar::LocationService& location;
  ReplicaDirectory& directory;
  CallOwners& owners;
  // nullptr: this replica does not forward (no replica.advertise): calls for
  // devices held elsewhere are refused REPLICA_UNREACHABLE.
  PeerChannels* channels = nullptr;
  std::string self_id;
  Logger& logger;
};

class CallForwarder final : public api::CallRouting {
 public:
  explicit CallForwarder(CallForwarderDeps deps);
  ~CallForwarder() override;  // shutdown()

  Route route_create(const calls::CreateCallRequest& request) override;
  Route route_call(std::string_view id) override;
  std::function<void()> forward(const Route& route, api::CallMethod method,
                                const google::protobuf::Message& request,
                                std::string_view on_behalf_of,
                                std::chrono::system_clock::time_point deadline,
                                Done done) override;

  // Cancels every forwarded RPC and waits until their callbacks are done.
  void shutdown();

 private:
  struct Forwarded;
  // The peer's answer as the client gets it (see above).
  grpc::Status translate(const Route& route, grpc::Status status) const;
  void learn(const Route& route, const grpc::Status& status, const ::switchboard::v1::Call& call);
  void finished(const std::shared_ptr<Forwarded>& f);

  CallForwarderDeps deps_;
  std::mutex mu_;
  std::condition_variable idle_;
  std::list<std::weak_ptr<Forwarded>> in_flight_;
};

}  // namespace switchboard::replicas

#endif  // SWITCHBOARD_GATEWAY_REPLICAS_CALL_FORWARDER_H_
