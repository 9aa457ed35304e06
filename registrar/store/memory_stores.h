// registrar/store/memory_stores.h — BindingStore and CredentialStore kept in
// memory only: for tests and for a registrar that needs no durability.
// `done` callbacks run synchronously on the calling thread.
#ifndef SWITCHBOARD_REGISTRAR_STORE_MEMORY_STORES_H_
#define SWITCHBOARD_REGISTRAR_STORE_MEMORY_STORES_H_

#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "registrar/store/binding_store.h"
#include "registrar/store/credential_store.h"

namespace registrar {

class MemoryBindingStore final : public BindingStore {
 public:
  void replace_aor(std::string aor, std::vector<Binding> bindings,
                   std::function<void(const StoreResult&)> done) override;
  std::vector<Binding> load_unexpired(WallTime now) override;
  size_t purge_expired(WallTime now) override;
  void flush() override {}

  // Test hooks.
  size_t writes() const;
  std::vector<Binding> stored(const std::string& aor) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::vector<Binding>> rows_;
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
