// gateway/replicas/peer_call_feeds.h — the events of calls other replicas
// run, relayed to this replica's WatchCalls streams (docs/scale-out.md,
// "Calls across replicas"); api::CallWatchDemand.
//
// While this replica has at least one local WatchCalls stream, it keeps one
// peer stream (peer_call_stream.h) open to every live peer in the directory,
// and relays each event into its engine (CallEngine::publish_peer_event:
// local watchers see it in order with this replica's own events, with this
// replica's sequence numbers) after noting which peer runs the call
// (CallOwners), so that AnswerCall, HangupCall … through this replica reach it.
// With no local watcher there is no peer stream: a peer then answers its
// inbound calls 480 at once unless someone watches elsewhere.
//
// The peer streams ask for INCOMING only while a local watcher may answer
// one (CallEventFilter::wants_incoming); when that changes, each stream is
// replaced by one of the other kind (the new one first, then the old one is
// cancelled; events seen on both are relayed once, by the peer's sequence).
//
// A new local watcher's `ready` runs once every peer stream it needs is
// open, or its peer has failed since, or `ready_wait` passed. A stream that
// fails is reopened with backoff (`backoff_min` doubling to `backoff_max`);
// events in the gap are lost (call events are live only). A peer that leaves
// the directory has its stream cancelled. The directory is read every
// `refresh` while there is demand.
//
//   PeerCallFeeds feeds(engine, directory, channels, owners, logger);
//   feeds.start();                  // its thread
//   api hooks: CallReplicas{.routing = &forwarder, .demand = &feeds}
//   feeds.stop();                   // after the API's shutdown, before the engine's
//
// Threading: watcher_started/ended from any thread; one manager thread;
// stream handlers on gRPC threads. `ready` callbacks run without locks held.
#ifndef SWITCHBOARD_GATEWAY_REPLICAS_PEER_CALL_FEEDS_H_
#define SWITCHBOARD_GATEWAY_REPLICAS_PEER_CALL_FEEDS_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "gateway/api/call_routing.h"
#include "gateway/calls/call_engine.h"
#include "gateway/json_log.h"
#include "gateway/replicas/call_owners.h"
#include "gateway/replicas/peer_call_stream.h"
#include "gateway/replicas/peer_channels.h"
#include "gateway/replicas/replica_directory.h"

namespace switchboard::replicas {

struct PeerCallFeedsOptions {
  std::chrono::milliseconds ready_wait{2000};
  std::chrono::milliseconds refresh{1000};
  std::chrono::milliseconds backoff_min{250};
  std::chrono::milliseconds backoff_max{8000};
  size_t dedupe_window = 4096;  // peer sequences remembered per peer
};

struct PeerCallFeedsStats {
  size_t watchers = 0;      // local WatchCalls streams
  size_t open_streams = 0;  // peer streams subscribed at their peer
  uint64_t events_relayed = 0;
  uint64_t stream_failures = 0;
};

class PeerCallFeeds final : public api::CallWatchDemand {
 public:
  // Every dependency must outlive this.
  PeerCallFeeds(calls::CallEngine& engine, ReplicaDirectory& directory, PeerChannels& channels,
                CallOwners& owners, Logger& logger, PeerCallFeedsOptions options = {});
  ~PeerCallFeeds() override;  // stop()

  void start();
  // Cancels every peer stream and waits for them; pending `ready`s run.
  void stop();

  WatcherId watcher_started(const calls::CallEventFilter& filter,
                            std::function<void()> ready) override;
  void watcher_ended(WatcherId id) override;

  PeerCallFeedsStats stats() const;

 private:
  using Steady = std::chrono::steady_clock;
  struct Watcher {
    bool incoming = false;          // may answer: needs INCOMING from the peers
    std::function<void()> ready;    // until it has run
    Steady::time_point give_up;     // ready by then, whatever the peers do
    Steady::time_point started;
  };
  struct Feed {
    std::string address;
    std::shared_ptr<PeerCallStream> current;  // in use (open or opening)
    std::shared_ptr<PeerCallStream> next;     // of the wanted kind, replacing current once open
    Steady::time_point retry_at{};
    std::chrono::milliseconds backoff{0};
    Steady::time_point failed_at{};           // its last failure
    // A `next` the peer refused (e.g. at its max_watchers): not reopened before
    // this, with its own backoff, or the swap would loop at round-trip rate.
    Steady::time_point next_retry_at{};
    std::chrono::milliseconds next_backoff{0};
    std::deque<uint64_t> seen_order;          // peer sequences relayed, oldest first
    std::unordered_set<uint64_t> seen;
  };

  void run(const std::stop_token& stop);
  void reconcile();
  using Starts = std::vector<std::shared_ptr<PeerCallStream>>;
  // A stream for `peer`, added to `starts` (REQUIRES: mu_ held).
  std::shared_ptr<PeerCallStream> open_stream(const Peer& peer, bool incoming, Starts& starts);
  bool satisfied(const Watcher& w, const Feed& f) const;
  // Stream handlers (gRPC threads).
  void on_opened(PeerCallStream& s);
  void on_event(PeerCallStream& s, const ::switchboard::v1::CallEvent& event);
  void on_closed(PeerCallStream& s, const grpc::Status& status);

  calls::CallEngine& engine_;
  ReplicaDirectory& directory_;
  PeerChannels& channels_;
  CallOwners& owners_;
  Logger& logger_;
  const PeerCallFeedsOptions options_;

  mutable std::mutex mu_;
  std::condition_variable_any wake_;
  bool dirty_ = false;    // something changed: reconcile now
  bool running_ = false;  // between start() and stop()
  WatcherId next_watcher_ = 1;
  std::map<WatcherId, Watcher> watchers_;
  std::map<std::string, Feed> feeds_;  // by peer id
  size_t live_streams_ = 0;            // opened, `closed` not yet run
  std::condition_variable streams_done_;
  PeerCallFeedsStats counters_;

  std::jthread thread_;  // last: stopped before the rest goes
};

}  // namespace switchboard::replicas

#endif  // SWITCHBOARD_GATEWAY_REPLICAS_PEER_CALL_FEEDS_H_
