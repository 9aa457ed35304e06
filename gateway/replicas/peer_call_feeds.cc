// gateway/replicas/peer_call_feeds.cc — see peer_call_feeds.h.
#include "gateway/replicas/peer_call_feeds.h"

#include <algorithm>
#include <set>

#include "gateway/api/call_convert.h"

namespace switchboard::replicas {

PeerCallFeeds::PeerCallFeeds(calls::CallEngine& engine, ReplicaDirectory& directory,
                             PeerChannels& channels, CallOwners& owners, Logger& logger,
                             PeerCallFeedsOptions options)
    : engine_(engine),
      directory_(directory),
      channels_(channels),
      owners_(owners),
      logger_(logger),
      options_(options) {}

PeerCallFeeds::~PeerCallFeeds() { stop(); }

void PeerCallFeeds::start() {
  std::lock_guard lock(mu_);
  if (running_ || thread_.joinable()) return;
  running_ = true;
  thread_ = std::jthread([this](const std::stop_token& stop) { run(stop); });
}

void PeerCallFeeds::stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
  std::vector<std::shared_ptr<PeerCallStream>> streams;
  std::vector<std::function<void()>> ready;
  {
    std::lock_guard lock(mu_);
    running_ = false;
    for (auto& [id, f] : feeds_) {
      if (f.current) streams.push_back(std::move(f.current));
      if (f.next) streams.push_back(std::move(f.next));
    }
    feeds_.clear();
    for (auto& [id, w] : watchers_)
      if (w.ready) ready.push_back(std::move(w.ready));
  }
  for (const auto& s : streams) s->cancel();
  streams.clear();
  for (auto& r : ready) r();  // their streams are ending with the server anyway
  std::unique_lock lock(mu_);
  streams_done_.wait(lock, [this] { return live_streams_ == 0; });
}

api::CallWatchDemand::WatcherId PeerCallFeeds::watcher_started(
    const calls::CallEventFilter& filter, std::function<void()> ready) {
  const auto now = Steady::now();
  WatcherId id;
  {
    std::lock_guard lock(mu_);
    id = next_watcher_++;
    Watcher w;
    // Its own realm (or "" for all): would it take an INCOMING offer at all?
    w.incoming = filter.wants_incoming(filter.realm);
    w.started = now;
    w.give_up = now + options_.ready_wait;
    if (running_) w.ready = std::move(ready);
    watchers_.emplace(id, std::move(w));
    dirty_ = true;
  }
  wake_.notify_all();
  if (ready) ready();  // not running: nothing to wait for
  return id;
}

void PeerCallFeeds::watcher_ended(WatcherId id) {
  {
    std::lock_guard lock(mu_);
    watchers_.erase(id);
    dirty_ = true;
  }
  wake_.notify_all();
}

PeerCallFeedsStats PeerCallFeeds::stats() const {
  std::lock_guard lock(mu_);
  PeerCallFeedsStats s = counters_;
  s.watchers = watchers_.size();
  s.open_streams = 0;
  for (const auto& [id, f] : feeds_) {
    if (f.current && f.current->is_open()) ++s.open_streams;
    if (f.next && f.next->is_open()) ++s.open_streams;
  }
  return s;
}

void PeerCallFeeds::run(const std::stop_token& stop) {
  while (!stop.stop_requested()) {
    reconcile();
    std::unique_lock lock(mu_);
    // The nearest moment something is due: a retry, a watcher giving up.
    auto until = Steady::now() + options_.refresh;
    for (const auto& [id, f] : feeds_) {
      if (!f.current && f.retry_at > Steady::now()) until = std::min(until, f.retry_at);
      if (f.next_retry_at > Steady::now()) until = std::min(until, f.next_retry_at);
    }
    for (const auto& [id, w] : watchers_)
      if (w.ready) until = std::min(until, w.give_up);
    wake_.wait_until(lock, stop, until, [this] { return dirty_; });
    dirty_ = false;
  }
}

std::shared_ptr<PeerCallStream> PeerCallFeeds::open_stream(const Peer& peer, bool incoming,
                                                           Starts& starts) {
  ++live_streams_;  // under mu_; on_closed counts it off
  PeerCallStream::Handlers handlers{
      [this](PeerCallStream& s) { on_opened(s); },
      [this](PeerCallStream& s, const ::switchboard::v1::CallEvent& e) { on_event(s, e); },
      [this](PeerCallStream& s, const grpc::Status& status) { on_closed(s, status); }};
  auto s = PeerCallStream::make(channels_, peer, incoming, std::move(handlers));
  starts.push_back(s);  // started once mu_ is released: handlers take it
  return s;
}

bool PeerCallFeeds::satisfied(const Watcher& w, const Feed& f) const {
  // A peer that failed since the watcher started does not hold it up.
  if (!f.current) return f.failed_at >= w.started;
  if (!f.current->is_open()) return false;
  if (!w.incoming || f.current->incoming()) return true;
  return false;  // `next` (with INCOMING) is on its way
}

