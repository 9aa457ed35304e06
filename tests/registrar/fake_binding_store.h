// tests/registrar/fake_binding_store.h — a BindingStore whose commits happen
// when the test says: replace_aor() only queues; commit_all() applies the
// queue (or fails it) and runs the callbacks on the calling thread.
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
    std::function<void(const StoreResult&)> done;
  };

  void replace_aor(std::string aor, std::vector<Binding> bindings,
                   std::function<void(const StoreResult&)> done) override {
    std::lock_guard lock(mu_);
    queue_.push_back(Write{std::move(aor), std::move(bindings), std::move(done)});
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
    {
      std::lock_guard lock(mu_);
      writes.swap(queue_);
      if (result.ok) {
        for (Write& w : writes) {
          if (w.bindings.empty()) {
            stored_.erase(w.aor);
          } else {
            stored_[w.aor] = w.bindings;
          }
        }
      }
      commits_ += writes.empty() ? 0 : 1;
    }
    for (Write& w : writes) {
      if (w.done) w.done(result);
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
  size_t commits_ = 0;
};

}  // namespace registrar::testing

#endif  // SWITCHBOARD_TESTS_REGISTRAR_FAKE_BINDING_STORE_H_
