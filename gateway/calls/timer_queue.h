// gateway/calls/timer_queue.h — the call engine's timers, on the injected
// clock's time line.
//
// Timers are (deadline, callback) pairs keyed by an id; run_due(now) fires,
// in deadline order, every timer whose deadline has passed. The engine wakes
// its thread for next() — so tests drive ring timeouts and retransmissions by
// advancing a ManualClock rather than by sleeping.
//
//   TimerQueue timers;
//   TimerId t = timers.schedule(now + 60s, [&] { ring_timeout(call); });
//   timers.cancel(t);               // a stale or 0 id is a no-op
//   timers.run_due(clock.now());
//
// Threading: not thread-safe; the engine thread only. Callbacks may schedule
// and cancel timers (including themselves).
#ifndef SWITCHBOARD_GATEWAY_CALLS_TIMER_QUEUE_H_
#define SWITCHBOARD_GATEWAY_CALLS_TIMER_QUEUE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>

#include "sip/clock.h"

namespace switchboard::calls {

using TimerId = uint64_t;  // 0: no timer

class TimerQueue {
 public:
  using time_point = sip::Clock::time_point;

  TimerId schedule(time_point at, std::function<void()> fn);
  void cancel(TimerId id);
  // Fires every timer due at `now`; returns how many fired.
  size_t run_due(time_point now);
  std::optional<time_point> next() const;
  size_t size() const { return by_id_.size(); }

 private:
  using Key = std::pair<time_point, TimerId>;
  std::map<Key, std::function<void()>> timers_;
  std::unordered_map<TimerId, time_point> by_id_;
  TimerId next_id_ = 1;
};

}  // namespace switchboard::calls

#endif  // SWITCHBOARD_GATEWAY_CALLS_TIMER_QUEUE_H_
