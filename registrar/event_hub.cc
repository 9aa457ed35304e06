// registrar/event_hub.cc — per-watcher bounded queues fed under one hub lock,
// and backlogs read from the store's event log on the watcher's thread.
//
// Locks, in this order only: the hub's `mu` (the subscription list and the
// last published sequence), then a subscription's `mu` (its live queue and
// end state). A subscription's `wakeup_mu` is taken alone, to call or change
// its wakeup. `store_mu` (shared) is held only while reading the store, with
// no other lock of ours: the hub never reads the store or calls a wakeup
// under its lock.
#include "registrar/event_hub.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <shared_mutex>
#include <utility>

#include "sip/lex.h"

namespace registrar {
namespace event_hub_detail {

using EventPtr = SharedEvent;
struct Core;

// A subscription's state, shared by the hub (while attached) and the
// Subscription.
struct SubState {
  std::shared_ptr<Core> core;
  EventHubOptions options;

  // The filter (immutable once subscribed).
  std::string realm;       // "" = all
  uint32_t type_mask = 0;  // bit per RegistrationEventType value; 0 = all

  bool matches(const RegistrationEvent& e) const {
    if (type_mask != 0 && (type_mask & (1u << static_cast<unsigned>(e.type))) == 0) return false;
    return realm.empty() || sip::lex::iequals(e.binding.realm, realm);
  }

  // The backlog: only the consumer (one at a time) touches these.
  bool backlog = false;      // events (cursor, backlog_end] remain to be read
  bool any_first = false;    // since 0: the first event read may be any retained one
  uint64_t cursor = 0;       // the last sequence read from the log
  uint64_t backlog_end = 0;  // the hub's last published sequence at subscribe()
  std::deque<RegistrationEvent> backlog_buffer;  // read and filtered, not yet delivered

  // Guarded by mu.
  std::mutex mu;
  std::condition_variable cv;  // wait_poll()
  std::deque<EventPtr> live;   // events published after subscribe(), filtered
  bool waiting = false;        // poll() returned kEmpty: wake up on the next change
  bool ended = false;
  WatchError error = WatchError::kNone;
  std::string message;
  uint64_t last_delivered = 0;
  uint64_t start = 0;  // where the watcher started (since, or the live position)

  // Guarded by wakeup_mu, which is held while the wakeup runs.
  std::mutex wakeup_mu;
  std::function<void()> wakeup;

  uint64_t resume_point() const { return last_delivered != 0 ? last_delivered : start; }

  // Ends the subscription. REQUIRES: mu held. Returns whether the consumer is
  // waiting for a wakeup.
  bool end_locked(WatchError why, std::string text) {
    if (ended) return false;
    ended = true;
    error = why;
    message = std::move(text);
    live.clear();
    cv.notify_all();
    return std::exchange(waiting, false);
  }

  void call_wakeup() {
    std::lock_guard lock(wakeup_mu);
    if (wakeup) wakeup();
  }
};

struct Core {
  // Reads of the store hold this shared; the hub's destructor takes it
  // exclusively and clears `store`, so no read outlives the hub.
  std::shared_mutex store_mu;
  BindingStore* store = nullptr;

  std::mutex mu;  // the hub lock
  uint64_t last_published = 0;
  bool closed = false;
  std::vector<std::shared_ptr<SubState>> subscriptions;

