// registrar/store/memory_stores.h — BindingStore and CredentialStore kept in
// memory only: for tests and for a registrar that needs no durability.
//
//   registrar::MemoryBindingStore store({.max_events = 1000}, &clock);
//   store.replace_aor(aor, {b}, {registered_b}, [](const StoreResult& r) { … });  // done at once
//
// MemoryBindingStore keeps the event log as a deque with the same semantics as
// the SQLite store's (consecutive sequences from 1, trimmed oldest first by
// count and by age after each write); sequences restart with the object.
// `done` runs synchronously on the calling thread WHILE THE STORE'S LOCK IS
// HELD, so that callbacks (and the observers they call) see events in
// sequence order even when several threads write: `done` must not call back
// into the store (it would deadlock).
#ifndef SWITCHBOARD_REGISTRAR_STORE_MEMORY_STORES_H_
#define SWITCHBOARD_REGISTRAR_STORE_MEMORY_STORES_H_

#include <deque>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "registrar/store/binding_store.h"
#include "registrar/store/credential_store.h"
#include "sip/clock.h"

namespace registrar {

class MemoryBindingStore final : public BindingStore {
 public:
  // `clock` (wall time, for trimming by age) must outlive the store; nullptr:
  // the newest event's time (consistent with whatever clock made the events,
  // e.g. a test's ManualClock).
  explicit MemoryBindingStore(EventRetention retention = {}, const sip::Clock* clock = nullptr);

  // Applies the write and calls `done` before returning (see the file comment).
  // A write breaking the REQUIRES (another AOR's binding, a kAuthFailed event)
  // fails alone, changing nothing.
  void replace_aor(std::string aor, std::vector<Binding> bindings,
                   std::vector<RegistrationEvent> events,
                   std::function<void(const StoreResult&)> done) override;
  std::vector<RegistrationEvent> read_events(uint64_t after, size_t limit) override;
  EventLogState event_log_state() override;
  std::vector<Binding> load_unexpired(WallTime now) override;
  size_t purge_expired(WallTime now) override;
  void flush() override {}

  // Test hooks.
  size_t writes() const;
  std::vector<Binding> stored(const std::string& aor) const;

 private:
  void trim_events();  // REQUIRES: mu_ held

  const EventRetention retention_;
  const sip::Clock* const clock_;
  mutable std::mutex mu_;
  std::map<std::string, std::vector<Binding>> rows_;
  std::deque<RegistrationEvent> events_;  // consecutive sequences, oldest first
  uint64_t next_sequence_ = 1;
  size_t writes_ = 0;
};

class MemoryCredentialStore final : public CredentialStore {
 public:
  std::optional<Realm> find_realm(std::string_view name) const override;
  std::vector<Realm> list_realms() const override;
  StoreResult put_realm(const Realm& realm) override;
  bool remove_realm(std::string_view name) override;
  std::optional<Credential> find_credential(std::string_view realm,
                                            std::string_view username) const override;
  std::vector<Credential> list_credentials(std::string_view realm) const override;
  StoreResult put_credential(const Credential& credential) override;
  bool remove_credential(std::string_view realm, std::string_view username) override;

 private:
  static std::string key(std::string_view realm);
  mutable std::shared_mutex mu_;
  std::map<std::string, Realm> realms_;                                  // lower-case name
  std::map<std::pair<std::string, std::string>, Credential> credentials_;  // (lower realm, user)
};

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_STORE_MEMORY_STORES_H_
