// registrar/event_hub.h — fans registration events out to watchers
// (WatchRegistrations streams), with resume from the store's event log.
//
//   EventHub hub(store);                       // reads the log's state at construction
//   location.add_observer(&hub);
//   auto r = hub.subscribe({.since = 41, .realm = "acme.example"});
//   if (!r.ok()) return grpc_error(r.error, r.message);   // kOutOfRange, kTooManyWatchers
//   r.subscription->set_wakeup([reactor] { reactor->poke(); });
//   std::vector<RegistrationEvent> batch;
//   switch (r.subscription->poll(batch, 64)) { … }           // events 42, 43, … then live
//   std::vector<SharedEvent> shared;                         // or: no copy per watcher
//   r.subscription->poll(shared, 64);
//
// Gap-free resume: subscribe() takes the hub's last published sequence L under
// its lock and attaches the subscription to the live feed in the same critical
// section; events (S, L] are then read from the store (committed: the store
// publishes only after commit) in chunks as the watcher consumes, then the
// live queue (> L). A trim racing the read shows as a gap and ends the
// subscription with kOutOfRange; nothing is ever delivered twice or skipped.
// since = 0 means "every retained event" (never out of range; the first event
// is the oldest retained one when the backlog is read).
//
// The hub must be told every binding event of its store, in sequence order
// (it is the observer of the one LocationService writing to that store).
// Events with a sequence it has already published (or that were in the log
// before it was built) are ignored.
//
// Shared: a live event is copied once, when the first subscriber wants it,
// and that one immutable copy is queued for every subscriber; poll() into a
// vector of SharedEvent hands it out as is (consumers that fan out to many
// watchers can then key derived forms, such as an encoding, on its address).
// Backlog events are read per subscription and shared by nobody.
//
// Bounded: each subscription queues at most `buffer` live events (the backlog
// is read from the store on demand, not queued). A watcher that falls further
// behind is ended with kFellBehind; the registrar is never slowed: on_event()
// only appends to bounded queues under short locks and calls wakeups.
//
// Threading: on_event() from the store's commit path (sequence order) and
// from registrar threads (kAuthFailed); subscribe() and Subscription methods
// from any thread. A Subscription is used by one consumer at a time. The hub
// never reads the store or calls a wakeup while holding its lock; backlogs
// are read on the consumer's thread, in poll().
#ifndef SWITCHBOARD_REGISTRAR_EVENT_HUB_H_
#define SWITCHBOARD_REGISTRAR_EVENT_HUB_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "registrar/observer.h"
#include "registrar/store/binding_store.h"

namespace registrar {

struct EventHubOptions {
  size_t buffer = 4096;           // live events queued per subscription
  size_t max_subscriptions = 1000;
  size_t backlog_chunk = 256;     // events read from the store at a time
};

struct EventFilter {
  std::optional<uint64_t> since;  // resume after this sequence; nullopt: live only
  std::string realm;              // only this realm (case-insensitive); "" = all
  std::vector<RegistrationEventType> types;  // only these; empty = all
};

enum class WatchError : uint8_t {
  kNone,
  kOutOfRange,       // since is older than the oldest retained event, or newer than the newest
  kTooManyWatchers,  // max_subscriptions reached
  kFellBehind,       // the live queue overflowed (resume from the last sequence received)
  kStoreFailed,      // reading the log failed (events that should be there are not, yet none
                     // was trimmed)
  kClosed,           // the hub is shutting down, or the subscription was cancelled
};

class EventHub;

// One immutable event as the hub hands it out; a live event's copy is shared
// by every subscriber it reaches.
using SharedEvent = std::shared_ptr<const RegistrationEvent>;

class Subscription {
 public:
  enum class State : uint8_t {
    kEvents,  // `out` received ≥1 event
    kEmpty,   // nothing now; the wakeup will be called when something arrives
    kEnded,   // ended: see error()/message(); nothing more will come
  };
  // Appends up to `max` events to `out` (backlog first, then live), in
  // sequence order, filtered. Never blocks on other watchers; may read the
  // store for the backlog.
  State poll(std::vector<RegistrationEvent>& out, size_t max);
  // The same without copying: live events are the hub's shared copy.
  State poll(std::vector<SharedEvent>& out, size_t max);
  // Blocks up to `timeout` for poll() to have something (for simple consumers).
  State wait_poll(std::vector<RegistrationEvent>& out, size_t max, std::chrono::milliseconds timeout);
  // Called (from the publisher's thread; must not block, nor cancel or
  // destroy this Subscription) when poll() would return kEvents or kEnded
  // after having returned kEmpty — once per kEmpty. Set before polling.
  void set_wakeup(std::function<void()> wakeup);
  // Detaches from the hub (also done by the destructor); poll() then returns
  // kEnded with kClosed. Waits for a wakeup running on another thread: once
  // it returns, the wakeup is neither running nor called again (so do not
  // hold a lock the wakeup takes while cancelling).
  void cancel();

  WatchError error() const;
  std::string message() const;  // for a person: "watcher fell behind: 4096 events queued; resume from 1234"
  // The sequence of the last event delivered (0 if none). A kAuthFailed
  // event carries the sequence of the binding event published before it.
  uint64_t last_sequence() const;
  ~Subscription();

 private:
  friend class EventHub;
  struct State_;
  explicit Subscription(std::shared_ptr<State_> state);
  std::shared_ptr<State_> state_;
};

struct SubscribeResult {
  std::unique_ptr<Subscription> subscription;  // set iff ok()
  WatchError error = WatchError::kNone;
  std::string message;           // "since_sequence 3 is older than the oldest retained event 10"
  uint64_t oldest_sequence = 0;  // kOutOfRange: the oldest retained event's sequence
  uint64_t newest_sequence = 0;  // kOutOfRange: the newest event's sequence
  bool ok() const { return subscription != nullptr; }
};

class EventHub final : public RegistrationObserver {
 public:
  // `store` must outlive the hub. Reads store.event_log_state().
  explicit EventHub(BindingStore& store, EventHubOptions options = {});
  ~EventHub() override;  // ends every subscription with kClosed

  void on_event(const RegistrationEvent& event) override;
  SubscribeResult subscribe(EventFilter filter);

  size_t subscription_count() const;
  uint64_t last_sequence() const;  // the last binding event published

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_EVENT_HUB_H_
