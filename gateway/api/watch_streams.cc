// gateway/api/watch_streams.cc — see watch_streams.h.
#include "gateway/api/watch_streams.h"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <iterator>
#include <utility>

namespace switchboard::api {

WatchStream* WatchHandle::enter() {
  std::lock_guard lock(mu_);
  if (done_ || stream_ == nullptr) return nullptr;
  ++inside_;
  return stream_;
}

void WatchHandle::leave() {
  WatchStream* destroy = nullptr;
  {
    std::lock_guard lock(mu_);
    --inside_;
    if (done_ && inside_ == 0 && stream_ != nullptr) std::swap(destroy, stream_);
  }
  if (destroy != nullptr) destroy->destroy();
}

void WatchHandle::pump() {
  if (WatchStream* s = enter()) {
    s->pump();
    leave();
  }
}

void WatchHandle::close() {
  if (WatchStream* s = enter()) {
    s->close();
    leave();
  }
}

void WatchHandle::done() {
  WatchStream* destroy = nullptr;
  {
    std::lock_guard lock(mu_);
    done_ = true;
    if (inside_ == 0) std::swap(destroy, stream_);
  }
  if (destroy != nullptr) destroy->destroy();
}

void background_priority() {
  thread_local bool lowered = false;
  if (lowered) return;
  lowered = true;
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 19);  // this thread only (Linux)
}

WatchStreams::WatchStreams(std::chrono::microseconds pass_interval)
    : pass_interval_(pass_interval), thread_([this] { run(); }) {}

WatchStreams::~WatchStreams() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool WatchStreams::add(const std::shared_ptr<WatchHandle>& handle) {
  std::lock_guard lock(mu_);
  if (closing_) return false;
  live_.emplace(handle.get(), handle);
  ++started_;
  return true;
}

void WatchStreams::remove(const WatchHandle* handle) {
  std::lock_guard lock(mu_);
  live_.erase(handle);
  if (live_.empty()) idle_cv_.notify_all();
}

void WatchStreams::wake(const std::shared_ptr<WatchHandle>& handle) {
  {
    std::lock_guard lock(mu_);
    if (stop_ || handle->queued_) return;
    handle->queued_ = true;
    queue_.push_back(handle);
    if (!std::exchange(sleeping_, false)) return;  // awake: it takes the queue before sleeping
  }
  cv_.notify_one();
}

void WatchStreams::close_all() {
  std::vector<std::shared_ptr<WatchHandle>> live;
  {
    std::lock_guard lock(mu_);
    closing_ = true;
    for (const auto& [key, handle] : live_) live.push_back(handle);
  }
  for (const auto& h : live) h->close();
}

bool WatchStreams::wait_idle(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  return idle_cv_.wait_until(lock, deadline, [this] { return live_.empty(); });
}

WatchStreamStats WatchStreams::stats() const {
  std::lock_guard lock(mu_);
  return WatchStreamStats{started_, live_.size(), encoded_.stats()};
}

void WatchStreams::run() {
  pthread_setname_np(pthread_self(), "watch-pump");
  background_priority();
  std::vector<std::shared_ptr<WatchHandle>> batch;
  auto last_pass = std::chrono::steady_clock::now() - pass_interval_;
  std::unique_lock lock(mu_);
  for (;;) {
    while (!stop_ && queue_.empty()) {
      sleeping_ = true;
      cv_.wait(lock);
    }
    sleeping_ = false;
    if (stop_) return;
    // At most one pass per interval: what arrives meanwhile joins this one.
    if (cv_.wait_until(lock, last_pass + pass_interval_, [this] { return stop_; })) return;
    last_pass = std::chrono::steady_clock::now();
    batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
    queue_.clear();
    for (const auto& handle : batch) handle->queued_ = false;
    lock.unlock();
    for (const auto& handle : batch) handle->pump();
    batch.clear();  // may drop last references: outside the lock
    lock.lock();
  }
}

}  // namespace switchboard::api
