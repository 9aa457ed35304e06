// tests/registrar/redis_test_stores.h — the registrar and API suites run a
// second time on the Redis stores (ctest prefixes "flows_redis.", "api_redis.";
// label "redis"): ctest sets SWITCHBOARD_TEST_STORE=redis, and the fixtures
// then build the registrar on RedisCredentialStore + RedisBindingStore, with a
// RedisEventTailer publishing the binding events as in a replica
// (docs/scale-out.md), instead of on their embedded stores.
//
//   if (registrar::testing::redis_store_selected()) {
//     RedisTestStores redis;
//     if (!redis.open(clock, {})) { redis.not_installed() ? skip : fail(redis.error()); }
//     location = make_unique<LocationService>(*redis.bindings, clock,
//                                             LocationOptions{.replica = kTestReplica});
//     location->add_observer(&hub);                   // the observers first
//     const uint64_t from = hub.last_sequence();      // before load()
//     location->load();
//     redis.follow(*location, from);                  // the tailer (+ its waiter, last)
//     … redis.wait_published();                       // after a write: its events are out
//     redis.stop();                                   // tailer, then flush: before the rest goes
//   }
//
// One redis-server per test process (ctest runs each test in a process of its
// own; a binary run by hand runs all its tests on one), started on the first
// use on a free loopback port, without persistence, and killed by its PID when
// the process exits (also if the process dies: PR_SET_PDEATHSIG). Each test
// gets its own key prefix ("t<pid>.1:", "t<pid>.2:", …), so tests never see
// each other's keys and nothing is ever flushed.
//
// Binding events on Redis are asynchronous: the LocationService publishes none
// from its commit path; the tailer reads them back from the log and publishes
// them (within milliseconds of the commit). wait_published() is how a fixture
// waits for that where the embedded stores had it synchronously.
//
// Link: registrar_redis_store registrar_redis_tailer.
#ifndef SWITCHBOARD_TESTS_REGISTRAR_REDIS_TEST_STORES_H_
#define SWITCHBOARD_TESTS_REGISTRAR_REDIS_TEST_STORES_H_

#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "registrar/location_service.h"
#include "registrar/observer.h"
#include "registrar/store/redis/redis_binding_store.h"
#include "registrar/store/redis/redis_credential_store.h"
#include "registrar/store/redis/redis_event_tailer.h"
#include "sip/clock.h"
#include "tests/registrar/redis_server.h"

namespace registrar::testing {

// The replica id the Redis variants give their LocationService.
inline constexpr const char* kTestReplica = "test-replica";

// SWITCHBOARD_TEST_STORE=redis (ctest's *_redis.* variants).
inline bool redis_store_selected() {
  const char* v = std::getenv("SWITCHBOARD_TEST_STORE");
  return v != nullptr && std::string_view(v) == "redis";
}

namespace detail {

inline std::atomic<bool>& redis_child_dies_with_us() {
  static std::atomic<bool> armed{false};
  return armed;
}
// fork() child handler: only while our redis-server is being started, so
// that it is killed if this process dies without running its destructors.
inline void die_with_parent_in_child() {
  if (redis_child_dies_with_us().load()) prctl(PR_SET_PDEATHSIG, SIGKILL);
}

}  // namespace detail

// The process's redis-server: started on first use (from the main thread:
// PR_SET_PDEATHSIG follows the thread that forked), killed at exit.
// nullptr when it cannot run; `not_installed` tells a skip from a failure.
inline RedisServer* shared_redis_server(std::string* error, bool* not_installed) {
  static std::mutex mu;
  static std::unique_ptr<RedisServer> server;  // destroyed at exit: kill <pid>
  static std::string start_error;
  std::lock_guard lock(mu);
  *not_installed = false;
  if (!RedisServer::available()) {
    *not_installed = true;
    *error = RedisServer::kNotInstalled;
    return nullptr;
  }
  if (server) return server.get();
  if (!start_error.empty()) {
    *error = start_error;
    return nullptr;
  }
  static const bool registered =
      pthread_atfork(nullptr, nullptr, &detail::die_with_parent_in_child) == 0;
  (void)registered;
  // A few attempts: a free port may be taken between the probe and
  // redis-server's bind (parallel tests), and then the PING may even reach
  // another process's server: check that the one answering is ours.
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto s = std::make_unique<RedisServer>();
    // Blocked XREADs time out on Redis' clock tick (hz 10: 100 ms steps); a
    // finer one lets a tailer's stop() return within its block time.
    s->extra_args = {"--hz", "100"};
    detail::redis_child_dies_with_us().store(true);
    const bool started = s->start();
    detail::redis_child_dies_with_us().store(false);
    if (!started) {
      start_error = "redis-server: " + s->error();
      continue;
    }
    RedisConnection c(s->url(), {});
    RedisResult info = c.command({"INFO", "server"});
    const std::string mine = "process_id:" + std::to_string(s->pid()) + "\r";
    if (!info.ok() || info.reply.str.find(mine) == std::string::npos) {
      start_error = "redis-server: port " + std::to_string(s->port()) + " answered by another";
      continue;
    }
    start_error.clear();
    server = std::move(s);
    return server.get();
  }
  *error = start_error;
  return nullptr;
}

