// gateway/replicas/peer_channels.h — gRPC channels to the other replicas'
// APIs, one per address (HTTP/2 multiplexes every forwarded RPC and event
// stream over it), and the metadata every replica-to-replica RPC carries.
//
//   PeerChannels channels({.self_id = "sb-1", .token = config.replica.token});
//   auto stub = channels.stub("sb-0.sb.ns.svc:50051");
//   grpc::ClientContext ctx;
//   channels.prepare(ctx, "agent");   // Bearer <internal token>, x-switchboard-replica: sb-1,
//                                     // x-switchboard-on-behalf-of: agent
//   stub->async()->GetCall(&ctx, &request, &call, callback);
//
// Bounded: at most `max_channels` addresses (the least recently used one is
// dropped; RPCs in flight on it finish). gRPC reconnects a channel by itself.
//
// Threading: every method from any thread at once.
#ifndef SWITCHBOARD_GATEWAY_REPLICAS_PEER_CHANNELS_H_
#define SWITCHBOARD_GATEWAY_REPLICAS_PEER_CHANNELS_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/security/credentials.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "switchboard/v1/call.grpc.pb.h"

namespace switchboard::replicas {

struct PeerChannelOptions {
  std::string self_id;  // this replica's id (x-switchboard-replica)
  std::string token;    // the internal token (replica.token)
  // How to reach a peer: plaintext when null; TLS when the API speaks TLS
  // (gateway/main.cc builds them from grpc.tls).
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  size_t max_channels = 64;
};

class PeerChannels {
 public:
  explicit PeerChannels(PeerChannelOptions options);

  // A stub on the channel to `address` ("HOST:PORT"), made on first use.
  std::shared_ptr<::switchboard::v1::CallService::Stub> stub(const std::string& address);

  // The metadata of an RPC to a peer: the internal token, this replica's id,
  // and the client's token name (`on_behalf_of`, omitted when "").
  void prepare(grpc::ClientContext& context, std::string_view on_behalf_of) const;

  const std::string& self_id() const { return options_.self_id; }

 private:
  struct Entry {
    std::shared_ptr<grpc::Channel> channel;
    std::shared_ptr<::switchboard::v1::CallService::Stub> stub;
    uint64_t used = 0;
  };

  const PeerChannelOptions options_;
  std::mutex mu_;
  std::map<std::string, Entry> channels_;
  uint64_t uses_ = 0;
};

}  // namespace switchboard::replicas

#endif  // SWITCHBOARD_GATEWAY_REPLICAS_PEER_CHANNELS_H_