  // REQUIRES: mu held.
  void detach_locked(const SubState* s) {
    auto it = std::find_if(subscriptions.begin(), subscriptions.end(),
                           [s](const std::shared_ptr<SubState>& p) { return p.get() == s; });
    if (it == subscriptions.end()) return;
    std::swap(*it, subscriptions.back());
    subscriptions.pop_back();
  }
  void detach(const SubState* s) {
    std::lock_guard lock(mu);
    detach_locked(s);
  }
};

}  // namespace event_hub_detail

using event_hub_detail::Core;
using event_hub_detail::EventPtr;
using event_hub_detail::SubState;

struct Subscription::State_ : SubState {};

namespace {

// Ends `s` from its consumer's thread (no wakeup: the consumer is the caller)
// and detaches it from the hub.
void end_from_consumer(SubState& s, WatchError why, std::string text) {
  {
    std::lock_guard lock(s.mu);
    s.end_locked(why, std::move(text));
  }
  s.core->detach(&s);
}

// Reads the next chunk of the backlog into s.backlog_buffer (consumer thread,
// no lock held). False when the subscription ended.
bool read_backlog(SubState& s) {
  const uint64_t left = s.backlog_end - s.cursor;
  const size_t want =
      static_cast<size_t>(std::min<uint64_t>(std::max<size_t>(s.options.backlog_chunk, 1), left));
  std::vector<RegistrationEvent> chunk;
  EventLogState log;
  bool closed = false;
  {
    std::shared_lock lock(s.core->store_mu);
    if (s.core->store == nullptr) {
      closed = true;
    } else {
      chunk = s.core->store->read_events(s.cursor, want);
      if (chunk.empty()) log = s.core->store->event_log_state();
    }
  }
  if (closed) {
    end_from_consumer(s, WatchError::kClosed, "the event hub is shutting down");
    return false;
  }
  if (chunk.empty()) {
    if (s.any_first) {  // since 0 and nothing retained up to the live position
      s.backlog = false;
      return true;
    }
    if (log.oldest_retained > s.cursor + 1) {
      end_from_consumer(s, WatchError::kOutOfRange,
                        "events after " + std::to_string(s.cursor) +
                            " were trimmed from the log before this watcher read them (the "
                            "oldest retained event is now " +
                            std::to_string(log.oldest_retained) +
                            "); resume from a newer sequence or watch live");
    } else {
      end_from_consumer(s, WatchError::kStoreFailed,
                        "reading the event log after sequence " + std::to_string(s.cursor) +
                            " failed; resume from " + std::to_string(s.cursor));
    }
    return false;
  }
  for (RegistrationEvent& e : chunk) {
    if (e.sequence != s.cursor + 1 && !s.any_first) {
      end_from_consumer(s, WatchError::kOutOfRange,
                        "events " + std::to_string(s.cursor + 1) + ".." +
                            std::to_string(e.sequence - 1) +
                            " were trimmed from the log before this watcher read them; resume "
                            "from a newer sequence or watch live");
      return false;
    }
    if (e.sequence > s.backlog_end) break;  // published after subscribe(): in the live queue
    s.any_first = false;
    s.cursor = e.sequence;
    if (s.matches(e)) s.backlog_buffer.push_back(std::move(e));
  }
  if (s.cursor >= s.backlog_end || chunk.back().sequence > s.backlog_end) s.backlog = false;
  return true;
}

}  // namespace

// --- Subscription -----------------------------------------------------------------

Subscription::Subscription(std::shared_ptr<State_> state) : state_(std::move(state)) {}

Subscription::~Subscription() { cancel(); }

Subscription::State Subscription::poll(std::vector<RegistrationEvent>& out, size_t max) {
  std::vector<SharedEvent> shared;
  const State state = poll(shared, max);
  out.reserve(out.size() + shared.size());
  for (const SharedEvent& e : shared) out.push_back(*e);  // copies outside any lock
  return state;
}

Subscription::State Subscription::poll(std::vector<SharedEvent>& out, size_t max) {
  SubState& s = *state_;
  max = std::max<size_t>(max, 1);
  const size_t start = out.size();

  // 1. The backlog, read from the store without any lock of the hub.
  bool ended_here = false;  // by a gap or a failed read met in this poll
  while (out.size() - start < max) {
    if (!s.backlog_buffer.empty()) {
      out.push_back(std::make_shared<const RegistrationEvent>(std::move(s.backlog_buffer.front())));
      s.backlog_buffer.pop_front();
      continue;
    }
    if (!s.backlog) break;
    if (!read_backlog(s)) {
      ended_here = true;
      break;
    }
  }

  // 2. Then the live queue: the hub's shared copies, moved out under the lock.
  std::lock_guard lock(s.mu);
  if (s.ended) {
    // Events read before a gap this poll found are still good: deliver them
    // (the next poll reports the end). Ended by anyone else (fell behind,
    // closed): nothing more, so that the message's resume point stays exact.
    const bool own_end =
        ended_here && (s.error == WatchError::kOutOfRange || s.error == WatchError::kStoreFailed);
    if (!own_end || out.size() == start) {
      out.resize(start);
      return State::kEnded;
    }
    s.last_delivered = std::max(s.last_delivered, out.back()->sequence);
    return State::kEvents;
  }
  if (!s.backlog && s.backlog_buffer.empty()) {
    while (out.size() - start < max && !s.live.empty()) {
      out.push_back(std::move(s.live.front()));
      s.live.pop_front();
    }
  }
  if (out.size() == start) {
    s.waiting = true;
    return State::kEmpty;
  }
  s.last_delivered = std::max(s.last_delivered, out.back()->sequence);
  return State::kEvents;
}

Subscription::State Subscription::wait_poll(std::vector<RegistrationEvent>& out, size_t max,
                                            std::chrono::milliseconds timeout) {
  SubState& s = *state_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const State r = poll(out, max);
    if (r != State::kEmpty) return r;
    std::unique_lock lock(s.mu);
    if (!s.cv.wait_until(lock, deadline, [&] { return !s.waiting || s.ended; })) {
      return State::kEmpty;
    }
  }
}

