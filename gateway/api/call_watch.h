// gateway/api/call_watch.h — one WatchCalls stream: a gRPC callback-API
// write reactor over a CallEngine subscription, driven like the
// registration watches (watch_streams.h): the engine's subscriber callback
// only queues the event and wakes the stream; WatchStreams' pump thread and
// gRPC's OnWriteDone do the writing, one write in flight at a time.
//
//   auto* reactor = new CallWatchReactor(deps, context, request);  // gRPC owns it until OnDone
//
// Bounded: at most `options.buffer` events wait per watcher; one more ends
// the stream with RESOURCE_EXHAUSTED WATCHER_FELL_BEHIND (metadata
// last_sequence: the last event written; call events are live only, so
// re-list with ListCalls after reconnecting). At most `options.max_watchers`
// streams at once: RESOURCE_EXHAUSTED TOO_MANY_WATCHERS. Server shutdown
// (WatchStreams::close_all) ends it with UNAVAILABLE SERVER_SHUTTING_DOWN;
// the client's cancel with CANCELLED. The engine subscription is dropped in
// OnDone.
//
// Replicas (docs/scale-out.md): a stream opened by another replica (the
// internal principal with the x-switchboard-replica metadata,
// replica_metadata.h) is a peer stream: it carries only the calls this
// replica runs itself, so relayed events never loop. Every other stream is
// local: it also sees the calls other replicas run (relayed into the engine,
// CallEventFilter::peer_events), and with a CallWatchDemand its headers wait
// until the streams from the other replicas that it needs are open.
//
// Read tokens never see INCOMING events (and are refused when they ask for
// them by type): an INCOMING event is an offer to answer, and the engine
// answers 480 at once when no calls/admin watcher wants it.
//
// Threading: constructed on a gRPC thread; the subscriber callback runs on
// the engine thread; drive() on gRPC threads and the pump thread, one at a
// time (pumping_).
#ifndef SWITCHBOARD_GATEWAY_API_CALL_WATCH_H_
#define SWITCHBOARD_GATEWAY_API_CALL_WATCH_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "gateway/api/call_routing.h"
#include "gateway/api/token_auth.h"
#include "gateway/api/watch_streams.h"
#include "gateway/calls/call_engine.h"
#include "gateway/json_log.h"
#include "switchboard/v1/call.pb.h"

namespace switchboard::api {

struct CallWatchOptions {
  size_t buffer = 1024;       // events waiting per watcher before it is ended
  size_t max_watchers = 256;  // concurrent WatchCalls streams
};

// Since start, shared by every WatchCalls stream.
struct CallWatchCounters {
  std::atomic<uint64_t> started{0};
  std::atomic<uint64_t> active{0};
  std::atomic<uint64_t> fell_behind{0};        // RESOURCE_EXHAUSTED: buffer overflow
  std::atomic<uint64_t> too_many_watchers{0};  // refused at the limit
  std::atomic<uint64_t> cancelled{0};          // the client went away
  std::atomic<uint64_t> events_sent{0};
};

struct CallWatchDeps {
  calls::CallEngine& engine;
  const TokenAuthenticator& auth;
  WatchStreams& streams;
  Logger& logger;
  CallWatchCounters& counters;
  CallWatchOptions options;
  CallWatchDemand* demand = nullptr;  // replicas only: see above
};

class CallWatchReactor final : public grpc::ServerWriteReactor<::switchboard::v1::CallEvent>,
                               public WatchStream {
 public:
  // Authorizes, validates, subscribes and starts streaming, or finishes at
  // once with the error.
  CallWatchReactor(const CallWatchDeps& deps, grpc::CallbackServerContext* context,
                   const ::switchboard::v1::WatchCallsRequest& request);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  // WatchStream
  void pump() override { drive(); }
  void close() override;
  void destroy() override { delete this; }

 private:
  // Lets a CallWatchDemand's `ready` reach the reactor while it lives
  // (OnDone clears it; recursive: OnDone may run inside the drive() that
  // `ready` started).
  struct Gate {
    std::recursive_mutex mu;
    CallWatchReactor* reactor = nullptr;
  };

  // What the engine's callback and the stream share; outlives either.
  struct Inbox {
    std::mutex mu;
    std::deque<calls::CallEvent> events;
    bool overflow = false;
    bool detached = false;  // OnDone ran: the callback must not touch WatchStreams any more
  };

  ~CallWatchReactor();
  grpc::Status start(grpc::CallbackServerContext& context,
                     const ::switchboard::v1::WatchCallsRequest& request);
  void finish_now(grpc::Status status);
  void open_gate();  // the peer streams this watcher needs are open: headers, then events
  void drive();

  CallWatchDeps deps_;
  std::shared_ptr<WatchHandle> handle_;
  std::shared_ptr<Inbox> inbox_;
  std::optional<calls::CallEngine::SubscriptionId> subscription_;
  std::shared_ptr<Gate> gate_;
  std::optional<CallWatchDemand::WatcherId> demand_id_;
  bool counted_ = false;  // holds one of max_watchers
  std::string token_name_;

  std::mutex mu_;
  bool pumping_ = false;
  bool again_ = false;
  bool writing_ = false;
  bool finished_ = false;
  bool cancelled_ = false;
  bool closing_ = false;
  bool gated_ = false;         // waiting for peer streams: no headers, no events yet
  bool headers_due_ = false;   // send the response headers on the next drive()
  uint64_t last_sequence_ = 0;
  ::switchboard::v1::CallEvent out_;  // the message in flight (only the pumper)
};

}  // namespace switchboard::api

#endif  // SWITCHBOARD_GATEWAY_API_CALL_WATCH_H_
