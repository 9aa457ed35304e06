// registrar/store/credential_store.h — realms and their credentials.
//
// Read on every REGISTER (find_realm, find_credential), written rarely (config
// bootstrap, the admin API), so implementations keep everything in memory
// behind a reader-writer lock and write through to durable storage.
// Only HA1 hashes are stored (registrar/credentials.h); never a password.
//
// Threading: every method may be called from any thread.
#ifndef SWITCHBOARD_REGISTRAR_STORE_CREDENTIAL_STORE_H_
#define SWITCHBOARD_REGISTRAR_STORE_CREDENTIAL_STORE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registrar/credentials.h"
#include "registrar/realm.h"
#include "registrar/store/binding_store.h"

namespace registrar {

class CredentialStore {
 public:
  virtual ~CredentialStore() = default;

  // Realm names compare case-insensitively (they are domains).
  // False while the store cannot be read (a networked store that lost its
  // server): a lookup that found nothing may then be a lookup that failed,
  // and the registrar answers 503 instead of 404/401. Embedded stores: true.
  virtual bool available() const { return true; }

  virtual std::optional<Realm> find_realm(std::string_view name) const = 0;
  virtual std::vector<Realm> list_realms() const = 0;
  // Creates or replaces; durable on return.
  virtual StoreResult put_realm(const Realm& realm) = 0;
  // Deletes the realm and all its credentials; false when it did not exist.
  virtual bool remove_realm(std::string_view name) = 0;

  virtual std::optional<Credential> find_credential(std::string_view realm,
                                                    std::string_view username) const = 0;
  virtual std::vector<Credential> list_credentials(std::string_view realm) const = 0;
  // Creates or replaces; the realm must exist (else !ok). Durable on return.
  virtual StoreResult put_credential(const Credential& credential) = 0;
  virtual bool remove_credential(std::string_view realm, std::string_view username) = 0;
};

}  // namespace registrar

#endif  // SWITCHBOARD_REGISTRAR_STORE_CREDENTIAL_STORE_H_
