// gateway/calls/timer_queue.cc — see timer_queue.h.
#include "gateway/calls/timer_queue.h"

namespace switchboard::calls {

TimerId TimerQueue::schedule(time_point at, std::function<void()> fn) {
  TimerId id = next_id_++;
  timers_.emplace(Key{at, id}, std::move(fn));
  by_id_.emplace(id, at);
  return id;
}

void TimerQueue::cancel(TimerId id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  timers_.erase(Key{it->second, id});
  by_id_.erase(it);
}

size_t TimerQueue::run_due(time_point now) {
  size_t fired = 0;
  // One at a time: a callback may add or cancel timers.
  while (!timers_.empty() && timers_.begin()->first.first <= now) {
    auto it = timers_.begin();
    std::function<void()> fn = std::move(it->second);
    by_id_.erase(it->first.second);
    timers_.erase(it);
    fn();
    ++fired;
  }
  return fired;
}

std::optional<TimerQueue::time_point> TimerQueue::next() const {
  if (timers_.empty()) return std::nullopt;
  return timers_.begin()->first.first;
}

}  // namespace switchboard::calls
