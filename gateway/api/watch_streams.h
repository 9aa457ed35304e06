// gateway/api/watch_streams.h — every live WatchRegistrations stream: their
// lifetimes against wakeups from the EventHub, the thread that pumps them
// when events arrive, the encoded events they share, and ending them all at
// shutdown.
//
// Why a handle: a stream (a gRPC ServerWriteReactor) is deleted in OnDone,
// while the EventHub may be calling its wakeup on the publisher's thread at
// that very moment. The wakeup therefore holds a shared WatchHandle, never the
// stream: enter() fails once the stream is done, and a stream that is done
// while someone is inside is deleted by the last one to leave.
//
// Why a thread: wakeups come from the store's commit path, which must never
// wait for watchers. A wakeup only queues the handle (a mutex and a push; the
// pump thread is notified only when it sleeps, so one event reaching 100
// idle streams costs one notification); the pump thread then takes every
// queued stream in one pass and starts their writes, and gRPC's own threads
// continue them from OnWriteDone.
//
// Why passes: the CPU a delivery costs is mostly per flush, not per event (a
// sendmsg on the stream's connection, the client's WINDOW_UPDATE that
// answers it, the thread switches around both). A pass starts at most once
// per `pass_interval`, so a stream that has caught up writes everything that
// arrived since its last pass in one burst (one flush) instead of one flush
// per event: under load events wait up to `pass_interval`; after an idle
// interval the first one goes at once. A stream that is behind (backlog, or
// a burst cut at its size limit) does not wait for passes.
//
// Why low priority: the registrar comes first. The pump thread, and every
// gRPC thread that runs a watch write's completion, run at nice 19
// (background_priority()): on a busy core, watchers get what the registrar
// leaves; if that is not enough they fall behind and are ended
// (RESOURCE_EXHAUSTED), and the registrar's throughput does not change.
//
//   auto handle = std::make_shared<WatchHandle>(stream);
//   if (!streams.add(handle)) … end the stream at once (shutting down)
//   subscription->set_wakeup([&streams, handle] { streams.wake(handle); });
//   … OnDone: streams.remove(handle.get()); handle->done();   // may delete the stream
//   … shutdown: streams.close_all(); server->Shutdown(deadline); streams.wait_idle(deadline);
//
// Threading: every method from any thread.
#ifndef SWITCHBOARD_GATEWAY_API_WATCH_STREAMS_H_
#define SWITCHBOARD_GATEWAY_API_WATCH_STREAMS_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "gateway/api/watch_encoding.h"

namespace switchboard::api {

// A stream as WatchStreams drives it.
class WatchStream {
 public:
  // Makes progress: polls the subscription, starts a write or finishes.
  virtual void pump() = 0;
  // Ends the stream with UNAVAILABLE (server shutting down), then pumps.
  virtual void close() = 0;
  // Deletes the stream (called once, when done and nobody is inside).
  virtual void destroy() = 0;

 protected:
  ~WatchStream() = default;
};

class WatchHandle {
 public:
  explicit WatchHandle(WatchStream* stream) : stream_(stream) {}

  // Calls stream.pump() (or close()) unless the stream is done; the stream
  // stays alive meanwhile.
  void pump();
  void close();

  // From the stream's OnDone: no one enters any more; deletes the stream now,
  // or when the last caller inside leaves. The stream must not be touched by
  // the caller afterwards.
  void done();

 private:
  friend class WatchStreams;
  WatchStream* enter();
  void leave();

  std::mutex mu_;
  WatchStream* stream_;  // null once destroyed
  bool done_ = false;
  int inside_ = 0;
  bool queued_ = false;  // guarded by WatchStreams::mu_
};

struct WatchStreamStats {
  uint64_t started = 0;        // streams registered
  uint64_t active = 0;         // registered and not yet done
  EncodedEventStats encoding;  // events serialized, and writes that reused one
};

// Lowers the calling thread's CPU priority to nice 19 (the first time a
// thread calls it; best effort).
void background_priority();

class WatchStreams {
 public:
  static constexpr std::chrono::microseconds kDefaultPassInterval{10'000};

  explicit WatchStreams(std::chrono::microseconds pass_interval = kDefaultPassInterval);
  ~WatchStreams();  // stops the pump thread; REQUIRES: no stream left (wait_idle)
  WatchStreams(const WatchStreams&) = delete;
  WatchStreams& operator=(const WatchStreams&) = delete;

  // Registers a new stream; false once close_all() has run (the stream must
  // then finish at once).
  bool add(const std::shared_ptr<WatchHandle>& handle);
  // From the stream's OnDone, before handle->done().
  void remove(const WatchHandle* handle);

  // Never blocks on streams: queues the handle for the pump thread's next
  // pass (once, however often it is woken before being pumped).
  void wake(const std::shared_ptr<WatchHandle>& handle);

  // Refuses new streams and closes every live one (UNAVAILABLE). Returns at once.
  void close_all();
  // True once every registered stream is done; false at the deadline.
  bool wait_idle(std::chrono::steady_clock::time_point deadline);

  WatchStreamStats stats() const;

  // The serialized events every stream writes (each encoded once).
  EncodedEvents& encoded() { return encoded_; }

 private:
  void run();

  mutable std::mutex mu_;
  std::condition_variable cv_;       // queue or stop
  std::condition_variable idle_cv_;  // live_ emptied
  std::deque<std::shared_ptr<WatchHandle>> queue_;
  std::map<const WatchHandle*, std::shared_ptr<WatchHandle>> live_;
  bool closing_ = false;
  bool stop_ = false;
  bool sleeping_ = false;  // the pump thread waits on cv_: the next wake() notifies it
  const std::chrono::microseconds pass_interval_;
  uint64_t started_ = 0;
  EncodedEvents encoded_;
  std::thread thread_;  // last: started once the rest is ready
};

}  // namespace switchboard::api

#endif  // SWITCHBOARD_GATEWAY_API_WATCH_STREAMS_H_
