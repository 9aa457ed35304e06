// gateway/api/watch_streams.h — every live WatchRegistrations stream: their
// lifetimes against wakeups from the EventHub, the thread that pumps them
// when events arrive, and ending them all at shutdown.
//
// Why a handle: a stream (a gRPC ServerWriteReactor) is deleted in OnDone,
// while the EventHub may be calling its wakeup on the publisher's thread at
// that very moment. The wakeup therefore holds a shared WatchHandle, never the
// stream: enter() fails once the stream is done, and a stream that is done
// while someone is inside is deleted by the last one to leave.
//
// Why a thread: wakeups come from the store's commit path, which must never
// wait for watchers. A wakeup only queues the handle (a mutex, a push, a
// notify); one pump thread then converts and starts the writes for every
// woken stream, and gRPC's own threads continue them from OnWriteDone.
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
  uint64_t started = 0;  // streams registered
  uint64_t active = 0;   // registered and not yet done
};

class WatchStreams {
 public:
  WatchStreams();
  ~WatchStreams();  // stops the pump thread; REQUIRES: no stream left (wait_idle)
  WatchStreams(const WatchStreams&) = delete;
  WatchStreams& operator=(const WatchStreams&) = delete;

  // Registers a new stream; false once close_all() has run (the stream must
  // then finish at once).
  bool add(const std::shared_ptr<WatchHandle>& handle);
  // From the stream's OnDone, before handle->done().
  void remove(const WatchHandle* handle);

  // Never blocks on streams: queues the handle for the pump thread (once,
  // however often it is woken before being pumped).
  void wake(const std::shared_ptr<WatchHandle>& handle);

  // Refuses new streams and closes every live one (UNAVAILABLE). Returns at once.
  void close_all();
  // True once every registered stream is done; false at the deadline.
  bool wait_idle(std::chrono::steady_clock::time_point deadline);

  WatchStreamStats stats() const;

 private:
  void run();

  mutable std::mutex mu_;
  std::condition_variable cv_;       // queue or stop
  std::condition_variable idle_cv_;  // live_ emptied
  std::deque<std::shared_ptr<WatchHandle>> queue_;
  std::map<const WatchHandle*, std::shared_ptr<WatchHandle>> live_;
  bool closing_ = false;
  bool stop_ = false;
  uint64_t started_ = 0;
  std::thread thread_;  // last: started once the rest is ready
};

}  // namespace switchboard::api

#endif  // SWITCHBOARD_GATEWAY_API_WATCH_STREAMS_H_
