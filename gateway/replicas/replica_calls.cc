// gateway/replicas/replica_calls.cc — see replica_calls.h.
#include "gateway/replicas/replica_calls.h"

namespace switchboard::replicas {

ReplicaCalls::ReplicaCalls(calls::CallEngine& engine, registrar::LocationService& location,
                           ReplicaDirectory& directory, const sip::Clock& clock, Logger& logger,
                           ReplicaCallsOptions options)
    : owners_(options.owners, clock) {
  if (options.forward)
    channels_ = std::make_unique<PeerChannels>(
        PeerChannelOptions{options.self_id, options.token, options.credentials});
  forwarder_ = std::make_unique<CallForwarder>(CallForwarderDeps{
      location, directory, owners_, channels_.get(), options.self_id, logger});
  if (options.forward)
    feeds_ = std::make_unique<PeerCallFeeds>(engine, directory, *channels_, owners_, logger,
                                             options.feeds);
}

ReplicaCalls::~ReplicaCalls() { stop(); }

api::CallReplicas ReplicaCalls::hooks() {
  return api::CallReplicas{forwarder_.get(), feeds_.get()};
}

void ReplicaCalls::start() {
  if (feeds_) feeds_->start();
}

void ReplicaCalls::stop() {
  if (feeds_) feeds_->stop();
  forwarder_->shutdown();
}

}  // namespace switchboard::replicas
