// gateway/bootstrap.h — writes the realms and users of the configuration
// into the CredentialStore at start-up (until the admin API provisions them).
//
// Semantics (docs/configuration.md, "Bootstrap"): applied on every start as
// an upsert. Each configured realm replaces the stored realm of that name
// (settings included); each configured user replaces the stored credential of
// that realm and username. Realms and users that exist only in the store are
// left alone: removing a user from the file does not delete it.
//
// A user given by password gets every HA1 computed (MD5, SHA-256,
// SHA-512-256, and hash1b for "user@domain"); the password is wiped from the
// Config afterwards (Config::drop_passwords()). Only hashes reach the store;
// nothing secret reaches the log.
//
//   switchboard::BootstrapResult r = switchboard::bootstrap_credentials(config, store);
//   if (!r.ok()) die(r.error);
//
// Threading: call once at start-up, before traffic.
#ifndef SWITCHBOARD_GATEWAY_BOOTSTRAP_H_
#define SWITCHBOARD_GATEWAY_BOOTSTRAP_H_

#include <cstddef>
#include <string>
#include <vector>

#include "gateway/config.h"
#include "registrar/store/credential_store.h"

namespace switchboard {

// A configured user who cannot answer some algorithm the realm offers (hashes
// given for fewer algorithms than the realm's list): a client that picks that
// algorithm fails to authenticate.
struct MissingAlgorithms {
  std::string realm;
  std::string username;
  std::string algorithms;  // "SHA-512-256, SHA-256"
};

struct BootstrapResult {
  size_t realms = 0;     // realms written
  size_t users = 0;      // credentials written
  size_t unchanged = 0;  // users already stored with the same hashes (not rewritten)
  std::vector<MissingAlgorithms> missing;  // see above; for warnings
  std::string error;  // set on the first failure (the store's message; no secrets)
  bool ok() const { return error.empty(); }
};

// Upserts config.realms and their users, then calls config.drop_passwords()
// (also on failure).
[[nodiscard]] BootstrapResult bootstrap_credentials(Config& config,
                                                    registrar::CredentialStore& store);

}  // namespace switchboard

#endif  // SWITCHBOARD_GATEWAY_BOOTSTRAP_H_
