// tests/registrar/fake_binding_store.h — a BindingStore whose commits happen
// when the test says: replace_aor() only queues; commit_all() applies the
// queue (or fails it) and runs the callbacks on the calling thread. Events
// are numbered from 1 at commit, like a real store's (never trimmed).
//
//   FakeBindingStore store;
//   location.update(aor, mutation, done);     // queued, done not yet called
//   store.commit_all();                       // now done and observers run
#ifndef SWITCHBOARD_TESTS_REGISTRAR_FAKE_BINDING_STORE_H_
#define SWITCHBOARD_TESTS_REGISTRAR_FAKE_BINDING_STORE_H_

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "registrar/store/binding_store.h"

namespace registrar::testing {

class FakeBindingStore final : public BindingStore {
 public:
  struct Write {
    std::string aor;
    std::vector<Binding> bindings;
    std::vector<RegistrationEvent> events;
    std::function<void(const StoreResult&)> done;
  };

  void replace_aor(std::string aor, std::vector<Binding> bindings,
                   std::vector<RegistrationEvent> events,
                   std::function<void(const StoreResult&)> done) override {
    std::lock_guard lock(mu_);
    queue_.push_back(
        Write{std::move(aor), std::move(bindings), std::move(events), std::move(done)});
  }

  std::vector<RegistrationEvent> read_events(uint64_t after, size_t limit) override {
    std::lock_guard lock(mu_);
    std::vector<RegistrationEvent> out;
    for (const RegistrationEvent& e : log_) {
      if (e.sequence > after && out.size() < limit) out.push_back(e);
    }
    return out;
  }
  EventLogState event_log_state() override {
    std::lock_guard lock(mu_);
    return {.oldest_retained = log_.empty() ? next_sequence_ : log_.front().sequence,
            .next_sequence = next_sequence_};
  }

  std::vector<Binding> load_unexpired(WallTime now) override {
    std::lock_guard lock(mu_);
    std::vector<Binding> out;
    for (const auto& [aor, set] : stored_) {
      for (const Binding& b : set) {
        if (b.expires_at > now) out.push_back(b);
      }
    }
    return out;
  }

  size_t purge_expired(WallTime now) override { return 0; }
  void flush() override { commit_all(); }

  // Applies (result.ok) or drops every queued write, then calls back in order.
  // Returns how many writes there were.
  size_t commit_all(StoreResult result = {}) {
    std::vector<Write> writes;
    std::vector<StoreResult> results;
    {
      std::lock_guard lock(mu_);
      writes.swap(queue_);
      for (Write& w : writes) {
        results.push_back(result);
        if (!result.ok) continue;
        if (w.bindings.empty()) {
          stored_.erase(w.aor);
        } else {
          stored_[w.aor] = w.bindings;
        }
        if (!w.events.empty()) results.back().first_sequence = next_sequence_;
        for (RegistrationEvent e : w.events) {
          e.sequence = next_sequence_++;
          log_.push_back(std::move(e));
        }
      }
      commits_ += writes.empty() ? 0 : 1;
    }
    for (size_t i = 0; i < writes.size(); ++i) {
      if (writes[i].done) writes[i].done(results[i]);
    }
    return writes.size();
  }

  size_t pending() const {
    std::lock_guard lock(mu_);
    return queue_.size();
  }
  std::vector<Write> pending_writes() const {
    std::lock_guard lock(mu_);
    return queue_;
  }
  std::vector<Binding> stored(const std::string& aor) const {
    std::lock_guard lock(mu_);
    auto it = stored_.find(aor);
    return it == stored_.end() ? std::vector<Binding>{} : it->second;
  }
  // Puts rows in the store directly, as a previous run would have left them.
  void preload(const Binding& b) {
    std::lock_guard lock(mu_);
    stored_[b.aor].push_back(b);
  }

 private:
  mutable std::mutex mu_;
  std::vector<Write> queue_;
  std::map<std::string, std::vector<Binding>> stored_;
  std::vector<RegistrationEvent> log_;
  uint64_t next_sequence_ = 1;
  size_t commits_ = 0;
};

}  // namespace registrar::testing

#endif  // SWITCHBOARD_TESTS_REGISTRAR_FAKE_BINDING_STORE_H_
