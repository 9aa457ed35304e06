// gateway/replicas/peer_call_stream.h — one WatchCalls stream from this
// replica to a peer, as a peer stream (x-switchboard-replica: the peer sends
// only the calls it runs itself). PeerCallFeeds (peer_call_feeds.h) owns
// them and decides when to open and cancel them.
//
//   auto s = PeerCallStream::make(channels, peer, /*incoming=*/true, handlers);
//   s->start();                    // not under a lock the handlers take
//   … handlers.opened(*s)          the peer has subscribed (its headers came)
//   … handlers.event(*s, e)        each event, in the peer's order
//   … handlers.closed(*s, status)  last: the stream is over (cancel() or the peer)
//   s->cancel();
//
// `incoming`: whether the stream asks for INCOMING events too. Only then
// does the peer count it as a consumer of its inbound calls (it answers
// 480 at once when nobody that may answer watches).
//
// Lifetime: the stream keeps itself alive until `closed` has run; holders
// may drop their pointer at any time.
//
// Threading: handlers run on gRPC threads, one at a time per stream.
#ifndef SWITCHBOARD_GATEWAY_REPLICAS_PEER_CALL_STREAM_H_
#define SWITCHBOARD_GATEWAY_REPLICAS_PEER_CALL_STREAM_H_

#include <grpcpp/client_context.h>
#include <grpcpp/support/client_callback.h>

#include <atomic>
#include <functional>
#include <memory>

#include "gateway/replicas/peer_channels.h"
#include "gateway/replicas/replica_directory.h"
#include "switchboard/v1/call.pb.h"

namespace switchboard::replicas {

class PeerCallStream final : public grpc::ClientReadReactor<::switchboard::v1::CallEvent>,
                             public std::enable_shared_from_this<PeerCallStream> {
 public:
  struct Handlers {
    std::function<void(PeerCallStream&)> opened;
    std::function<void(PeerCallStream&, const ::switchboard::v1::CallEvent&)> event;
    std::function<void(PeerCallStream&, const grpc::Status&)> closed;
  };

  // A stream ready to start(); `closed` runs only for a started stream.
  static std::shared_ptr<PeerCallStream> make(PeerChannels& channels, const Peer& peer,
                                              bool incoming, Handlers handlers);
  // Starts the RPC (once). Handlers may run before it returns.
  void start();

  const Peer& peer() const { return peer_; }
  bool incoming() const { return incoming_; }
  bool is_open() const { return open_.load(); }
  void cancel() { context_.TryCancel(); }

  void OnReadInitialMetadataDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  PeerCallStream(Peer peer, bool incoming, Handlers handlers);

  std::shared_ptr<::switchboard::v1::CallService::Stub> stub_;
  const Peer peer_;
  const bool incoming_;
  Handlers handlers_;
  grpc::ClientContext context_;
  ::switchboard::v1::WatchCallsRequest request_;
  ::switchboard::v1::CallEvent event_;
  std::atomic<bool> open_{false};
  std::shared_ptr<PeerCallStream> self_;  // from start() until OnDone
};

}  // namespace switchboard::replicas

#endif  // SWITCHBOARD_GATEWAY_REPLICAS_PEER_CALL_STREAM_H_
