// gateway/replicas/peer_channels.cc — see peer_channels.h.
#include "gateway/replicas/peer_channels.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/support/channel_arguments.h>

#include "gateway/api/replica_metadata.h"

namespace switchboard::replicas {

PeerChannels::PeerChannels(PeerChannelOptions options) : options_(std::move(options)) {}

std::shared_ptr<::switchboard::v1::CallService::Stub> PeerChannels::stub(
    const std::string& address) {
  std::lock_guard lock(mu_);
  auto it = channels_.find(address);
  if (it == channels_.end()) {
    if (channels_.size() >= options_.max_channels) {
      auto oldest = channels_.begin();
      for (auto e = channels_.begin(); e != channels_.end(); ++e)
        if (e->second.used < oldest->second.used) oldest = e;
      channels_.erase(oldest);
    }
    grpc::ChannelArguments args;
    // No client keepalive: our server refuses pings more often than every
    // 5 min (gRPC's default policy). A peer that vanishes silently is found
    // by the directory instead (its heartbeat lapses: its streams are
    // cancelled) and forwarded RPCs have deadlines.
    // Reconnect quickly after a peer restarts (a pod keeps its name).
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5'000);
    auto credentials =
        options_.credentials ? options_.credentials : grpc::InsecureChannelCredentials();
    Entry entry;
    entry.channel = grpc::CreateCustomChannel(address, credentials, args);
    entry.stub = ::switchboard::v1::CallService::NewStub(entry.channel);
    it = channels_.emplace(address, std::move(entry)).first;
  }
  it->second.used = ++uses_;
  return it->second.stub;
}

void PeerChannels::prepare(grpc::ClientContext& context, std::string_view on_behalf_of) const {
  context.AddMetadata("authorization", "Bearer " + options_.token);
  context.AddMetadata(api::kReplicaMetadata, options_.self_id);
  if (!on_behalf_of.empty())
    context.AddMetadata(api::kOnBehalfOfMetadata, std::string(on_behalf_of));
}

}  // namespace switchboard::replicas
