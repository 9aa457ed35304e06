// gateway/replicas/peer_call_stream.cc — see peer_call_stream.h.
#include "gateway/replicas/peer_call_stream.h"

namespace switchboard::replicas {
namespace {

namespace v1 = ::switchboard::v1;

constexpr v1::CallEvent::Type kAllButIncoming[] = {
    v1::CallEvent::CREATED, v1::CallEvent::TRYING,  v1::CallEvent::RINGING,
    v1::CallEvent::ANSWERED, v1::CallEvent::UPDATED, v1::CallEvent::DTMF,
    v1::CallEvent::ENDED};

}  // namespace

PeerCallStream::PeerCallStream(Peer peer, bool incoming, Handlers handlers)
    : peer_(std::move(peer)), incoming_(incoming), handlers_(std::move(handlers)) {
  // Every realm and call; without INCOMING unless a local watcher may answer.
  if (!incoming_)
    for (v1::CallEvent::Type t : kAllButIncoming) request_.add_types(t);
}

std::shared_ptr<PeerCallStream> PeerCallStream::make(PeerChannels& channels, const Peer& peer,
                                                     bool incoming, Handlers handlers) {
  std::shared_ptr<PeerCallStream> s(new PeerCallStream(peer, incoming, std::move(handlers)));
  channels.prepare(s->context_, "");
  s->stub_ = channels.stub(peer.address);
  return s;
}

void PeerCallStream::start() {
  self_ = shared_from_this();
  stub_->async()->WatchCalls(&context_, &request_, this);
  StartRead(&event_);
  StartCall();
}

void PeerCallStream::OnReadInitialMetadataDone(bool ok) {
  if (!ok) return;  // OnDone follows with why
  open_.store(true);
  handlers_.opened(*this);
}

void PeerCallStream::OnReadDone(bool ok) {
  if (!ok) return;  // the stream ended: OnDone follows
  handlers_.event(*this, event_);
  StartRead(&event_);
}

void PeerCallStream::OnDone(const grpc::Status& status) {
  open_.store(false);
  handlers_.closed(*this, status);
  std::shared_ptr<PeerCallStream> self = std::move(self_);  // may be the last owner
}

}  // namespace switchboard::replicas