void Subscription::set_wakeup(std::function<void()> wakeup) {
  std::lock_guard lock(state_->wakeup_mu);
  state_->wakeup = std::move(wakeup);
}

void Subscription::cancel() {
  SubState& s = *state_;
  s.core->detach(&s);
  {
    std::lock_guard lock(s.mu);
    s.end_locked(WatchError::kClosed, "the watcher was cancelled");
  }
  // Waits for a wakeup running on a publisher's thread; none runs after this.
  std::lock_guard lock(s.wakeup_mu);
  s.wakeup = nullptr;
}

WatchError Subscription::error() const {
  std::lock_guard lock(state_->mu);
  return state_->error;
}

std::string Subscription::message() const {
  std::lock_guard lock(state_->mu);
  return state_->message;
}

uint64_t Subscription::last_sequence() const {
  std::lock_guard lock(state_->mu);
  return state_->last_delivered;
}

// --- EventHub ---------------------------------------------------------------------

struct EventHub::Impl {
  EventHubOptions options;
  std::shared_ptr<Core> core = std::make_shared<Core>();
};

EventHub::EventHub(BindingStore& store, EventHubOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  impl_->options.buffer = std::max<size_t>(options.buffer, 1);
  impl_->core->store = &store;
  impl_->core->last_published = store.event_log_state().next_sequence - 1;
}

EventHub::~EventHub() {
  Core& c = *impl_->core;
  std::vector<std::shared_ptr<SubState>> ended;
  {
    std::lock_guard lock(c.mu);
    c.closed = true;
    ended.swap(c.subscriptions);
  }
  for (const std::shared_ptr<SubState>& s : ended) {
    bool wake;
    {
      std::lock_guard lock(s->mu);
      wake = s->end_locked(WatchError::kClosed, "the event hub is shutting down");
    }
    if (wake) s->call_wakeup();
  }
  std::unique_lock lock(c.store_mu);  // waits for backlog reads in flight
  c.store = nullptr;
}