void PeerCallFeeds::reconcile() {
  bool active, incoming = false;
  {
    std::lock_guard lock(mu_);
    active = !watchers_.empty();
    for (const auto& [id, w] : watchers_) incoming = incoming || w.incoming;
  }
  // Outside the lock: this may read Redis.
  std::vector<Peer> peers = active ? directory_.peers() : std::vector<Peer>{};

  std::vector<std::shared_ptr<PeerCallStream>> cancel;
  Starts starts;
  std::vector<std::function<void()>> ready;
  {
    std::lock_guard lock(mu_);
    const auto now = Steady::now();
    std::set<std::string> wanted;
    for (const Peer& p : peers) {
      wanted.insert(p.id);
      Feed& f = feeds_[p.id];
      if (f.address != p.address) {
        // It moved (a restart elsewhere): start over there.
        if (f.current) cancel.push_back(std::move(f.current));
        if (f.next) cancel.push_back(std::move(f.next));
        f.current.reset();
        f.next.reset();
        f.address = p.address;
      }
      if (!f.current) {
        if (now < f.retry_at) continue;
        // A fresh stream after none: the peer may have restarted, and its
        // sequences with it.
        f.seen.clear();
        f.seen_order.clear();
        f.current = open_stream(p, incoming, starts);
      } else if (f.current->incoming() != incoming) {
        if (!f.current->is_open()) {
          cancel.push_back(std::move(f.current));
          f.current = open_stream(p, incoming, starts);
        } else if ((!f.next || f.next->incoming() != incoming) && now >= f.next_retry_at) {
          if (f.next) cancel.push_back(std::move(f.next));
          f.next = open_stream(p, incoming, starts);  // on_opened swaps it in
        }
      } else if (f.next) {
        cancel.push_back(std::move(f.next));  // wanted the other kind, briefly
        f.next.reset();
      }
    }
    for (auto it = feeds_.begin(); it != feeds_.end();) {
      if (wanted.count(it->first) != 0) {
        ++it;
        continue;
      }
      if (it->second.current) cancel.push_back(std::move(it->second.current));
      if (it->second.next) cancel.push_back(std::move(it->second.next));
      it = feeds_.erase(it);
    }
    for (auto& [id, w] : watchers_) {
      if (!w.ready) continue;
      bool all = true;
      for (const Peer& p : peers) all = all && satisfied(w, feeds_[p.id]);
      if (all || now >= w.give_up) {
        if (!all)
          logger_.warn("call watch started before every replica streamed",
                       {{"hint", "events of calls on a slow or failing replica may be missed"}});
        ready.push_back(std::move(w.ready));
        w.ready = nullptr;
      }
    }
  }
  for (const auto& s : starts) s->start();
  for (const auto& s : cancel) s->cancel();
  for (auto& r : ready) r();
}

void PeerCallFeeds::on_opened(PeerCallStream& s) {
  std::shared_ptr<PeerCallStream> replaced;
  {
    std::lock_guard lock(mu_);
    auto it = feeds_.find(s.peer().id);
    if (it == feeds_.end()) return;
    Feed& f = it->second;
    if (f.next.get() == &s) {
      replaced = std::move(f.current);
      f.current = std::move(f.next);
      f.next.reset();
    }
    if (f.current.get() == &s) {
      f.backoff = std::chrono::milliseconds(0);
      f.next_backoff = std::chrono::milliseconds(0);
    }
    dirty_ = true;  // watchers may be ready now
  }
  if (logger_.enabled(LogLevel::kDebug))
    logger_.debug("peer call stream open",
                  {{"replica", s.peer().id}, {"incoming", s.incoming()}});
  if (replaced) replaced->cancel();
  wake_.notify_all();
}

void PeerCallFeeds::on_event(PeerCallStream& s, const ::switchboard::v1::CallEvent& event) {
  {
    std::lock_guard lock(mu_);
    auto it = feeds_.find(s.peer().id);
    if (it == feeds_.end()) return;  // no longer wanted
    Feed& f = it->second;
    // While one stream replaces another both deliver: relay each event once.
    if (!f.seen.insert(event.sequence()).second) return;
    f.seen_order.push_back(event.sequence());
    if (f.seen_order.size() > options_.dedupe_window) {
      f.seen.erase(f.seen_order.front());
      f.seen_order.pop_front();
    }
    ++counters_.events_relayed;
  }
  std::optional<calls::CallEvent> e = api::from_proto(event);
  if (!e) return;
  // The owner first: a client acting on the event reaches the right replica.
  owners_.learn(e->call.id, s.peer().id, e->call.state == calls::CallState::kEnded);
  engine_.publish_peer_event(std::move(*e));
}

void PeerCallFeeds::on_closed(PeerCallStream& s, const grpc::Status& status) {
  // Logged before the stream counts as done: stop() may return (and the
  // object go) as soon as live_streams_ reaches 0.
  bool failed = false;
  {
    std::lock_guard lock(mu_);
    auto it = feeds_.find(s.peer().id);
    if (it != feeds_.end()) {
      Feed& f = it->second;
      if (f.next.get() == &s) {
        // Refused or broken before it replaced `current` (we drop our pointer
        // before cancelling): wait before asking again.
        f.next.reset();
        f.next_backoff = std::clamp(f.next_backoff * 2, options_.backoff_min, options_.backoff_max);
        f.next_retry_at = Steady::now() + f.next_backoff;
      }
      if (f.current.get() == &s) {
        // Not cancelled by us (we drop our pointer first): reopen later.
        failed = true;
        ++counters_.stream_failures;
        f.current.reset();
        f.backoff = std::clamp(f.backoff * 2, options_.backoff_min, options_.backoff_max);
        f.retry_at = Steady::now() + f.backoff;
        f.failed_at = Steady::now();
      }
    }
    dirty_ = true;
  }
  if (failed)
    logger_.warn("peer call stream ended", {{"replica", s.peer().id},
                                            {"address", s.peer().address},
                                            {"code", int(status.error_code())},
                                            {"error", status.error_message()}});
  std::lock_guard lock(mu_);
  --live_streams_;
  streams_done_.notify_all();
  wake_.notify_all();
}

}  // namespace switchboard::replicas