// "t<pid>.1:", "t<pid>.2:", … : a prefix no other test uses.
inline std::string next_redis_test_prefix() {
  static std::atomic<unsigned> n{0};
  return "t" + std::to_string(getpid()) + "." + std::to_string(++n) + ":";
}

// The highest binding-event sequence the observers have been given.
class PublishedWaiter final : public RegistrationObserver {
 public:
  void on_event(const RegistrationEvent& e) override {
    if (e.sequence == 0) return;  // kAuthFailed: direct, not from the log
    {
      std::lock_guard lock(mu_);
      if (e.sequence > last_) last_ = e.sequence;
    }
    cv_.notify_all();
  }
  bool wait_for(uint64_t sequence, std::chrono::milliseconds limit) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return last_ >= sequence; });
  }
  uint64_t last() const {
    std::lock_guard lock(mu_);
    return last_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t last_ = 0;
};

// One test's Redis stores (its own prefix on the shared redis-server) and,
// once a LocationService exists over them, the tailer that follows the log.
class RedisTestStores {
 public:
  RedisTestStores() = default;
  ~RedisTestStores() {
    if (tailer_) tailer_->stop();
  }
  RedisTestStores(const RedisTestStores&) = delete;
  RedisTestStores& operator=(const RedisTestStores&) = delete;

  // Opens both stores under a fresh prefix. `o.clock` is set to `clock`; the
  // ManualClock's wall time lies in the past, so AOR keys are kept for ten
  // years after their expiry (Redis would otherwise drop them at once).
  bool open(const sip::Clock& clock, RedisBindingStoreOptions o) {
    RedisServer* server = shared_redis_server(&error_, &not_installed_);
    if (server == nullptr) return false;
    url_ = server->url();
    prefix_ = next_redis_test_prefix();
    RedisCredentialStoreOptions co;
    co.prefix = prefix_;
    auto creds = RedisCredentialStore::open(url_, co);
    if (!creds.ok()) {
      error_ = "RedisCredentialStore::open: " + creds.error;
      return false;
    }
    o.prefix = prefix_;
    o.clock = &clock;
    o.expiry_grace = std::chrono::hours(24 * 3650);
    auto binds = RedisBindingStore::open(url_, o);
    if (!binds.ok()) {
      error_ = "RedisBindingStore::open: " + binds.error;
      return false;
    }
    credentials = std::move(creds.store);
    bindings = std::move(binds.store);
    store_ = bindings.get();
    return true;
  }
  const std::string& error() const { return error_; }
  bool not_installed() const { return not_installed_; }
  const std::string& prefix() const { return prefix_; }

  // Starts the tailer from `after` (the hub's last sequence, or the log's,
  // taken before location.load()). Adds the waiter as `location`'s LAST
  // observer: call after every other add_observer().
  void follow(LocationService& location, uint64_t after) {
    location.add_observer(&waiter_);
    RedisEventTailerOptions t;
    t.prefix = prefix_;
    t.block = std::chrono::milliseconds(10);  // stop() waits for the XREAD in progress
    tailer_ = std::make_unique<RedisEventTailer>(url_, *store_, location, t);
    tailer_->start(after);
  }

  // Waits until every write issued so far is committed and its events have
  // reached every observer (the tailer publishes them after reading them
  // back). False after `limit`. `flush` false: the caller knows its writes
  // are committed (their `done` ran).
  bool wait_published(std::chrono::milliseconds limit = std::chrono::seconds(10),
                      bool flush = true) {
    if (store_ == nullptr || !tailer_) return true;
    if (flush) store_->flush();
    const uint64_t committed = store_->event_log_state().next_sequence - 1;
    return waiter_.wait_for(committed, limit);
  }
  uint64_t published() const { return waiter_.last(); }
  RedisEventTailer* tailer() { return tailer_.get(); }

  // The tailer first (it calls into the location and its observers), then
  // every queued write. Call before the location, hub, observers or stores go.
  void stop() {
    if (tailer_) tailer_->stop();
    if (store_ != nullptr) store_->flush();
    store_ = nullptr;
  }

  // Opened by open(); the fixture may take them (the store must then outlive
  // this object's use: stop() before destroying it).
  std::unique_ptr<RedisCredentialStore> credentials;
  std::unique_ptr<RedisBindingStore> bindings;
  RedisBindingStore* store() const { return store_; }

 private:
  RedisUrl url_;
  std::string prefix_;
  std::string error_;
  bool not_installed_ = false;
  RedisBindingStore* store_ = nullptr;
  PublishedWaiter waiter_;
  std::unique_ptr<RedisEventTailer> tailer_;
};

}  // namespace registrar::testing

#endif  // SWITCHBOARD_TESTS_REGISTRAR_REDIS_TEST_STORES_H_
