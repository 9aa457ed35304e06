// gateway/replicas/replica_calls.h — calls across replicas, assembled: who
// runs a call and the forwarding of RPCs to it (CallForwarder), which peer
// runs which call (CallOwners), the channels to the peers (PeerChannels) and
// the peers' call events for local watchers (PeerCallFeeds). gateway/main.cc
// builds one when store.kind is redis; the tests build two.
//
//   ReplicaCalls replicas(engine, location, directory, clock, logger,
//                         {.self_id = "sb-1", .forward = true, .token = token});
//   replicas.start();
//   ApiServerDeps{…, .call_replicas = replicas.hooks(), .replica_token = token};
//   …
//   api->shutdown();
//   replicas.stop();          // peer streams and forwarded RPCs end
//   engine.stop();
//
// Without `forward` (no replica.advertise) this replica neither forwards nor
// streams its peers' events: a CreateCall for a device another replica holds
// is refused (UNAVAILABLE REPLICA_UNREACHABLE, naming that replica).
//
// Threading: hooks() are used from gRPC threads; start()/stop() from main.
#ifndef SWITCHBOARD_GATEWAY_REPLICAS_REPLICA_CALLS_H_
#define SWITCHBOARD_GATEWAY_REPLICAS_REPLICA_CALLS_H_

#include <grpcpp/security/credentials.h>

#include <memory>
#include <string>

#include "gateway/api/call_service.h"
#include "gateway/calls/call_engine.h"
#include "gateway/json_log.h"
#include "gateway/replicas/call_forwarder.h"
#include "gateway/replicas/call_owners.h"
#include "gateway/replicas/peer_call_feeds.h"
#include "gateway/replicas/peer_channels.h"
#include "gateway/replicas/replica_directory.h"
#include "registrar/location_service.h"
#include "sip/clock.h"

namespace switchboard::replicas {

struct ReplicaCallsOptions {
  std::string self_id;  // replica.id
  bool forward = false;  // replica.advertise is set
  std::string token;     // replica.token (REQUIRES: non-empty when forward)
  std::shared_ptr<grpc::ChannelCredentials> credentials;  // null: plaintext to the peers
  CallOwnersOptions owners;
  PeerCallFeedsOptions feeds;
};

class ReplicaCalls {
 public:
  // Every dependency must outlive this.
  ReplicaCalls(calls::CallEngine& engine, registrar::LocationService& location,
               ReplicaDirectory& directory, const sip::Clock& clock, Logger& logger,
               ReplicaCallsOptions options);
  ~ReplicaCalls();  // stop()

  // For ApiServerDeps::call_replicas.
  api::CallReplicas hooks();
  void start();
  void stop();

  CallOwners& owners() { return owners_; }
  // nullptr without `forward`.
  const PeerCallFeeds* feeds() const { return feeds_.get(); }

 private:
  CallOwners owners_;
  std::unique_ptr<PeerChannels> channels_;
  std::unique_ptr<CallForwarder> forwarder_;
  std::unique_ptr<PeerCallFeeds> feeds_;
};

}  // namespace switchboard::replicas

#endif  // SWITCHBOARD_GATEWAY_REPLICAS_REPLICA_CALLS_H_