void EventHub::on_event(const RegistrationEvent& event) {
  Core& c = *impl_->core;
  std::vector<std::shared_ptr<SubState>> wake;
  {
    std::lock_guard lock(c.mu);
    if (c.closed) return;
    const bool auth_failed = event.type == RegistrationEventType::kAuthFailed;
    if (!auth_failed) {
      // Published already, or in the log before the hub started (then a
      // resuming watcher reads it from the store).
      if (event.sequence <= c.last_published) return;
      c.last_published = event.sequence;
    }
    EventPtr shared;  // one copy for every watcher, made when the first wants it
    for (size_t i = 0; i < c.subscriptions.size();) {
      SubState& s = *c.subscriptions[i];
      if (!s.matches(event)) {
        ++i;
        continue;
      }
      if (!shared) {
        auto copy = std::make_shared<RegistrationEvent>(event);
        if (auth_failed) copy->sequence = c.last_published;  // live only: the latest stored
        shared = std::move(copy);
      }
      bool detach = false, wake_it = false;
      {
        std::lock_guard sub_lock(s.mu);
        if (s.ended) {
          detach = true;
        } else if (s.live.size() >= s.options.buffer) {
          detach = true;
          wake_it =
              s.end_locked(WatchError::kFellBehind,
                           "watcher fell behind: " + std::to_string(s.live.size()) +
                               " events queued; resume from " + std::to_string(s.resume_point()));
        } else {
          s.live.push_back(shared);
          if (s.waiting) {
            s.waiting = false;
            wake_it = true;
            s.cv.notify_all();
          }
        }
      }
      if (wake_it) wake.push_back(c.subscriptions[i]);
      if (detach) {
        std::swap(c.subscriptions[i], c.subscriptions.back());
        c.subscriptions.pop_back();
      } else {
        ++i;
      }
    }
  }
  for (const std::shared_ptr<SubState>& s : wake) s->call_wakeup();
}

SubscribeResult EventHub::subscribe(EventFilter filter) {
  Core& c = *impl_->core;
  SubscribeResult result;
  // Read before the hub lock (never read the store under it). A trim after
  // this read shows up as a gap while the backlog is read.
  EventLogState log;
  if (filter.since) log = c.store->event_log_state();

  auto state = std::make_shared<Subscription::State_>();
  state->core = impl_->core;
  state->options = impl_->options;
  state->realm = std::move(filter.realm);
  for (RegistrationEventType t : filter.types) state->type_mask |= 1u << static_cast<unsigned>(t);

  std::lock_guard lock(c.mu);
  const uint64_t newest = c.last_published;
  if (c.closed) {
    result.error = WatchError::kClosed;
    result.message = "the event hub is shutting down";
    return result;
  }
  if (c.subscriptions.size() >= impl_->options.max_subscriptions) {
    result.error = WatchError::kTooManyWatchers;
    result.message = "too many watchers (" + std::to_string(impl_->options.max_subscriptions) +
                     "); try again later";
    return result;
  }
  if (filter.since) {
    uint64_t since = *filter.since;
    if (since == 0) {  // every retained event
      since = std::min(log.oldest_retained - 1, newest);
      state->any_first = true;
    } else if (since > newest || since + 1 < log.oldest_retained) {
      result.error = WatchError::kOutOfRange;
      result.oldest_sequence = log.oldest_retained;
      result.newest_sequence = newest;
      if (since > newest) {
        result.message = "since_sequence " + std::to_string(since) +
                         " is newer than the newest event (" + std::to_string(newest) + ")";
      } else if (log.oldest_retained >= log.next_sequence) {
        result.message = "since_sequence " + std::to_string(since) +
                         " is older than the retained log, which is empty (the newest event, " +
                         std::to_string(newest) + ", was trimmed); watch live or resume from " +
                         std::to_string(newest);
      } else {
        result.message = "since_sequence " + std::to_string(since) +
                         " is older than the oldest retained event (" +
                         std::to_string(log.oldest_retained) + "); resume from " +
                         std::to_string(log.oldest_retained - 1) + " or later, or watch live";
      }
      return result;
    }
    state->cursor = since;
    state->backlog_end = newest;
    state->backlog = since < newest;
    state->start = since;
  } else {
    state->start = newest;
  }
  c.subscriptions.push_back(state);
  result.subscription.reset(new Subscription(std::move(state)));
  return result;
}

size_t EventHub::subscription_count() const {
  std::lock_guard lock(impl_->core->mu);
  return impl_->core->subscriptions.size();
}

uint64_t EventHub::last_sequence() const {
  std::lock_guard lock(impl_->core->mu);
  return impl_->core->last_published;
}

}  // namespace registrar
