// gateway/api/watch_reactor.h — one WatchRegistrations stream: a gRPC
// callback-API write reactor over an EventHub subscription. No thread per
// watcher: it writes while events are there, sleeps on the subscription's
// wakeup when there are none.
//
// A raw method (grpc::ByteBuffer in and out, the same messages on the wire):
// every stream writes the bytes WatchStreams::encoded() made once per event,
// and the hub's events are shared, never copied per stream.
//
// One write in flight at a time; at most kPollBatch events taken from the
// subscription ahead of the writes (the hub bounds the rest per watcher).
// Bursts: the events polled are written back to back, each but the last
// with gRPC's buffer hint (gRPC holds it), so a burst leaves in one flush;
// the last event taken is always written without the hint, which flushes
// the ones before, and Finish flushes too: no event is ever left sitting in
// a buffer. A burst stops taking more events after kPollBatch writes. After
// a flush, a stream that had caught up waits for its wakeup (a pass of
// WatchStreams, which collects what arrives meanwhile, see watch_streams.h);
// one that had not goes on at once. The thread that completes a write runs
// at background priority from then on (watch_streams.h).
// Finish() is called exactly once, by whoever drives the stream at that
// moment, never while a write is in flight; OnDone hands the reactor to its
// WatchHandle, which deletes it once no wakeup is inside (watch_streams.h).
//
//   OUT_OF_RANGE        since_sequence is no longer (or not yet) in the log;
//                       ErrorInfo metadata oldest_sequence, newest_sequence
//   RESOURCE_EXHAUSTED  WATCHER_FELL_BEHIND (metadata last_sequence: resume
//                       from it) or TOO_MANY_WATCHERS
//   UNAVAILABLE         the server is shutting down (metadata last_sequence)
//   CANCELLED           the client went away
//
// Threading: constructed on a gRPC thread by RegistrationService; drive()
// runs on gRPC threads (OnWriteDone, OnCancel) and on WatchStreams' thread
// (passes, close), never on the hub's publisher thread; one at a time
// (pumping_).
#ifndef SWITCHBOARD_GATEWAY_API_WATCH_REACTOR_H_
#define SWITCHBOARD_GATEWAY_API_WATCH_REACTOR_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/server_callback.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "gateway/api/token_auth.h"
#include "gateway/api/watch_streams.h"
#include "gateway/json_log.h"
#include "registrar/event_hub.h"
#include "switchboard/v1/registration.pb.h"

namespace switchboard::api {

// Streams ended, by cause, since start (shared by every stream).
struct WatchCounters {
  std::atomic<uint64_t> fell_behind{0};        // RESOURCE_EXHAUSTED: buffer overflow
  std::atomic<uint64_t> too_many_watchers{0};  // refused at the limit
  std::atomic<uint64_t> out_of_range{0};       // since_sequence not retained
  std::atomic<uint64_t> cancelled{0};          // the client went away
  std::atomic<uint64_t> events_sent{0};
};

struct WatchDeps {
  registrar::EventHub& hub;
  const TokenAuthenticator& auth;
  WatchStreams& streams;
  Logger& logger;
  WatchCounters& counters;
  size_t watcher_buffer = 0;  // the hub's per-watcher buffer, for messages
  size_t max_watchers = 0;    // the hub's limit, for messages
};

class WatchReactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer>, public WatchStream {
 public:
  // Authorizes, parses (a WatchRegistrationsRequest), validates, subscribes
  // and starts streaming, or finishes at once with the error. gRPC owns the
  // reactor until OnDone.
  WatchReactor(const WatchDeps& deps, grpc::CallbackServerContext* context,
               const grpc::ByteBuffer& request);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  // WatchStream: a pass of WatchStreams (the subscription's wakeup).
  void pump() override;
  void close() override;
  void destroy() override { delete this; }

 private:
  ~WatchReactor();
  // Everything the constructor does; an error means nothing was started.
  grpc::Status start(grpc::CallbackServerContext& context, const grpc::ByteBuffer& request);
  // Finishes at once (constructor errors: nothing subscribed, nothing written).
  void finish_now(grpc::Status status);
  // The status for the subscription's end, with the last sequence written.
  grpc::Status end_status() const;
  // Makes progress: polls, starts a write or finishes (one caller at a time
  // inside; others leave it a note in again_).
  void drive();

  static constexpr size_t kPollBatch = 64;

  WatchDeps deps_;
  std::shared_ptr<WatchHandle> handle_;
  std::unique_ptr<registrar::Subscription> subscription_;
  std::string token_name_;

  std::mutex mu_;
  bool pumping_ = false;    // someone is inside drive()
  bool again_ = false;      // drive() was asked for while pumping_
  bool writing_ = false;    // a StartWrite is in flight
  bool finished_ = false;   // Finish() was called (or is being)
  bool cancelled_ = false;  // OnCancel, or a write failed
  bool closing_ = false;    // server shutdown
  bool ended_ = false;      // the subscription ended: finish once pending_ is written
  bool flushed_ = false;    // the write in flight has no buffer hint (it flushes)
  bool caught_up_ = false;  // the last poll found nothing (its wakeup is armed)
  size_t burst_ = 0;        // buffered (hinted) writes since the last flush
  registrar::WatchError end_error_ = registrar::WatchError::kNone;
  std::string end_message_;
  std::deque<registrar::SharedEvent> pending_;  // polled, not yet written
  uint64_t last_sequence_ = 0;  // of the last stored event written (or the resume point)
  std::vector<registrar::SharedEvent> batch_;    // poll()'s, reused (only the pumper touches it)
  std::shared_ptr<const grpc::ByteBuffer> out_;  // the message in flight (only the pumper)
};

}  // namespace switchboard::api

#endif  // SWITCHBOARD_GATEWAY_API_WATCH_REACTOR_H_
