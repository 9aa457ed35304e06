// tests/flows/flow_stores.h — the stores and location service under the
// registrar flows: in memory (MemoryCredentialStore, MemoryBindingStore), or,
// with SWITCHBOARD_TEST_STORE=redis (the ctest variants "flows_redis.*"), the
// Redis stores as one replica runs them (tests/registrar/redis_test_stores.h):
// a key prefix of the test's own on the process's redis-server, the
// LocationService with a replica id, and a RedisEventTailer publishing the
// binding events to the observers after reading them back from Redis.
//
//   FlowStores stores(clock, {});
//   stores.location().add_observer(&observer);   // every observer first
//   stores.start();                               // Redis: the tailer
//   … stores.skip_reason() / stores.error() in SetUp …
//   stores.wait_published();                      // Redis: events are out
//   stores.stop();                                // before the observers go
//
// When Redis is wanted but redis-server is not installed, the memory stores
// stand in (so that the fixture can be built) and skip_reason() says why the
// test must be skipped.
#ifndef SWITCHBOARD_TESTS_FLOWS_FLOW_STORES_H_
#define SWITCHBOARD_TESTS_FLOWS_FLOW_STORES_H_

#include <memory>
#include <string>
#include <vector>

#include "registrar/location_service.h"
#include "registrar/store/memory_stores.h"
#include "sip/clock.h"
#include "tests/registrar/redis_test_stores.h"

namespace flows {

class FlowStores {
 public:
  FlowStores(const sip::Clock& clock, registrar::LocationOptions options) {
    if (registrar::testing::redis_store_selected()) {
      redis_ = std::make_unique<registrar::testing::RedisTestStores>();
      if (redis_->open(clock, {})) {
        if (options.replica.empty()) options.replica = registrar::testing::kTestReplica;
        location_ =
            std::make_unique<registrar::LocationService>(*redis_->bindings, clock, options);
        from_ = redis_->bindings->event_log_state().next_sequence - 1;  // before load()
        location_->load();
        return;
      }
      (redis_->not_installed() ? skip_ : error_) = redis_->error();
      redis_.reset();
    }
    memory_credentials_ = std::make_unique<registrar::MemoryCredentialStore>();
    memory_bindings_ = std::make_unique<registrar::MemoryBindingStore>();
    location_ = std::make_unique<registrar::LocationService>(*memory_bindings_, clock, options);
  }
  ~FlowStores() { stop(); }
  FlowStores(const FlowStores&) = delete;
  FlowStores& operator=(const FlowStores&) = delete;

  // Redis: starts following the event log. After every add_observer().
  void start() {
    if (redis_) redis_->follow(*location_, from_);
  }
  // Redis: stops the tailer and flushes the store. Before the observers go.
  void stop() {
    if (redis_) redis_->stop();
  }

  bool on_redis() const { return redis_ != nullptr; }
  // Non-empty: Redis was wanted but is not installed (skip the test).
  const std::string& skip_reason() const { return skip_; }
  // Non-empty: Redis was wanted and failed (fail the test).
  const std::string& error() const { return error_; }

  registrar::CredentialStore& credentials() {
    if (redis_) return *redis_->credentials;
    return *memory_credentials_;
  }
  registrar::BindingStore& bindings() {
    if (redis_) return *redis_->bindings;
    return *memory_bindings_;
  }
  registrar::LocationService& location() { return *location_; }

  // The bindings the store holds for `aor` (written before the caller's 200):
  // MemoryBindingStore::stored(); on Redis the AOR's stored set (read_aor).
  std::vector<registrar::Binding> stored(const std::string& aor) {
    if (!redis_) return memory_bindings_->stored(aor);
    std::optional<registrar::StoredAor> set = redis_->bindings->read_aor(aor);
    return set ? set->bindings : std::vector<registrar::Binding>{};
  }
  // Writes issued to the store so far: MemoryBindingStore::writes(); on
  // Redis the writes its queue accepted.
  size_t writes() const {
    if (!redis_) return memory_bindings_->writes();
    return redis_->bindings->stats().writes;
  }
  // The replica id a Registrar over these stores records in its bindings
  // (RegistrarDeps::replica_id): "" in memory (one process), as a replica on Redis.
  std::string replica_id() const { return redis_ ? registrar::testing::kTestReplica : ""; }

  // Waits until every write so far is committed and its events reached the
  // observers: at once in memory (published from the commit), after the
  // tailer read them back on Redis. False after 10 s.
  bool wait_published() { return !redis_ || redis_->wait_published(); }

 private:
  std::unique_ptr<registrar::testing::RedisTestStores> redis_;
  std::unique_ptr<registrar::MemoryCredentialStore> memory_credentials_;
  std::unique_ptr<registrar::MemoryBindingStore> memory_bindings_;
  std::unique_ptr<registrar::LocationService> location_;
  uint64_t from_ = 0;
  std::string skip_, error_;
};

}  // namespace flows

#endif  // SWITCHBOARD_TESTS_FLOWS_FLOW_STORES_H_
